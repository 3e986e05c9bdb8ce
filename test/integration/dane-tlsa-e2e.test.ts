/**
 * Automatic TLSA end to end, real pieces only, in a private network namespace:
 *   dane-ns serves example.com and takes the TLSA of mail.example.com from a certbot-style certificate file
 *   (live/ symlink -> archive/) plus a pre-published `next:` key file;
 *   Unbound (the namespace's system resolver) validates from the DS that `dane-ns ds` prints;
 *   Postfix smtpd presents the certificate; posttls-finger (-l dane) verifies as a sending MTA does.
 * Cases: (1) the current certificate verifies; (2) a key no TLSA names does not; (3) rotation to a new key: the
 * TLSA is served within 1 s of the file change and, once the resolver's cache is flushed, the connection
 * verifies; (4) rotation with `next:` published beforehand verifies with the resolver's cache still warm;
 * (5) a certbot renewal (symlink swap under live/) is followed; (6) a host without TLSA gets a secure denial.
 * `dane-ns check --live` gives the same verdicts.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, type CertPair } from './helpers/certs.js';
import { requireTool } from './helpers/dig.js';
import { createNetns, type Netns } from './helpers/netns.js';
import { startPostfix, type PostfixInstance } from './helpers/postfix.js';
import { posttlsFinger, type PosttlsResult } from './helpers/posttls.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { exec } from '../support/exec.js';

const ZONE = 'example.com.';
const DANE_PORT = 5353;

let ns: Netns | undefined;
let dir: string;
let certs: string;
let zonesDir: string;
let dane: DaneNsInstance | undefined;
let unbound: UnboundInstance | undefined;
let postfix: PostfixInstance | undefined;
const keys: Record<string, CertPair> = {};

const rr = (c: CertPair): string => `3 1 1 ${c.tlsa311}`;
const context = (r: PosttlsResult): string =>
  `${r.command}\n${r.raw}\n--- dane-ns ---\n${dane?.logs().slice(-3000) ?? ''}`;
let archiveN = 1;

/** certbot's renewal: a new archive file, then the live/ symlink replaced atomically. */
function certbotRenew(c: CertPair): void {
  archiveN++;
  writeFileSync(join(certs, 'archive', `fullchain${archiveN}.pem`), c.certPem);
  const tmp = join(certs, 'live', 'fullchain.pem.tmp');
  symlinkSync(`../archive/fullchain${archiveN}.pem`, tmp);
  renameSync(tmp, join(certs, 'live', 'fullchain.pem'));
}

/** The TLSA set dane-ns itself serves now (asked directly, not through the resolver), lower-case hex. */
async function served(): Promise<string[]> {
  const out = await ns!.run('kdig', [
    '+short',
    '+norec',
    `@127.0.0.1`,
    '-p',
    String(DANE_PORT),
    `_25._tcp.mail.${ZONE}`,
    'TLSA',
  ]);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [u, s, m, ...hex] = l.split(/\s+/);
      return `${u} ${s} ${m} ${hex.join('').toLowerCase()}`;
    })
    .sort();
}

