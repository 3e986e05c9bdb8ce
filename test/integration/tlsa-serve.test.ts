/**
 * Automatic TLSA against the real server: certificate files on disk become signed `_25._tcp` TLSA records, and
 * every way tools replace certificates is followed within a second (rename into place, in-place rewrite,
 * delete and re-create, certbot's `live/` symlink swap), while broken files change nothing. Records leave
 * only after their retention, across restarts too. The expected digests come from the openssl CLI, an
 * implementation independent of the server's node:crypto code.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = 'tlsa.example.';
const MAIL = `_25._tcp.mail.${ZONE}`;

/** A fresh EC P-256 key and self-signed certificate; returns the PEM texts and the TLSA data per openssl. */
function makeCert(dir: string, name: string): { cert: string; key: string; hex: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
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
      key,
      '-out',
      cert,
      '-days',
      '60',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  const spki = execFileSync(requireTool('openssl'), ['pkey', '-in', key, '-pubout', '-outform', 'der']);
  const hex = execFileSync(requireTool('openssl'), ['dgst', '-sha256', '-hex'], { input: spki })
    .toString()
    .trim()
    .split(/\s+/)
    .at(-1)!
    .toUpperCase();
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), hex };
}

function zoneYaml(certs: string, ttl: number, extra = ''): string {
  return `origin: ${ZONE}
ttl: 3600
soa: { mname: ns1, rname: hostmaster@tlsa.example, serial: auto, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }
records:
  "@": { NS: ns1, MX: ["10 mail", "20 mx2.w"] }
  ns1: { A: 192.0.2.53 }
  mail: { A: 127.0.0.1 }
  "*.w": { A: 192.0.2.80, TXT: wildcard }
tlsa:
  - host: mail
    cert: ${certs}/live/mail/fullchain.pem
    next: ${certs}/next.pem
    ttl: ${ttl}
  - host: mx2.w
    cert: ${certs}/mx2.pem
${extra}`;
}

