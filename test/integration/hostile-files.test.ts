/**
 * Hostile files dropped next to a running server: a FIFO named like a zone file, a zone file that is a symlink
 * to /dev/zero, a certificate path of `tlsa:` that becomes a FIFO, then 1 MB of unterminated BEGIN lines, then a
 * 100 MB file; queries of 5,000 query types (the /metrics series stay a fixed set); a 50 MB binary file and a
 * 30 MB text file that is not a zone, both named like zone files. Each would block the event loop (open() of a FIFO waits for a
 * writer; /dev/zero never ends; decoding and parsing tens of MB in one piece take a second) if read naively.
 * After each event the server still answers a UDP and a TCP query for the existing zone, the log names the
 * path and the reason, and the status endpoint reports the bad file (/healthz for zone files, the certificate
 * problem gauge of /metrics for the certificate). Throughout, a UDP and a TCP probe ask every 50 ms
 * (helpers/probe.ts) and the server's resident memory is sampled: every probe is answered, memory stays bounded.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { makeCert } from './helpers/certs.js';
import { freePorts } from './helpers/ports.js';
import { probe, rssSampler, type ProbeResult } from './helpers/probe.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = 'good.example.';

const zoneYaml = (origin: string, extra = ''): string => `origin: ${origin}
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: auto, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 192.0.2.53 }
  www: { A: 192.0.2.1 }
${extra}`;

describe('hostile files next to a running server', () => {
  let dir: string;
  let zones: string;
  let cert: string;
  let server: DaneNsInstance;
  let dnsPort: number;
  let httpPort: number;
  let probes: { stop(): Promise<ProbeResult> };
  let rss: { stop(): number };

  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`http://127.0.0.1:${httpPort}${path}`);
    return { status: r.status, body: await r.text() };
  };
  /** Waits until `check` holds (fails after 5 s, with the end of the server's log). */
  const until = async (check: () => Promise<boolean> | boolean, what: string): Promise<void> => {
    const t0 = performance.now();
    while (!(await check())) {
      if (performance.now() - t0 > 5000) throw new Error(`${what} never held\n${server.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** The existing zone answers over UDP and over TCP. */
  const answers = async (): Promise<void> => {
    for (const tcp of [false, true]) {
      const a = await query({ host: '127.0.0.1', port: dnsPort }, `www.${ZONE}`, 'A', { tcp });
      expect(a.rcode).toBe('NOERROR');
      expect(a.answer.map((r) => r.split(' A ')[1])).toEqual(['192.0.2.1']);
    }
  };
  /** Log lines of `event` that mention `text`. */
  const logged = (event: string, text: string): string[] =>
    server
      .logs()
      .split('\n')
      .filter((l) => l.includes(`"event":"${event}"`) && l.includes(text));

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-hostile-'));
    zones = join(dir, 'zones');
    const certs = join(dir, 'certs');
    mkdirSync(zones);
    mkdirSync(certs);
    cert = (await makeCert(certs, { name: 'mail', cn: 'mail' })).certPath;
    writeFileSync(
      join(zones, 'good.example.yaml'),
      zoneYaml(ZONE, `  mail: { A: 192.0.2.25 }\ntlsa:\n  - host: mail\n    cert: ${cert}\n`),
    );
    [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
    server = await startDaneNs({ zonesDir: zones, port: dnsPort, extraArgs: ['--http', `127.0.0.1:${httpPort}`] });
    await answers();
    probes = probe(dnsPort, ZONE);
    rss = rssSampler(server.proc.pid!);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a FIFO named x.yaml in the zones directory: refused at once, logged with its path, in /healthz', async () => {
    const fifo = join(zones, 'x.yaml');
    execFileSync('mkfifo', [fifo]);
    await until(() => logged('zone-load-failed', 'x.yaml').length > 0, 'zone-load-failed for x.yaml');
    expect(logged('zone-load-failed', 'x.yaml')[0]).toContain(`${fifo}:0: cannot read: not a regular file (FIFO)`);
    await answers();
    const h = await get('/healthz');
    expect(h.status).toBe(503);
    expect(h.body).toContain(
      `zone file x.yaml does not load (serving nothing): ${fifo}:0: cannot read: not a regular file (FIFO)`,
    );
  });

  it('a zone file that is a symlink to /dev/zero: refused as a character device, nothing read', async () => {
    const zero = join(zones, 'zero.yaml');
    symlinkSync('/dev/zero', zero);
    await until(() => logged('zone-load-failed', 'zero.yaml').length > 0, 'zone-load-failed for zero.yaml');
    expect(logged('zone-load-failed', 'zero.yaml')[0]).toContain(
      `${zero}:0: cannot read: not a regular file (character device)`,
    );
    await answers();
    expect((await get('/healthz')).body).toContain(`zone file zero.yaml does not load (serving nothing): ${zero}:0:`);
  });

  it('a certificate path that becomes a FIFO: refused, logged with the path, the last good TLSA kept', async () => {
    const before = await query({ host: '127.0.0.1', port: dnsPort }, `_25._tcp.mail.${ZONE}`, 'TLSA');
    expect(before.answer.filter((r) => / TLSA 3 1 1 /.test(r))).toHaveLength(1);
    unlinkSync(cert);
    execFileSync('mkfifo', [cert]);
    await until(
      () => logged('tlsa-source-error', 'cannot read: not a regular file (FIFO)').some((l) => l.includes(cert)),
      'tlsa-source-error for the FIFO',
    );
    await answers();
    const after = await query({ host: '127.0.0.1', port: dnsPort }, `_25._tcp.mail.${ZONE}`, 'TLSA');
    expect(after.answer).toEqual(before.answer);
    const metrics = (await get('/metrics')).body;
    expect(metrics).toMatch(
      /dane_ns_certificate_problem\{[^}]*host="mail\.good\.example\.?"[^}]*status="unreadable"\} 1/,
    );
    expect(metrics).toMatch(/dane_ns_certificate_read_failures_total [1-9]/);
  });

  it('a certificate path of 1 MB of unterminated BEGIN lines, then one of 100 MB: refused, the last good TLSA kept', async () => {
    const before = await query({ host: '127.0.0.1', port: dnsPort }, `_25._tcp.mail.${ZONE}`, 'TLSA');
    expect(before.answer.filter((r) => / TLSA 3 1 1 /.test(r))).toHaveLength(1);
    const put = (write: (path: string) => void): void => {
      const tmpFile = join(dir, 'cert.tmp');
      write(tmpFile);
      renameSync(tmpFile, cert); // over the FIFO of the case before
    };
    const begins = '-----BEGIN CERTIFICATE-----\n'.repeat(Math.floor(1_000_000 / 28));
    put((f) => writeFileSync(f, begins));
    await until(
      () => logged('tlsa-source-error', 'truncated PEM').some((l) => l.includes(cert)),
      'tlsa-source-error for the unterminated BEGIN lines',
    );
    // 100 MB without writing them: a sparse file; refused by its size, nothing read.
    put((f) => execFileSync('truncate', ['-s', '100M', f]));
    await until(
      () => logged('tlsa-source-error', '104857600 bytes is too large').some((l) => l.includes(cert)),
      'tlsa-source-error for the 100 MB certificate',
    );
    await answers();
    const after = await query({ host: '127.0.0.1', port: dnsPort }, `_25._tcp.mail.${ZONE}`, 'TLSA');
    expect(after.answer).toEqual(before.answer);
    for (const l of logged('tlsa-source-error', cert)) expect(l.length).toBeLessThan(2048);
  });

  it('queries of 5,000 different types: /metrics keeps one series per known type and `other`', async () => {
    const s = createSocket('udp4');
    const labels = ZONE.split('.').filter(Boolean);
    for (let i = 0; i < 5000; i++) {
      const qtype = 1000 + i * 11; // unassigned types, none of them labelled
      const q = Buffer.concat([
        Buffer.from([i >> 8, i & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
        Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]),
      ]);
      s.send(q, dnsPort, '127.0.0.1');
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300));
    s.close();
    const series = (await get('/metrics')).body.split('\n').filter((l) => l.startsWith('dane_ns_queries_total{'));
    expect(series.some((l) => /qtype="other",rcode="NOERROR"\} [1-9]\d{2,}/.test(l))).toBe(true);
    expect(series.length).toBeLessThan(60);
  });

  it('a 50 MB binary file named like a zone file: refused as not text before any parse', async () => {
    const tmpFile = join(dir, 'bin.tmp');
    writeFileSync(tmpFile, randomBytes(50_000_000));
    renameSync(tmpFile, join(zones, 'bin.yaml'));
    await until(() => logged('zone-load-failed', 'bin.yaml').length > 0, 'zone-load-failed for bin.yaml');
    expect(logged('zone-load-failed', 'bin.yaml')[0]).toMatch(
      /bin\.yaml:0: cannot read: not a text file \(a NUL octet at offset \d+\)/,
    );
    await answers();
  });

  it('a 30 MB text file that is not a zone: parsed aside, refused with its problems in a bounded log line', async () => {
    // Base64 lines: valid UTF-8 without a records: mapping to split, so the whole text is one YAML document.
    const text = (
      randomBytes(22_000_000)
        .toString('base64')
        .match(/.{1,76}/g) ?? []
    ).join('\n');
    expect(text.length).toBeGreaterThan(29_000_000);
    const tmpFile = join(dir, 'text.tmp');
    writeFileSync(tmpFile, text);
    renameSync(tmpFile, join(zones, 'text.yaml'));
    await until(() => logged('zone-load-failed', 'text.yaml').length > 0, 'zone-load-failed for text.yaml');
    const line = logged('zone-load-failed', 'text.yaml')[0]!;
    expect(line).toContain('text.yaml:1: the zone file must be a YAML mapping');
    expect(line.length).toBeLessThan(8192);
    await answers();
    expect((await get('/healthz')).body).toContain('zone file text.yaml does not load (serving nothing)');
  });

  it('the bad files are not read again while unchanged: still one zone-load-failed each after more reloads', async () => {
    // A new zone file makes a reload (watched directory), then a SIGHUP makes another; both skip the bad files.
    writeFileSync(join(zones, 'more.example.yaml'), zoneYaml('more.example.'));
    await until(async () => {
      const a = await query({ host: '127.0.0.1', port: dnsPort }, `www.more.example.`, 'A');
      return a.rcode === 'NOERROR';
    }, 'more.example. served');
    server.proc.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    await answers();
    expect(logged('zone-load-failed', 'x.yaml')).toHaveLength(1);
    expect(logged('zone-load-failed', 'zero.yaml')).toHaveLength(1);
    expect(logged('zone-load-failed', 'bin.yaml')).toHaveLength(1);
    expect(logged('zone-load-failed', 'text.yaml')).toHaveLength(1);
  });

  it('throughout: every probe answered, the resident memory bounded', async () => {
    const seen = await probes.stop();
    const peakMb = rss.stop();
    process.stdout.write(
      `hostile-files: longest waits ${JSON.stringify(seen.longest)}, ${seen.sent} probes, peak RSS ${peakMb} MB\n`,
    );
    expect(seen.sent).toBeGreaterThan(20);
    expect(seen.failed).toEqual([]);
    // The 30 MB text's syntax tree is built on the parsing worker, whose heap is capped (yaml-aside.ts).
    expect(peakMb).toBeLessThan(700);
  });
});