/** Milliseconds until dane-ns serves a set containing `want` (fails after 5 s). */
async function servedWithin(want: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if ((await served()).includes(want)) return performance.now() - t0;
    if (performance.now() - t0 > 5000) throw new Error(`dane-ns never served ${want}\n${dane?.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function check(): Promise<{ code: number | null; stdout: string }> {
  const r = await ns!.exec(
    process.execPath,
    [CLI, 'check', ZONE, '--zones', zonesDir, '--server', `127.0.0.1:${DANE_PORT}`, '--live'],
    { timeoutMs: 30_000 },
  );
  return { code: r.code, stdout: r.stdout + r.stderr };
}

beforeAll(async () => {
  for (const tool of ['ip', 'unbound', 'unbound-control', 'kdig', 'postfix', 'posttls-finger', 'openssl'])
    requireTool(tool);
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-tlsa-e2e-'));
  certs = join(dir, 'certs');
  mkdirSync(join(certs, 'archive'), { recursive: true });
  mkdirSync(join(certs, 'live'), { recursive: true });
  const made = await Promise.all(
    ['a', 'b', 'c', 'd', 'stranger'].map((name) =>
      makeCert(join(dir, 'pairs'), { name, kind: name === 'c' ? 'rsa' : 'ec' }),
    ),
  );
  for (const c of made)
    keys[
      c.certPath
        .split('/')
        .pop()!
        .replace(/\.crt$/, '')
    ] = c;
  writeFileSync(join(certs, 'archive', 'fullchain1.pem'), keys.a!.certPem);
  symlinkSync('../archive/fullchain1.pem', join(certs, 'live', 'fullchain.pem'));
  ns = await createNetns();
  zonesDir = join(dir, 'zones');
  mkdirSync(zonesDir);
  writeFileSync(
    join(zonesDir, 'example.com.yaml'),
    `origin: ${ZONE}
ttl: 300
soa: { mname: ns1, rname: hostmaster@example.com, serial: auto, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 127.0.0.1 }
  mail: { A: 127.0.0.1 }
  plain: { A: 127.0.0.1 }
tlsa:
  - host: mail
    cert: ${join(certs, 'live', 'fullchain.pem')}
    next: ${join(certs, 'next.key')}
    ttl: 300
`,
  );
  const keysDir = join(dir, 'keys');
  dane = await startDaneNs({ zonesDir, port: DANE_PORT, keysDir, stateDir: join(dir, 'state'), netns: ns.name });
  const anchors = (await exec(process.execPath, [CLI, 'ds', ZONE, '--keys', keysDir])).trim().split('\n');
  unbound = await startUnbound({
    port: 53,
    stubs: [{ zone: ZONE, addr: `127.0.0.1@${DANE_PORT}` }],
    trustAnchors: anchors,
    netns: ns.name,
  });
  postfix = await startPostfix({ netns: ns.name, certPath: keys.a!.certPath, keyPath: keys.a!.keyPath });
}, 120_000);

afterAll(async () => {
  await postfix?.stop();
  await unbound?.stop();
  await dane?.stop();
  await ns?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('automatic TLSA through dane-ns, Unbound, Postfix and posttls-finger', () => {
  it('(1) the current certificate: a verified DANE connection matching the automatic record', async () => {
    expect(await served()).toEqual([rr(keys.a!)]);
    const r = await posttlsFinger(ns!.name, 'example.com');
    expect(r, context(r)).toMatchObject({
      verified: true,
      matchedDane: true,
      dnssecFailure: false,
      matchedTlsa: rr(keys.a!),
    });
    const c = await check();
    expect(c.stdout).toMatch(/^result {2}_25\._tcp\.mail\.example\.com\. ok$/m);
    expect(c.code, c.stdout).toBe(0);
  });

  it('(2) a key that no TLSA names is not verified, and check says tlsa-invalid', async () => {
    await postfix!.setCertificate(keys.stranger!.certPath, keys.stranger!.keyPath);
    const r = await posttlsFinger(ns!.name, '[mail.example.com]');
    expect(r, context(r)).toMatchObject({ verified: false, matchedDane: false, noTlsa: false, dnssecFailure: false });
    const c = await check();
    expect(c.stdout).toMatch(/^result {2}_25\._tcp\.mail\.example\.com\. tlsa-invalid$/m);
    expect(c.code).toBe(1);
    await postfix!.setCertificate(keys.a!.certPath, keys.a!.keyPath);
  });

  it('(3) rotation to a new key: served within 1 s of the file change; verified once the cache is flushed', async () => {
    // The renewal writes the certificate in place (not certbot's way; case 5 is certbot).
    writeFileSync(join(certs, 'archive', 'fullchain1.pem'), keys.b!.certPem);
    const ms = await servedWithin(rr(keys.b!));
    expect(ms).toBeLessThan(1000);
    // The old record stays (retention 2 x TTL) for resolvers that still have it cached.
    expect(await served()).toEqual([rr(keys.a!), rr(keys.b!)].sort());
    await postfix!.setCertificate(keys.b!.certPath, keys.b!.keyPath);
    await unbound!.flush();
    const r = await posttlsFinger(ns!.name, 'example.com');
    expect(r, context(r)).toMatchObject({ verified: true, matchedDane: true, matchedTlsa: rr(keys.b!) });
  });

  it('(4) rotation with next: published beforehand verifies with the resolver cache still warm', async () => {
    writeFileSync(join(certs, 'next.key'), readFileSync(keys.c!.keyPath)); // the next private key (RSA)
    await servedWithin(rr(keys.c!));
    // The resolver learns the set {current, next} while the current key is in use...
    await unbound!.flush();
    const warm = await posttlsFinger(ns!.name, '[mail.example.com]');
    expect(warm, context(warm)).toMatchObject({ verified: true, matchedTlsa: rr(keys.b!) });
    expect(warm.tlsaRecords).toContain(rr(keys.c!));
    // ...then the renewal deploys the next key; no flush: the cached RRset already names it.
    certbotRenew(keys.c!);
    unlinkSync(join(certs, 'next.key'));
    await postfix!.setCertificate(keys.c!.certPath, keys.c!.keyPath);
    const r = await posttlsFinger(ns!.name, '[mail.example.com]');
    expect(r, context(r)).toMatchObject({ verified: true, matchedDane: true, matchedTlsa: rr(keys.c!) });
    // The record stays published now that it is the current key (never withdrawn early).
    expect(await served()).toContain(rr(keys.c!));
  });

  it('(5) certbot-style renewal (live/ symlink swapped to a new archive file) is followed', async () => {
    certbotRenew(keys.d!);
    expect(await servedWithin(rr(keys.d!))).toBeLessThan(1000);
    await postfix!.setCertificate(keys.d!.certPath, keys.d!.keyPath);
    await unbound!.flush();
    const r = await posttlsFinger(ns!.name, 'example.com');
    expect(r, context(r)).toMatchObject({ verified: true, matchedDane: true, matchedTlsa: rr(keys.d!) });
    const c = await check();
    expect(c.stdout).toMatch(/^result {2}_25\._tcp\.mail\.example\.com\. ok$/m);
  });

  it('(6) a host without TLSA: the resolver gives a secure NXDOMAIN for its _25._tcp name, never bogus', async () => {
    const out = await ns!.run('kdig', ['+dnssec', '@127.0.0.1', `_25._tcp.plain.${ZONE}`, 'TLSA']);
    expect(out).toMatch(/status: NXDOMAIN/);
    expect(out).toMatch(/;; Flags: qr rd ra ad;/);
    const r = await posttlsFinger(ns!.name, '[plain.example.com]');
    expect(r, context(r)).toMatchObject({ verified: false, noTlsa: true, dnssecFailure: false, tlsaRecords: [] });
  });
});