describe('automatic TLSA served from certificate files', () => {
  let dir: string;
  let certs: string;
  let zones: string;
  let state: string;
  let keys: string;
  let server: DaneNsInstance;
  let port: number;
  const pool = new Map<string, { cert: string; key: string; hex: string }>();
  const live = (): string => join(certs, 'live', 'mail', 'fullchain.pem');

  const tlsaSet = async (): Promise<string[]> => {
    const a = await query({ host: '127.0.0.1', port }, MAIL, 'TLSA', { dnssec: true });
    expect(a.rcode).toBe('NOERROR');
    // Every TLSA RRset is served with its RRSIG.
    expect(a.answer.some((r) => r.includes(' RRSIG TLSA '))).toBe(true);
    return a.answer
      .filter((r) => / TLSA /.test(r) && !r.includes(' RRSIG '))
      .map((r) => r.split(' TLSA ')[1]!.replace(/ /g, '').toUpperCase())
      .sort();
  };
  const serial = async (): Promise<number> => {
    const a = await query({ host: '127.0.0.1', port }, ZONE, 'SOA');
    return Number(a.answer[0]!.split(' ')[6]);
  };
  /** Polls until `want(set)` holds; returns the milliseconds it took (fails after 5 s). */
  const until = async (want: (set: string[]) => boolean): Promise<number> => {
    const t0 = performance.now();
    for (;;) {
      const set = await tlsaSet();
      if (want(set)) return performance.now() - t0;
      if (performance.now() - t0 > 5000)
        throw new Error(`TLSA set never matched; last: ${set.join(', ')}\n${server.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const digest = (hex: string): string => `311${hex}`;

  beforeAll(async () => {
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-tlsa-'));
    certs = join(dir, 'certs');
    zones = join(dir, 'zones');
    state = join(dir, 'state');
    keys = join(dir, 'keys');
    for (const d of [zones, state, keys, join(certs, 'archive', 'mail'), join(certs, 'live', 'mail')])
      mkdirSync(d, { recursive: true });
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'mx2']) pool.set(n, makeCert(dir, n));
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain1.pem'), pool.get('a')!.cert);
    symlinkSync('../../archive/mail/fullchain1.pem', live());
    writeFileSync(join(certs, 'mx2.pem'), pool.get('mx2')!.cert);
    writeFileSync(join(zones, 'tlsa.example.yaml'), zoneYaml(certs, 1));
    port = await freePort();
    server = await startDaneNs({ zonesDir: zones, port, stateDir: state, keysDir: keys });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes 3 1 1 of the current certificate (digest as openssl computes it), signed', async () => {
    expect(await tlsaSet()).toEqual([digest(pool.get('a')!.hex)]);
    expect(server.logs()).toContain('"event":"tlsa-next-absent"');
  });

  it('adds the names to the NSEC chain: _tcp.mail is an empty non-terminal (NOERROR, no data), not NXDOMAIN', async () => {
    const a = await query({ host: '127.0.0.1', port }, `_tcp.mail.${ZONE}`, 'A', { dnssec: true });
    expect(a.rcode).toBe('NOERROR');
    expect(a.answer).toEqual([]);
    const nsec = await query({ host: '127.0.0.1', port }, MAIL, 'NSEC', { dnssec: true });
    const own = nsec.answer.find((r) => r.split(' ')[3] === 'NSEC');
    expect(own?.split(' ').slice(5).sort()).toEqual(['NSEC', 'RRSIG', 'TLSA']);
  });

  it('keeps the answers of a host that existed only through a wildcard (PowerDNS issue 2432)', async () => {
    for (const [qname, type, want] of [
      [`mx2.w.${ZONE}`, 'A', '192.0.2.80'],
      [`mx2.w.${ZONE}`, 'TXT', '"wildcard"'],
      [`other.w.${ZONE}`, 'A', '192.0.2.80'],
    ] as const) {
      const a = await query({ host: '127.0.0.1', port }, qname, type);
      expect(a.rcode).toBe('NOERROR');
      expect(a.answer.map((r) => r.split(` ${type} `)[1])).toEqual([want]);
    }
    expect(server.logs()).toContain('exists only through the wildcard');
    const t = await query({ host: '127.0.0.1', port }, `_25._tcp.mx2.w.${ZONE}`, 'TLSA');
    expect(t.answer.map((r) => r.split(' TLSA ')[1]!.replace(/ /g, ''))).toEqual([digest(pool.get('mx2')!.hex)]);
  });

  const rotations: number[] = [];
  it('follows a rename into place within 1 s, keeps the old record, raises the serial', async () => {
    const s0 = await serial();
    const tmp = join(certs, 'archive', 'mail', '.tmp-fullchain1.pem');
    writeFileSync(tmp, pool.get('b')!.cert);
    renameSync(tmp, join(certs, 'archive', 'mail', 'fullchain1.pem'));
    const ms = await until((s) => s.includes(digest(pool.get('b')!.hex)));
    rotations.push(ms);
    expect(ms).toBeLessThan(1000);
    // The old key stays published for 2 x TTL after it left (TTL 1 s here).
    expect(await tlsaSet()).toEqual([digest(pool.get('a')!.hex), digest(pool.get('b')!.hex)].sort());
    expect(await serial()).toBeGreaterThan(s0);
  });

  it('withdraws the retired record once its retention (2 x TTL) has passed', async () => {
    await until((s) => s.length === 1 && s[0] === digest(pool.get('b')!.hex));
  });

  it('follows an in-place rewrite', async () => {
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain1.pem'), pool.get('c')!.cert);
    rotations.push(await until((s) => s.includes(digest(pool.get('c')!.hex))));
  });

  it('follows certbot: a new archive file and the live/ symlink swapped to it', async () => {
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), pool.get('d')!.cert);
    const tmpLink = join(certs, 'live', 'mail', 'fullchain.pem.new');
    symlinkSync('../../archive/mail/fullchain2.pem', tmpLink);
    renameSync(tmpLink, live());
    rotations.push(await until((s) => s.includes(digest(pool.get('d')!.hex))));
  });

  it('a garbage or half-written certificate changes nothing and is logged with its path and reason', async () => {
    await until((s) => s.length === 1);
    const before = await tlsaSet();
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), pool.get('e')!.cert.slice(0, 200));
    await new Promise((r) => setTimeout(r, 600));
    expect(await tlsaSet()).toEqual(before);
    expect(server.logs()).toMatch(/"event":"tlsa-source-error".*live\/mail\/fullchain\.pem.*"reason":"truncated PEM/);
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), 'garbage\n');
    await new Promise((r) => setTimeout(r, 600));
    expect(await tlsaSet()).toEqual(before);
    expect(server.logs()).toMatch(/"reason":"neither PEM nor a DER certificate or key"/);
  });

  it('follows a delete and re-create (the gap changes nothing)', async () => {
    const before = await tlsaSet();
    unlinkSync(join(certs, 'archive', 'mail', 'fullchain2.pem'));
    await new Promise((r) => setTimeout(r, 400));
    expect(await tlsaSet()).toEqual(before);
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), pool.get('e')!.cert);
    rotations.push(await until((s) => s.includes(digest(pool.get('e')!.hex))));
  });

  it('a next: key is published when it appears, and stays when it becomes the current one', async () => {
    await until((s) => s.length === 1);
    writeFileSync(join(certs, 'next.pem'), pool.get('f')!.key); // a private key file works as a source too
    await until((s) => s.length === 2 && s.includes(digest(pool.get('f')!.hex)));
    // Renewal deploys the next key: the live certificate now has key f, the next file is gone.
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), pool.get('f')!.cert);
    unlinkSync(join(certs, 'next.pem'));
    // e retires (kept 2 s), f never leaves: check it is present at every step until e is gone.
    const t0 = performance.now();
    for (;;) {
      const s = await tlsaSet();
      expect(s).toContain(digest(pool.get('f')!.hex));
      if (s.length === 1) break;
      expect(performance.now() - t0).toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('a restart inside the retention window keeps publishing the retired record', async () => {
    await server.stop();
    // A long TTL now: the record that retires gets 2 x 300 s.
    writeFileSync(join(zones, 'tlsa.example.yaml'), zoneYaml(certs, 300));
    port = await freePort();
    server = await startDaneNs({ zonesDir: zones, port, stateDir: state, keysDir: keys });
    expect(await tlsaSet()).toEqual([digest(pool.get('f')!.hex)]);
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), pool.get('g')!.cert);
    await until((s) => s.length === 2);
    await server.stop();
    // Restart with the certificate now garbage: both records still come from the state directory.
    writeFileSync(join(certs, 'archive', 'mail', 'fullchain2.pem'), 'garbage');
    port = await freePort();
    server = await startDaneNs({ zonesDir: zones, port, stateDir: state, keysDir: keys });
    expect(await tlsaSet()).toEqual([digest(pool.get('f')!.hex), digest(pool.get('g')!.hex)].sort());
    expect(server.logs()).toContain('"keeping":"the published records"');
  }, 60_000);

  it('rotations were served within 1 s of the file change', () => {
    expect(rotations.length).toBe(4);
    for (const ms of rotations) expect(ms).toBeLessThan(1000);
  });
});
