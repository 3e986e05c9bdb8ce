/**
 * A state directory that cannot be written, against the real server: a full one (a 256 KiB tmpfs filled up:
 * ENOSPC) at start and while a certificate is rotated, then a read-only one (the tmpfs remounted read-only:
 * EROFS) at a restart with changed content. The TLSA records computed from the certificates are published
 * (signed) all along (RFC 7671 §8.1: no downgrade), the SOA serial never goes below one served before (RFC 1982),
 * queries over UDP and TCP are answered every 50 ms meanwhile, and the failure is loud: an error log line naming
 * the file, /healthz 503 with the reason, `dane_ns_state_ok` 0, until space is freed (the retry clears it).
 * Mounting needs root (the tests run as root). Then every other state file: each made unreadable at start by a
 * FIFO in its place (refused as not a regular file, even for root), and parent-ds.json made unwritable by a
 * directory in its place: each is an error line, a metric and a /healthz reason until it clears, and a file that
 * could not be read (tlsa.json, the IXFR journal, keys.json) is not written over; the TLSA history, readable
 * again, is taken up (its retired record published again).
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, type CertPair } from './helpers/certs.js';
import { query, requireTool } from './helpers/dig.js';
import { freePorts } from './helpers/ports.js';
import { probe } from './helpers/probe.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = 'state.example.';
const MAIL = `_25._tcp.mail.${ZONE}`;

function zoneYaml(cert: string, extra = ''): string {
  return `origin: ${ZONE}
ttl: 300
soa: { mname: ns1, rname: hostmaster@state.example, serial: auto, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }
transfer: { allow: [{ address: 127.0.0.1 }] }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 192.0.2.53 }
  mail: { A: 127.0.0.1 }
${extra}tlsa:
  - host: mail
    cert: ${cert}
    ttl: 60
`;
}

/** Fills the file system of `dir` with one file until a write fails with ENOSPC. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return path;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const logLines = (s: DaneNsInstance): Record<string, unknown>[] =>
  s
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a state directory that cannot be written changes nothing served and is loud', () => {
  let dir: string;
  let stateDir: string;
  let keysDir: string;
  let zonesDir: string;
  let certs: string;
  let a: CertPair;
  let b: CertPair;
  let dnsPort: number;
  let httpPort: number;
  let server: DaneNsInstance | undefined;
  let mounted = false;
  const http = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${httpPort}${path}`);
  const start = (): Promise<DaneNsInstance> =>
    startDaneNs({ zonesDir, keysDir, stateDir, port: dnsPort, extraArgs: ['--http', `127.0.0.1:${httpPort}`] });
  const tlsa = async (): Promise<string[]> => {
    const r = await query({ host: '127.0.0.1', port: dnsPort }, MAIL, 'TLSA', { dnssec: true });
    expect(r.rcode).toBe('NOERROR');
    expect(r.answer.some((rr) => / RRSIG TLSA /.test(rr))).toBe(true);
    return r.answer
      .filter((rr) => / TLSA /.test(rr) && !/ RRSIG /.test(rr))
      .map((rr) => rr.split(/\s+/).slice(-1)[0]!.toLowerCase())
      .sort();
  };
  const soaSerial = async (): Promise<number> => {
    const r = await query({ host: '127.0.0.1', port: dnsPort }, ZONE, 'SOA');
    return Number(r.answer.find((rr) => / SOA /.test(rr))!.split(/\s+/)[6]);
  };

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-state-faults-'));
    stateDir = join(dir, 'state');
    keysDir = join(dir, 'keys');
    zonesDir = join(dir, 'zones');
    certs = join(dir, 'certs');
    for (const d of [stateDir, zonesDir, certs]) mkdirSync(d, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', stateDir]);
    mounted = true;
    a = await makeCert(join(dir, 'a'), { name: 'a' });
    b = await makeCert(join(dir, 'b'), { name: 'b' });
    writeFileSync(join(certs, 'mail.pem'), a.certPem);
    writeFileSync(join(zonesDir, 'state.example.yaml'), zoneYaml(join(certs, 'mail.pem')));
    [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
  });

  afterAll(async () => {
    await server?.stop();
    if (mounted) execFileSync('umount', ['-l', stateDir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('full at start and during a rotation: the certificate records are published, /healthz fails until space is freed', async () => {
    const filler = fill(stateDir);
    const startedSec = Math.floor(Date.now() / 1000);
    server = await start();
    expect(await tlsa()).toEqual([a.tlsa311]);
    expect(await soaSerial()).toBeGreaterThanOrEqual(startedSec);
    const health = await http('/healthz');
    expect(health.status).toBe(503);
    const reasons = await health.text();
    for (const file of ['tlsa.json', 'serials.json', 'signed/state.example.bin'])
      expect(reasons).toContain(`state file ${join(stateDir, file)}`);
    expect(reasons).toContain(`state file ${join(stateDir, 'ixfr')}`);
    // keys.json: the tags of the keys made at this first start could not be recorded.
    expect(reasons).toMatch(new RegExp(`state file ${join(stateDir, 'keys.json')} \\(keys\\) fails: .*ENOSPC`));
    expect(reasons).toContain('ENOSPC');
    const metrics = await (await http('/metrics')).text();
    expect(metrics).toMatch(/^dane_ns_state_ok\{file="tlsa"\} 0$/m);
    expect(metrics).toMatch(/^dane_ns_state_ok\{file="journal"\} 0$/m); // the IXFR journal (transfer.allow)
    expect(metrics).toMatch(/^dane_ns_state_write_failures_total\{file="serials"\} [1-9]/m);
    const failed = logLines(server).filter((l) => l.event === 'state-file-failed');
    expect(failed.find((l) => l.file === join(stateDir, 'tlsa.json'))).toMatchObject({ level: 'error', kind: 'tlsa' });

    // The certificate is replaced while the directory is still full: the new record is published within seconds.
    const probes = probe(dnsPort, ZONE);
    writeFileSync(join(certs, 'mail.pem'), b.certPem);
    const rotated = await until(
      'the new certificate published',
      async () => {
        const t = await tlsa();
        return t.includes(b.tlsa311) ? t : undefined;
      },
      5000,
    );
    expect(rotated).toEqual([a.tlsa311, b.tlsa311].sort()); // the old one stays for its retention
    expect((await http('/healthz')).status).toBe(503);
    // One error line per file and reason, not one per retry.
    const lines = logLines(server).filter(
      (l) => l.event === 'state-file-failed' && l.file === join(stateDir, 'tlsa.json'),
    );
    expect(lines).toHaveLength(1);

    // Space is freed: the retry timer (10 s) writes every file and /healthz is 200 again.
    unlinkSync(filler);
    await until('healthz 200', async () => ((await http('/healthz')).status === 200 ? true : undefined), 15_000);
    const { sent, failed: missed } = await probes.stop();
    expect(sent).toBeGreaterThan(20);
    expect(missed).toEqual([]);
    const kept = JSON.parse(readFileSync(join(stateDir, 'tlsa.json'), 'utf8')) as {
      hosts: Record<string, { records: { rdata: string }[] }>;
    };
    expect(kept.hosts[`${ZONE}|mail.${ZONE}`]!.records.map((r) => r.rdata.split(' ')[3]!.toLowerCase()).sort()).toEqual(
      [a.tlsa311, b.tlsa311].sort(),
    );
    expect(Object.keys(JSON.parse(readFileSync(join(stateDir, 'keys.json'), 'utf8')) as object)).toEqual([ZONE]);
    const serials = JSON.parse(readFileSync(join(stateDir, 'serials.json'), 'utf8')) as Record<
      string,
      { serial: number }
    >;
    expect(serials[ZONE]!.serial).toBe(await soaSerial());
    expect(await (await http('/metrics')).text()).toMatch(/^dane_ns_state_ok\{file="tlsa"\} 1$/m);
    expect(
      logLines(server).some((l) => l.event === 'state-file-recovered' && l.file === join(stateDir, 'tlsa.json')),
    ).toBe(true);
  }, 60_000);

  it('read-only at a restart with changed content: a higher serial than the one served, the records published', async () => {
    const served = await soaSerial();
    await server!.stop();
    server = undefined;
    writeFileSync(
      join(zonesDir, 'state.example.yaml'),
      zoneYaml(join(certs, 'mail.pem'), '  www: { A: 192.0.2.80 }\n'),
    );
    execFileSync('mount', ['-o', 'remount,ro', stateDir]);
    try {
      server = await start();
      expect(await soaSerial()).toBeGreaterThan(served);
      // The history (read from the read-only file) still holds the old certificate's record for its retention.
      expect(await tlsa()).toEqual([a.tlsa311, b.tlsa311].sort());
      const health = await http('/healthz');
      expect(health.status).toBe(503);
      expect(await health.text()).toMatch(/state file .*serials\.json \(serials\) fails: .*EROFS/);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', stateDir]);
    }
  }, 60_000);
});

describe('state files that cannot be read at start, or written, are loud; unreadable ones are not written over', () => {
  let dir: string;
  let stateDir: string;
  let keysDir: string;
  let zonesDir: string;
  let certs: string;
  let a: CertPair;
  let b: CertPair;
  let dnsPort: number;
  let httpPort: number;
  let server: DaneNsInstance | undefined;
  const http = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${httpPort}${path}`);
  const start = (): Promise<DaneNsInstance> =>
    startDaneNs({ zonesDir, keysDir, stateDir, port: dnsPort, extraArgs: ['--http', `127.0.0.1:${httpPort}`] });
  const tlsa = async (): Promise<string[]> => {
    const r = await query({ host: '127.0.0.1', port: dnsPort }, MAIL, 'TLSA', { dnssec: true });
    expect(r.answer.some((rr) => / RRSIG TLSA /.test(rr))).toBe(true);
    return r.answer
      .filter((rr) => / TLSA /.test(rr) && !/ RRSIG /.test(rr))
      .map((rr) => rr.split(/\s+/).slice(-1)[0]!.toLowerCase())
      .sort();
  };
  const soaSerial = async (): Promise<number> => {
    const r = await query({ host: '127.0.0.1', port: dnsPort }, ZONE, 'SOA');
    return Number(r.answer.find((rr) => / SOA /.test(rr))!.split(/\s+/)[6]);
  };
  /** A FIFO in place of `path`: the server refuses to read it (not a regular file) even as root. */
  const fifo = (path: string): void => {
    rmSync(path, { force: true });
    mkdirSync(join(path, '..'), { recursive: true });
    execFileSync('mkfifo', [path]);
  };
  const isFifo = (path: string): boolean => lstatSync(path).isFIFO();

  beforeAll(async () => {
    requireTool('kdig');
    requireTool('mkfifo');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-state-reads-'));
    stateDir = join(dir, 'state');
    keysDir = join(dir, 'keys');
    zonesDir = join(dir, 'zones');
    certs = join(dir, 'certs');
    for (const d of [stateDir, zonesDir, certs]) mkdirSync(d, { recursive: true });
    a = await makeCert(join(dir, 'a'), { name: 'a' });
    b = await makeCert(join(dir, 'b'), { name: 'b' });
    writeFileSync(join(certs, 'mail.pem'), a.certPem);
    writeFileSync(join(zonesDir, 'state.example.yaml'), zoneYaml(join(certs, 'mail.pem')));
    [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('unreadable tlsa.json, IXFR journal, keys.json, dynamic records, signatures and cookie secret', async () => {
    server = await start();
    expect(await tlsa()).toEqual([a.tlsa311]);
    const served = await soaSerial();
    await server.stop();
    server = undefined;
    const history = readFileSync(join(stateDir, 'tlsa.json'));
    const files = {
      tlsa: join(stateDir, 'tlsa.json'),
      journal: join(stateDir, 'ixfr', 'state.example.json'),
      keys: join(stateDir, 'keys.json'),
      dynamic: join(stateDir, 'dynamic', 'state.example.json'),
      signed: join(stateDir, 'signed', 'state.example.bin'),
      cookies: join(stateDir, 'cookie-secret.json'),
    };
    for (const f of Object.values(files)) fifo(f);
    // The certificate changes while the history cannot be read: only the new one is known at start.
    writeFileSync(join(certs, 'mail.pem'), b.certPem);

    server = await start();
    expect(await tlsa()).toEqual([b.tlsa311]);
    expect(await soaSerial()).toBeGreaterThan(served);
    const health = await http('/healthz');
    expect(health.status).toBe(503);
    const reasons = await health.text();
    for (const kind of ['tlsa', 'journal', 'keys', 'dynamic'] as const) {
      expect(reasons).toMatch(
        new RegExp(`state file ${files[kind]} \\(${kind}\\) fails: .*not a regular file \\(FIFO\\)`),
      );
    }
    const metrics = await (await http('/metrics')).text();
    for (const kind of ['tlsa', 'journal', 'keys', 'dynamic'])
      expect(metrics).toMatch(new RegExp(`^dane_ns_state_ok\\{file="${kind}"\\} 0$`, 'm'));
    // The signatures and the cookie secret are written anew at start (over the FIFO): failed once, then clear.
    for (const kind of ['signed', 'cookies']) {
      expect(metrics).toMatch(new RegExp(`^dane_ns_state_write_failures_total\\{file="${kind}"\\} [1-9]`, 'm'));
      expect(metrics).toMatch(new RegExp(`^dane_ns_state_ok\\{file="${kind}"\\} 1$`, 'm'));
    }
    const failed = logLines(server).filter((l) => l.event === 'state-file-failed');
    for (const [kind, path] of Object.entries(files))
      expect(
        failed.find((l) => l.file === path),
        path,
      ).toMatchObject({ level: 'error', kind });
    // Not written over: the history and the journal are still the FIFOs after the first saves.
    expect(isFifo(files.tlsa)).toBe(true);
    expect(isFifo(files.journal)).toBe(true);
    expect(isFifo(files.keys)).toBe(true);

    // The history readable again (the file put back as it was), the other files removed: the retry (10 s) takes
    // the history up (the old certificate's record published again, now retiring) and /healthz is 200.
    rmSync(files.tlsa);
    writeFileSync(files.tlsa, history);
    for (const f of [files.journal, files.keys, files.dynamic]) rmSync(f);
    await until('healthz 200', async () => ((await http('/healthz')).status === 200 ? true : undefined), 15_000);
    expect(await tlsa()).toEqual([a.tlsa311, b.tlsa311].sort());
    const kept = JSON.parse(readFileSync(files.tlsa, 'utf8')) as {
      hosts: Record<string, { records: { rdata: string; until?: number }[] }>;
    };
    const records = kept.hosts[`${ZONE}|mail.${ZONE}`]!.records;
    expect(records.map((r) => r.rdata.split(' ')[3]!.toLowerCase()).sort()).toEqual([a.tlsa311, b.tlsa311].sort());
    expect(records.find((r) => r.rdata.toLowerCase().endsWith(a.tlsa311))!.until).toBeGreaterThan(Date.now() / 1000);
    expect(Object.keys(JSON.parse(readFileSync(files.keys, 'utf8')) as object)).toEqual([ZONE]);
    expect(isFifo(files.journal)).toBe(false);
    const recovered = logLines(server)
      .filter((l) => l.event === 'state-file-recovered')
      .map((l) => l.file);
    for (const f of [files.tlsa, files.journal, files.keys, files.dynamic]) expect(recovered).toContain(f);
  }, 90_000);

  it('parent-ds.json that cannot be written: loud until the retry writes it', async () => {
    await server?.stop();
    server = undefined;
    const closed = (await freePorts(1))[0]!; // nothing listens: each check ends at once with an error answer
    writeFileSync(
      join(zonesDir, 'state.example.yaml'),
      zoneYaml(join(certs, 'mail.pem'), `dnssec: { parent: ["127.0.0.1@${closed}"] }\n`),
    );
    const file = join(stateDir, 'parent-ds.json');
    mkdirSync(join(file, 'in-the-way'), { recursive: true }); // a directory: the rename over it fails
    server = await start();
    const reasons = await until(
      'parent-ds.json failing on /healthz',
      async () => {
        const t = await (await http('/healthz')).text();
        return t.includes(`state file ${file} (parent-ds) fails`) ? t : undefined;
      },
      10_000,
    );
    expect(reasons).toMatch(/\(parent-ds\) fails: .*(EISDIR|ENOTEMPTY|EEXIST)/);
    expect(await (await http('/metrics')).text()).toMatch(/^dane_ns_state_ok\{file="parent-ds"\} 0$/m);
    expect(await tlsa()).toContain(b.tlsa311);
    rmSync(file, { recursive: true });
    await until('healthz 200', async () => ((await http('/healthz')).status === 200 ? true : undefined), 15_000);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { zones: Record<string, unknown> };
    expect(Object.keys(saved.zones)).toEqual([ZONE]);
  }, 60_000);
});
