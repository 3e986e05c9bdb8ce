/**
 * SMTP DANE end to end, with real pieces only, inside a private network namespace (helpers/netns.ts):
 *   dane-ns (127.0.0.1:5353 in the namespace) serves and signs example.com with hand-written TLSA 3 1 1 records
 *   for _25._tcp.mail.example.com (an EC and an RSA key);
 *   Unbound (127.0.0.1:53, the namespace's system resolver) validates it from the DS that `dane-ns ds` prints;
 *   Postfix smtpd (127.0.0.1:25) offers STARTTLS with a self-signed certificate (helpers/postfix.ts);
 *   posttls-finger (-l dane) looks up MX, A and TLSA through the system resolver and checks the certificate
 *   (helpers/posttls.ts).
 * Cases: a published key verifies (via MX and via [host], EC and RSA); an unpublished key does not; a host
 * without TLSA gets a validated "no TLSA" (NXDOMAIN and NODATA), not a DNSSEC failure; a wrong trust anchor
 * (bogus) and no trust anchor (insecure) are DNSSEC failures, never "no TLSA" or verified.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
let dane: DaneNsInstance | undefined;
let unbound: UnboundInstance | undefined;
let postfix: PostfixInstance | undefined;
let good: CertPair;
let other: CertPair;
let rsa: CertPair;
let anchors: string[] = [];

function zoneYaml(tlsa: string[]): string {
  return [
    `origin: ${ZONE}`,
    'ttl: 300',
    'soa:',
    '  mname: ns1',
    `  rname: hostmaster@${ZONE.slice(0, -1)}`,
    '  serial: 2026112301',
    '  minimum: 60',
    'records:',
    '  "@":',
    '    NS: ns1',
    '    MX: "10 mail"',
    '  ns1:',
    '    A: 127.0.0.1',
    '  mail:',
    '    A: 127.0.0.1',
    '  _25._tcp.mail:',
    `    TLSA: [${tlsa.map((t) => `"${t}"`).join(', ')}]`,
    '  plain:',
    '    A: 127.0.0.1',
    '  nodata:',
    '    A: 127.0.0.1',
    '  _25._tcp.nodata:',
    '    TXT: not a TLSA record',
    '',
  ].join('\n');
}

beforeAll(async () => {
  for (const tool of [
    'ip',
    'unbound',
    'unbound-control',
    'unbound-checkconf',
    'kdig',
    'postfix',
    'postconf',
    'posttls-finger',
    'openssl',
  ])
    requireTool(tool);
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-smtp-'));
  const certs = join(dir, 'certs');
  [good, other, rsa] = await Promise.all([
    makeCert(certs, { name: 'good', kind: 'ec' }),
    makeCert(certs, { name: 'other', kind: 'ec' }),
    makeCert(certs, { name: 'rsa', kind: 'rsa' }),
  ]);
  ns = await createNetns();
  const zonesDir = join(dir, 'zones');
  mkdirSync(zonesDir);
  writeFileSync(join(zonesDir, `${ZONE}yaml`), zoneYaml([`3 1 1 ${good.tlsa311}`, `3 1 1 ${rsa.tlsa311}`]));
  const keysDir = join(dir, 'keys');
  dane = await startDaneNs({ zonesDir, port: DANE_PORT, keysDir, stateDir: join(dir, 'state'), netns: ns.name });
  anchors = (await exec(process.execPath, [CLI, 'ds', ZONE, '--keys', keysDir])).trim().split('\n');
  unbound = await startUnbound({
    port: 53,
    stubs: [{ zone: ZONE, addr: `127.0.0.1@${DANE_PORT}` }],
    trustAnchors: anchors,
    netns: ns.name,
  });
  postfix = await startPostfix({ netns: ns.name, certPath: good.certPath, keyPath: good.keyPath });
});

afterAll(async () => {
  await postfix?.stop();
  await unbound?.stop();
  await dane?.stop();
  await ns?.destroy();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const rr = (c: CertPair): string => `3 1 1 ${c.tlsa311}`;
const context = (r: PosttlsResult): string =>
  `${r.command}\n${r.raw}\n--- unbound log ---\n${unbound?.logs().slice(-4000) ?? ''}`;

async function restartUnbound(trustAnchors: string[]): Promise<void> {
  await unbound?.stop();
  unbound = undefined;
  unbound = await startUnbound({
    port: 53,
    stubs: [{ zone: ZONE, addr: `127.0.0.1@${DANE_PORT}` }],
    trustAnchors,
    netns: ns!.name,
  });
}

describe('SMTP DANE through dane-ns, Unbound, Postfix and posttls-finger', () => {
  it('the matching EC key is a verified DANE connection, via the MX lookup and via [host]', async () => {
    for (const target of ['example.com', '[mail.example.com]']) {
      const r = await posttlsFinger(ns!.name, target);
      expect(r, context(r)).toMatchObject({
        verified: true,
        matchedDane: true,
        noTlsa: false,
        dnssecFailure: false,
        matchedTlsa: rr(good),
      });
      expect([...r.tlsaRecords].sort(), context(r)).toEqual([rr(good), rr(rsa)].sort());
    }
  });

  it('the other published key (RSA) verifies too once Postfix presents it', async () => {
    await postfix!.setCertificate(rsa.certPath, rsa.keyPath);
    expect(await postfix!.presentedTlsa311()).toBe(rsa.tlsa311);
    const r = await posttlsFinger(ns!.name, 'example.com');
    expect(r, context(r)).toMatchObject({
      verified: true,
      matchedDane: true,
      dnssecFailure: false,
      matchedTlsa: rr(rsa),
    });
  });

  it('a key that no TLSA record names is not verified (the TLSA RRset itself is still secure)', async () => {
    await postfix!.setCertificate(other.certPath, other.keyPath);
    expect(await postfix!.presentedTlsa311()).toBe(other.tlsa311);
    const r = await posttlsFinger(ns!.name, '[mail.example.com]');
    expect(r, context(r)).toMatchObject({
      verified: false,
      matchedDane: false,
      noTlsa: false,
      dnssecFailure: false,
      matchedTlsa: null,
    });
    expect(r.tlsaRecords.length, context(r)).toBe(2);
    expect(r.raw, context(r)).toMatch(/no matching DANE TLSA records/);
    // And back: the restart in setCertificate really serves the new certificate on the next connection.
    await postfix!.setCertificate(good.certPath, good.keyPath);
    const back = await posttlsFinger(ns!.name, '[mail.example.com]');
    expect(back, context(back)).toMatchObject({ verified: true, matchedTlsa: rr(good) });
  });

  it('a host without TLSA gets a validated "no TLSA" (NXDOMAIN and NODATA), not a DNSSEC failure', async () => {
    for (const target of ['[plain.example.com]', '[nodata.example.com]']) {
      const r = await posttlsFinger(ns!.name, target);
      expect(r, context(r)).toMatchObject({
        verified: false,
        matchedDane: false,
        noTlsa: true,
        dnssecFailure: false,
        tlsaRecords: [],
      });
    }
  });

  it('a wrong trust anchor is a DNSSEC failure (bogus: SERVFAIL), never "no TLSA" or verified', async () => {
    const wrong = anchors.map((l) =>
      l.replace(
        /([0-9A-Fa-f])([0-9A-Fa-f]{7})\s*$/,
        (_m, c: string, rest: string) => `${c === '0' ? '1' : '0'}${rest}`,
      ),
    );
    expect(wrong).not.toEqual(anchors);
    await restartUnbound(wrong);
    for (const target of ['example.com', '[mail.example.com]', '[plain.example.com]']) {
      const r = await posttlsFinger(ns!.name, target);
      expect(r, context(r)).toMatchObject({ verified: false, matchedDane: false, noTlsa: false, dnssecFailure: true });
    }
  });

  it('without a trust anchor (insecure answers) posttls-finger skips DANE: a DNSSEC failure, not "no TLSA"', async () => {
    await restartUnbound([]);
    for (const target of ['[mail.example.com]', '[plain.example.com]']) {
      const r = await posttlsFinger(ns!.name, target);
      expect(r, context(r)).toMatchObject({
        verified: false,
        matchedDane: false,
        noTlsa: false,
        dnssecFailure: true,
        tlsaRecords: [],
      });
    }
  });
});
