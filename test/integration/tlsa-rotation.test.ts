/**
 * Rotation safety against the real server and the real `dane-ns check` (dist/cli.js): a renewal to a key that
 * was never pre-published (certbot without --reuse-key) is a `tlsa-cold-rollover` warn in the log, with the time
 * until which senders that cached the old TLSA set may fail (the change + 2 x the zone's TTL), and a warn line of
 * `check` while it lasts; a whole `next:` cycle shows in `check`'s labels (next ready at, safe to deploy, next key
 * in use, retiring until); an unreadable current certificate turns /healthz 503. Certificates by openssl
 * (helpers/certs.ts); the expected keys by node:crypto over the SPKI DER.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { makeCert, type CertPair } from './helpers/certs.js';
import { freePort } from './helpers/ports.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = 'rot.example.';
const iso = (sec: number): string => new Date(sec * 1000).toISOString();
const rdata = (c: CertPair): string => `3 1 1 ${c.tlsa311.toUpperCase()}`;

let dir: string;
let zones: string;
let state: string;
let server: DaneNsInstance;
let dnsPort: number;
let httpPort: number;
const pair: Record<string, CertPair> = {};

/** Replaces a file as tools do (write aside, rename into place), so the server never reads half a file. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** The TLSA 3 1 1 data served for a host (upper-case presentation RDATA, sorted). */
async function served(host: string): Promise<string[]> {
  const a = await query({ host: '127.0.0.1', port: dnsPort }, `_25._tcp.${host}.${ZONE}`, 'TLSA');
  return a.answer
    .filter((r) => / TLSA 3 1 1 /.test(r))
    .map((r) => `3 1 1 ${r.split(' TLSA 3 1 1 ')[1]!.replace(/ /g, '').toUpperCase()}`)
    .sort();
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > 5000) throw new Error(`${what} never happened\n${server.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The server's JSON log lines with this event. */
function logged(event: string): Record<string, unknown>[] {
  return server
    .logs()
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `dane-ns check ZONE` as an operator runs it, with the server's state directory in DANE_NS_STATE. */
async function check(): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'check', ZONE, '--zones', zones, '--server', `127.0.0.1:${dnsPort}`],
      { env: { PATH: process.env.PATH ?? '', DANE_NS_STATE: state }, timeout: 20_000 },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, lines: stdout.split('\n') }),
    );
  });
}

beforeAll(async () => {
  requireTool('kdig');
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-tlsa-rotation-'));
  zones = join(dir, 'zones');
  state = join(dir, 'state');
  const certs = join(dir, 'certs');
  for (const d of [zones, state, certs]) mkdirSync(d, { recursive: true });
  for (const n of ['a', 'b', 'p', 'q', 'r'])
    pair[n] = await makeCert(join(dir, 'pairs'), {
      name: n,
      cn: `${n === 'a' || n === 'b' ? 'mail' : 'mx2'}.rot.example`,
    });
  writeFileSync(join(certs, 'mail.pem'), pair.a!.certPem);
  writeFileSync(join(certs, 'mx2.pem'), pair.p!.certPem);
  writeFileSync(join(certs, 'mx2-next.pem'), pair.q!.certPem);
  // mail: the zone's TTL (300 s), so a cold rollover lasts 600 s; mx2: a 6 s TTL, so its next key is ready 12 s after it appears.
  writeFileSync(
    join(zones, 'rot.example.yaml'),
    `origin: ${ZONE}
ttl: 300
soa: { mname: ns1, rname: hostmaster@rot.example, serial: auto, minimum: 300 }
records:
  "@": { NS: ns1, MX: ["10 mail", "20 mx2"] }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
  mx2: { A: 192.0.2.26 }
tlsa:
  - host: mail
    cert: ${join(certs, 'mail.pem')}
  - host: mx2
    cert: ${join(certs, 'mx2.pem')}
    next: ${join(certs, 'mx2-next.pem')}
    ttl: 6
`,
  );
  dnsPort = await freePort();
  httpPort = await freePort();
  server = await startDaneNs({
    zonesDir: zones,
    port: dnsPort,
    stateDir: state,
    extraArgs: ['--http', `127.0.0.1:${httpPort}`],
  });
  await waitFor('first TLSA', async () => ((await served('mail')).length === 1 ? true : undefined));
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('TLSA rotation safety', () => {
  it('first publication: labelled current, no cold rollover', async () => {
    const r = await check();
    expect(r.code, r.lines.join('\n')).toBe(0);
    expect(r.lines).toContain(`ok    _25._tcp.mail.${ZONE} TLSA ${rdata(pair.a!)}: current`);
    expect(r.lines.filter((l) => l.includes('cold rollover'))).toEqual([]);
    expect(logged('tlsa-cold-rollover')).toEqual([]);
  });

  it('a renewal with a new key: tlsa-cold-rollover warn until the change + 2 x TTL, and check warns', async () => {
    const before = Math.floor(Date.now() / 1000);
    replace(join(dir, 'certs', 'mail.pem'), pair.b!.certPem);
    const ev = await waitFor('tlsa-cold-rollover', () => logged('tlsa-cold-rollover')[0]);
    const after = Math.ceil(Date.now() / 1000);
    expect(ev).toMatchObject({ level: 'warn', zone: ZONE, host: `mail.${ZONE}`, key: pair.b!.tlsa311.slice(0, 16) });
    // The change happened between before and after; the window ends 2 x 300 s after it.
    const until = Date.parse(String(ev.until)) / 1000;
    expect(until).toBeGreaterThanOrEqual(before + 600);
    expect(until).toBeLessThanOrEqual(after + 600);
    // ... exactly when the state says the new record was first published, + 600.
    const doc = JSON.parse(readFileSync(join(state, 'tlsa.json'), 'utf8')) as {
      hosts: Record<string, { records: { rdata: string; since: number }[] }>;
    };
    const since = doc.hosts[`${ZONE}|mail.${ZONE}`]!.records.find((x) => x.rdata === rdata(pair.b!))!.since;
    expect(ev.until).toBe(iso(since + 600));
    expect(String(ev.message)).toContain('--reuse-key');

    const r = await check();
    expect(r.code, r.lines.join('\n')).toBe(0);
    expect(r.lines).toContain(`ok    _25._tcp.mail.${ZONE} TLSA ${rdata(pair.b!)}: current`);
    expect(r.lines).toContain(`ok    _25._tcp.mail.${ZONE} TLSA ${rdata(pair.a!)}: retiring until ${iso(since + 600)}`);
    const warn = r.lines.filter((l) => l.startsWith(`warn  mail.${ZONE} cold rollover: `));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toContain(`until ${iso(since + 600)}`);
    expect(warn[0]).toContain(pair.b!.tlsa311.slice(0, 16));

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain(`dane_ns_tlsa_cold_rollovers_total{host="mail.${ZONE}"} 1\n`);
  });

  it('a next: cycle: next ready at, safe to deploy, renewal with next (in use), a new next key', async () => {
    const owner = `_25._tcp.mx2.${ZONE}`;
    const first = await check();
    const nextLine = first.lines.find((l) => l.startsWith(`ok    ${owner} TLSA ${rdata(pair.q!)}: next (ready at `));
    expect(nextLine, first.lines.join('\n')).toBeDefined();
    expect(first.lines).toContain(`ok    ${owner} TLSA ${rdata(pair.p!)}: current`);
    const readyAt = Date.parse(/ready at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)/.exec(nextLine!)![1]!);
    // Not ready yet (unless this machine took 12 s to get here): no word of deploying.
    if (readyAt > Date.now() + 1000) expect(nextLine).toMatch(/\(ready at \S+Z\)$/);
    await new Promise((r) => setTimeout(r, Math.max(0, readyAt - Date.now()) + 100));
    const ready = await check();
    expect(ready.lines).toContain(
      `ok    ${owner} TLSA ${rdata(pair.q!)}: next (ready at ${new Date(readyAt).toISOString()}: safe to deploy)`,
    );

    // Renewal with the pre-published key: no cold rollover, but next: now holds the key in use.
    replace(join(dir, 'certs', 'mx2.pem'), pair.q!.certPem);
    await waitFor('tlsa-next-in-use', () => logged('tlsa-next-in-use')[0]);
    expect(logged('tlsa-cold-rollover').filter((e) => e.host === `mx2.${ZONE}`)).toEqual([]);
    const inUse = await check();
    expect(inUse.lines).toContain(
      `warn  mx2.${ZONE} next key: next key is in use (key ${pair.q!.tlsa311.slice(0, 16)}), generate a new next key before the following renewal`,
    );
    expect(inUse.lines.find((l) => l.startsWith(`ok    ${owner} TLSA ${rdata(pair.q!)}: `))).toMatch(
      /: current, next \(ready at [^)]*: safe to deploy\)$/,
    );
    expect(inUse.lines.find((l) => l.startsWith(`ok    ${owner} TLSA ${rdata(pair.p!)}: `))).toMatch(
      /: retiring until \d{4}-\d\d-\d\dT[\d:.]+Z$/,
    );

    // A new next key: the warning goes, the new key is next.
    replace(join(dir, 'certs', 'mx2-next.pem'), pair.r!.certPem);
    await waitFor('new next published', async () =>
      (await served('mx2')).includes(rdata(pair.r!)) ? true : undefined,
    );
    const fresh = await check();
    expect(fresh.lines.filter((l) => l.includes('next key is in use'))).toEqual([]);
    expect(fresh.lines).toContain(`ok    ${owner} TLSA ${rdata(pair.q!)}: current`);
    expect(
      fresh.lines.find((l) => l.startsWith(`ok    ${owner} TLSA ${rdata(pair.r!)}: next (ready at `)),
    ).toBeDefined();
  }, 40_000);

  it('an unreadable current certificate: /healthz 503 naming it, check FAIL', async () => {
    const path = join(dir, 'certs', 'mail.pem');
    replace(path, 'not a certificate\n');
    const body = await waitFor('healthz 503', async () => {
      const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      return r.status === 503 ? r.text() : undefined;
    });
    expect(body).toContain(`certificate ${path} of TLSA host mail.${ZONE} is unreadable: `);
    const r = await check();
    expect(r.code).toBe(1);
    expect(r.lines.some((l) => l.startsWith(`FAIL  mail.${ZONE} current ${path}: `))).toBe(true);
    replace(path, pair.b!.certPem);
    await waitFor('healthz 200', async () =>
      (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200 ? true : undefined,
    );
  });
});
