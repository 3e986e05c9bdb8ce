/**
 * The HTTP endpoint (`serve --http`): /metrics scraped and every line checked against the Prometheus text
 * exposition format (0.0.4) by a strict parser here; the counters move with real kdig queries over UDP and TCP,
 * truncation included; the certificate gauge equals openssl's notAfter. /healthz is 200, turns 503 with the
 * reason when a zone fails to sign (its keys gone) or a zone file breaks, and 200 again when fixed. Transfers by
 * kdig (AXFR, IXFR answered with the difference and with the SOA alone, a refused AXFR) are counted by result,
 * and the IXFR journal's gauges show what it holds.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kdig, query, requireTool } from './helpers/dig.js';
import { freePorts } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format strictly; throws on the first line that does not conform. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seenFamilies: string[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(
    `^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (-?(?:[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|\\+Inf|-Inf|NaN))$`,
  );
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      expect(line, where).toMatch(new RegExp(`^# HELP ${NAME} \\S`));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      expect(m, where).not.toBeNull();
      expect(types.has(m![1]!), `${where}: second TYPE line`).toBe(false);
      types.set(m![1]!, m![2]!);
      seenFamilies.push(m![1]!);
      continue;
    }
    const m = sampleRe.exec(line);
    expect(m, where).not.toBeNull();
    const name = m![1]!;
    // A sample belongs to the family whose TYPE line came last (families are not interleaved).
    expect(seenFamilies.at(-1), where).toBe(name);
    const labels: Record<string, string> = {};
    for (const lm of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name, labels, value: Number(m![3]) });
  }
  return { samples, types };
}

const ZONE_A = (extra = ''): string => `origin: alpha.example.
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
  big: { TXT: [${Array.from({ length: 30 }, (_, i) => `"record number ${i} with some padding text to make it long"`).join(', ')}] }
${extra}tlsa:
  - host: mail
    cert: cert.pem
`;
const ZONE_B = (a: string): string => `origin: beta.example.
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 60 }
transfer: { allow: [{ address: 127.0.0.1 }] }
records:
  "@": { NS: ns1 }
  ns1: { A: ${a} }
`;

describe('HTTP endpoint: /metrics and /healthz', () => {
  let dir: string;
  let zones: string;
  let keys: string;
  let server: DaneNsInstance;
  let dnsPort: number;
  let httpPort: number;
  let notAfter: number;

  const get = async (path: string): Promise<{ status: number; body: string; type: string | null }> => {
    const r = await fetch(`http://127.0.0.1:${httpPort}${path}`);
    return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
  };
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
    const { samples } = parseExposition((await get('/metrics')).body);
    return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  };
  const until = async (cond: () => Promise<boolean>, what: string): Promise<void> => {
    const t0 = Date.now();
    while (!(await cond())) {
      if (Date.now() - t0 > 5000) throw new Error(`${what} never happened\n${server.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-http-'));
    zones = join(dir, 'zones');
    keys = join(dir, 'keys');
    mkdirSync(zones);
    execFileSync(
      requireTool('openssl'),
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(zones, 'cert.pem'),
        '-days',
        '40',
        '-subj',
        '/CN=mail.alpha.example',
      ],
      { stdio: 'ignore' },
    );
    const end = execFileSync(requireTool('openssl'), ['x509', '-in', join(zones, 'cert.pem'), '-noout', '-enddate'])
      .toString()
      .trim()
      .replace(/^notAfter=/, '');
    notAfter = Math.floor(Date.parse(end) / 1000);
    writeFileSync(join(zones, 'alpha.example.yaml'), ZONE_A());
    writeFileSync(join(zones, 'beta.example.yaml'), ZONE_B('192.0.2.1'));
    [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
    server = await startDaneNs({
      zonesDir: zones,
      port: dnsPort,
      keysDir: keys,
      extraArgs: ['--http', `127.0.0.1:${httpPort}`],
    });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/metrics is Prometheus text format, line by line, with every family typed', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { types, samples } = parseExposition(r.body);
    for (const name of [
      'dane_ns_queries_total',
      'dane_ns_responses_truncated_total',
      'dane_ns_zone_serial',
      'dane_ns_rrsig_expiry_seconds',
      'dane_ns_certificate_not_after_seconds',
      'dane_ns_reload_failures_total',
      'dane_ns_certificate_read_failures_total',
      'dane_ns_signing_seconds',
    ])
      expect(types.has(name), name).toBe(true);
    expect(
      samples
        .filter((s) => s.name === 'dane_ns_zone_serial')
        .map((s) => s.labels.zone)
        .sort(),
    ).toEqual(['alpha.example.', 'beta.example.']);
  });

  it('query counters follow real queries by transport, qtype and rcode; truncation is counted', async () => {
    const before = (await metric('dane_ns_queries_total', { transport: 'udp', qtype: 'MX', rcode: 'NOERROR' })) ?? 0;
    for (let i = 0; i < 3; i++) await query({ host: '127.0.0.1', port: dnsPort }, 'alpha.example.', 'MX');
    await query({ host: '127.0.0.1', port: dnsPort }, 'nothere.alpha.example.', 'A');
    await query({ host: '127.0.0.1', port: dnsPort }, 'alpha.example.', 'SOA', { tcp: true });
    const tc0 = (await metric('dane_ns_responses_truncated_total', { transport: 'udp' }))!;
    const big = await query({ host: '127.0.0.1', port: dnsPort }, 'big.alpha.example.', 'TXT', { bufsize: 512 });
    expect(big.flags).toContain('tc');
    expect(await metric('dane_ns_queries_total', { transport: 'udp', qtype: 'MX', rcode: 'NOERROR' })).toBe(before + 3);
    expect(
      await metric('dane_ns_queries_total', { transport: 'udp', qtype: 'A', rcode: 'NXDOMAIN' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric('dane_ns_queries_total', { transport: 'tcp', qtype: 'SOA', rcode: 'NOERROR' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await metric('dane_ns_responses_truncated_total', { transport: 'udp' })).toBe(tc0 + 1);
  });

  it('response cache counters: a miss and an admission for a new answer, hits after; entries held now', async () => {
    const names = ['hits', 'misses', 'admissions', 'refused', 'evictions'] as const;
    const counters = async (): Promise<Record<string, number>> => {
      const { samples, types } = parseExposition((await get('/metrics')).body);
      const out: Record<string, number> = {};
      for (const n of names) {
        expect(types.get(`dane_ns_response_cache_${n}_total`), n).toBe('counter');
        out[n] = samples.find((x) => x.name === `dane_ns_response_cache_${n}_total`)!.value;
      }
      expect(types.get('dane_ns_response_cache_entries')).toBe('gauge');
      out.entries = samples.find((x) => x.name === 'dane_ns_response_cache_entries')!.value;
      return out;
    };
    const before = await counters();
    for (let i = 0; i < 3; i++) await query({ host: '127.0.0.1', port: dnsPort }, 'ns1.alpha.example.', 'A');
    const after = await counters();
    expect(after.misses! - before.misses!).toBe(1);
    expect(after.admissions! - before.admissions!).toBe(1);
    expect(after.hits! - before.hits!).toBe(2);
    expect(after.entries! - before.entries!).toBe(1);
    expect(after.evictions).toBe(before.evictions);
    expect(after.refused).toBe(before.refused);
  });

  it('serial, signature expiry and certificate not-after gauges hold the served values', async () => {
    const soa = await query({ host: '127.0.0.1', port: dnsPort }, 'alpha.example.', 'SOA');
    expect(await metric('dane_ns_zone_serial', { zone: 'alpha.example.' })).toBe(Number(soa.answer[0]!.split(' ')[6]));
    const exp = (await metric('dane_ns_rrsig_expiry_seconds', { zone: 'alpha.example.' }))!;
    expect(exp).toBeGreaterThan(7 * 86400);
    expect(exp).toBeLessThanOrEqual(14 * 86400);
    expect(
      await metric('dane_ns_certificate_not_after_seconds', { host: 'mail.alpha.example.', role: 'current' }),
    ).toBe(notAfter);
    expect(await metric('dane_ns_certificate_problem', { host: 'mail.alpha.example.', status: 'ok' })).toBe(0);
  });

  it('/healthz: 200; 503 naming the zone when it fails to sign (keys gone); 200 once the keys are back', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    const saved = join(dir, 'saved-keys');
    mkdirSync(saved);
    for (const f of readdirSync(keys).filter((f) => f.startsWith('Kbeta.example.'))) {
      cpSync(join(keys, f), join(saved, f));
      unlinkSync(join(keys, f));
    }
    writeFileSync(join(zones, 'beta.example.yaml'), ZONE_B('192.0.2.2')); // a change makes it sign again
    await until(async () => (await get('/healthz')).status === 503, '503');
    expect((await get('/healthz')).body).toMatch(/^zone beta\.example\. is not signed: keys-missing/m);
    cpSync(saved, keys, { recursive: true });
    writeFileSync(join(zones, 'beta.example.yaml'), ZONE_B('192.0.2.3'));
    await until(async () => (await get('/healthz')).status === 200, '200 again');
  });

  it('/healthz: 503 while a zone file does not load, with its file:line; the reload failure is counted', async () => {
    const failures = (await metric('dane_ns_reload_failures_total'))!;
    writeFileSync(join(zones, 'alpha.example.yaml'), ZONE_A('  oops: { A: nonsense }\n'));
    await until(async () => (await get('/healthz')).status === 503, '503');
    expect((await get('/healthz')).body).toMatch(
      /zone file alpha\.example\.yaml does not load \(serving its last good version\): .*alpha\.example\.yaml:9: oops A/,
    );
    expect(await metric('dane_ns_reload_failures_total')).toBeGreaterThan(failures);
    writeFileSync(join(zones, 'alpha.example.yaml'), ZONE_A());
    await until(async () => (await get('/healthz')).status === 200, '200 again');
  });

  it('transfers by kdig are counted by zone, kind and result; the journal gauges show its differences', async () => {
    const at = { host: '127.0.0.1', port: dnsPort };
    const serialOf = async (): Promise<number> =>
      Number((await query(at, 'beta.example.', 'SOA')).answer[0]!.split(' ')[6]);
    const count = async (zone: string, kind: string, result: string): Promise<number> =>
      (await metric('dane_ns_transfers_total', { zone, kind, result })) ?? 0;
    const old = await serialOf();
    writeFileSync(join(zones, 'beta.example.yaml'), ZONE_B('192.0.2.4'));
    await until(async () => (await serialOf()) !== old, 'a new serial');
    const serial = await serialOf();
    const before = {
      full: await count('beta.example.', 'axfr', 'full'),
      ok: await count('beta.example.', 'ixfr', 'ok'),
      current: await count('beta.example.', 'ixfr', 'current'),
      refused: await count('alpha.example.', 'axfr', 'refused'),
    };
    const base = ['@127.0.0.1', '-p', String(dnsPort), '+time=5', '+retry=0'];
    expect(await kdig([...base, 'beta.example.', 'AXFR'])).toContain('192.0.2.4');
    const ixfr = await kdig([...base, 'beta.example.', `IXFR=${old}`]);
    expect(ixfr).toContain('192.0.2.4');
    expect(ixfr).toContain(String(old)); // the difference carries the client's SOA: not AXFR-style
    await kdig([...base, 'beta.example.', `IXFR=${serial}`]);
    // alpha.example. has no transfer.allow: REFUSED (kdig reports the failed transfer either way).
    const refused = await kdig([...base, 'alpha.example.', 'AXFR']).catch((e: Error) => e.message);
    expect(refused).toContain('REFUSED');
    expect(await count('beta.example.', 'axfr', 'full')).toBe(before.full + 1);
    expect(await count('beta.example.', 'ixfr', 'ok')).toBe(before.ok + 1);
    expect(await count('beta.example.', 'ixfr', 'current')).toBe(before.current + 1);
    expect(await count('alpha.example.', 'axfr', 'refused')).toBe(before.refused + 1);
    expect(await metric('dane_ns_journal_versions', { zone: 'beta.example.' })).toBeGreaterThanOrEqual(1);
    expect(await metric('dane_ns_journal_bytes', { zone: 'beta.example.' })).toBeGreaterThan(0);
    // alpha.example. keeps no journal (nobody may transfer it): no gauge.
    expect(await metric('dane_ns_journal_versions', { zone: 'alpha.example.' })).toBeUndefined();
  });

  it('other paths are 404, other methods 405', async () => {
    expect((await get('/')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${httpPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
