/**
 * sign.ts and sigcache.ts: the RFC 6605 §6.1 P-256 vectors (after miekg's TestRFC6605P256: verify the RFC's
 * RRSIG, sign the same RRset, compare every field but the randomized signature), a cross-check with an
 * independent ECDSA implementation (@noble/curves), RRSIG serial time arithmetic (RFC 4034 §3.1.5), a small
 * signed zone checked by the real verifiers ldns-verify-zone and dnssec-verify, and the signature cache over
 * 30 simulated days and across a reload.
 */
import { execFileSync } from 'node:child_process';
import { createECDH, createPrivateKey, generateKeyPairSync, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { parseRrsig, rrsigLabels, signedData } from '../../src/dnssec/canonical.js';
import {
  DEFAULT_SIGNATURE_POLICY,
  digestJitter,
  rrsetDigest,
  SignatureCache,
  type CachedSignature,
  type SignaturePolicy,
} from '../../src/dnssec/sigcache.js';
import {
  p256PublicKey,
  rrsigCurrent,
  rrsigToTime,
  SignError,
  signRRset,
  timeToRrsig,
  verifyRRsig,
  type SigningKey,
} from '../../src/dnssec/sign.js';
import { compareNames, nameToText, parseName, type Name } from '../../src/wire/name.js';
import { rdataFromText, rdataToText } from '../../src/wire/rdata.js';
import { T, typeFromText, typeToText } from '../../src/wire/types.js';
import type { RRset } from '../../src/zone/zone.js';

// ---- helpers ------------------------------------------------------------------------------------------------

function rrset(owner: string, type: string, ttl: number, texts: string[]): RRset {
  const t = typeFromText(type);
  return { owner: parseName(owner), type: t, ttl, rdatas: texts.map((x) => rdataFromText(t, x, null)) };
}

/** RFC 4034 Appendix B key tag (algorithm != 1), test-local so the test does not depend on keys.ts. */
function keyTag(dnskeyRdata: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < dnskeyRdata.length; i++) ac += i & 1 ? dnskeyRdata[i]! : dnskeyRdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** The 64-octet x || y of a P-256 public or private KeyObject. */
function publicKey64(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array([...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')]);
}

function dnskeyRdata(flags: number, pub64: Uint8Array): Uint8Array {
  return new Uint8Array([flags >> 8, flags & 0xff, 3, 13, ...pub64]);
}

/** A fresh P-256 key for `zone` with its DNSKEY rdata (flags 257 = KSK/CSK, 256 = ZSK). */
function freshKey(zone: string, flags = 257): SigningKey & { publicKey: Uint8Array; dnskey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = publicKey64(privateKey);
  const dnskey = dnskeyRdata(flags, publicKey);
  return { zone: parseName(zone), tag: keyTag(dnskey), privateKey, publicKey, dnskey };
}

/** noble verification: SHA-256 from @noble/hashes, then ECDSA on the digest; high-S accepted like DNSSEC does. */
function nobleVerify(rrsigRdata: Uint8Array, rs: RRset, pub64: Uint8Array, owner?: Name): boolean {
  const f = parseRrsig(rrsigRdata);
  const digest = sha256(signedData(f.header, rs, owner));
  const point = new Uint8Array([4, ...pub64]);
  return p256.verify(f.signature, digest, point, { prehash: false, lowS: false });
}

function fieldsWithoutSignature(rdata: Uint8Array): Record<string, unknown> {
  const { signature: _s, header: _h, signer, ...rest } = parseRrsig(rdata);
  return { ...rest, signer: nameToText(signer) };
}

const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number): number =>
  Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
const TWO_32 = 2 ** 32;
const DAY = 86_400;

// ---- RFC 6605 §6.1 --------------------------------------------------------------------------------------------

// RFC 6605 §6.1 (P-256): the example.net. key, its private scalar, and the RRSIG over www.example.net. A.
const RFC6605 = {
  dnskey:
    'example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==',
  privateKey: 'GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=',
  a: 'www.example.net. 3600 IN A 192.0.2.1',
  rrsig:
    'www.example.net. 3600 IN RRSIG A 13 3 3600 20100909100439 20100812100439 55648 example.net. ' +
    'qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXA yGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==',
  tag: 55648,
  expiration: utc(2010, 9, 9, 10, 4, 39),
  inception: utc(2010, 8, 12, 10, 4, 39),
};

/** "owner ttl IN TYPE rdata..." -> [owner, ttl, type, rdata text]. */
function splitRR(line: string): [string, number, number, string] {
  const [owner, ttl, cls, type, ...rest] = line.split(/\s+/);
  expect(cls).toBe('IN');
  return [owner!, Number(ttl), typeFromText(type!), rest.join(' ')];
}

/** Builds the RFC's private key from its base64 scalar: ECDH derives the public point, then a JWK (x, y, d). */
function rfcPrivateKey(): { key: KeyObject; pub: Buffer } {
  const d = Buffer.from(RFC6605.privateKey, 'base64');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey(); // 0x04 || x || y
  const key = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
      d: d.toString('base64url'),
    },
    format: 'jwk',
  });
  return { key, pub };
}

describe('RFC 6605 §6.1 P-256 example', () => {
  const [kOwner, , kType, kText] = splitRR(RFC6605.dnskey);
  const dnskey = rdataFromText(kType, kText, null);
  const pub64 = dnskey.subarray(4);
  const [aOwner, aTtl, aType, aText] = splitRR(RFC6605.a);
  const rs: RRset = { owner: parseName(aOwner), type: aType, ttl: aTtl, rdatas: [rdataFromText(aType, aText, null)] };
  const [, , sType, sText] = splitRR(RFC6605.rrsig);
  const published = rdataFromText(sType, sText, null);
  const { key, pub } = rfcPrivateKey();
  const signingKey: SigningKey = { zone: parseName(kOwner), tag: keyTag(dnskey), privateKey: key };

  it('has the key tag 55648 and a private key that matches the DNSKEY', () => {
    expect(keyTag(dnskey)).toBe(RFC6605.tag);
    expect(Buffer.from(pub.subarray(1)).equals(Buffer.from(pub64))).toBe(true);
  });

  it('(1) verifies the published RRSIG: canonical form and header are right', () => {
    expect(verifyRRsig(rs, published, pub64)).toBe(true);
    expect(nobleVerify(published, rs, pub64)).toBe(true);
  });

  it('(2) signs the same RRset with every RRSIG field equal but the randomized signature', () => {
    const ours = signRRset(rs, signingKey, { inception: RFC6605.inception, expiration: RFC6605.expiration });
    expect(fieldsWithoutSignature(ours)).toEqual(fieldsWithoutSignature(published));
    expect(Buffer.from(parseRrsig(ours).header).equals(Buffer.from(parseRrsig(published).header))).toBe(true);
    expect(ours.length).toBe(published.length);
    expect(Buffer.from(parseRrsig(ours).signature).equals(Buffer.from(parseRrsig(published).signature))).toBe(false);
  });

  it('(3) our signature verifies with node:crypto and with @noble/curves', () => {
    for (let i = 0; i < 8; i++) {
      const ours = signRRset(rs, signingKey, { inception: RFC6605.inception, expiration: RFC6605.expiration });
      const f = parseRrsig(ours);
      expect(f.signature.length).toBe(64);
      expect(verifyRRsig(rs, ours, pub64)).toBe(true);
      expect(
        cryptoVerify(
          'sha256',
          signedData(f.header, rs),
          { key: p256PublicKey(pub64), dsaEncoding: 'ieee-p1363' },
          f.signature,
        ),
      ).toBe(true);
      expect(nobleVerify(ours, rs, pub64)).toBe(true);
    }
  });

  it('the published RRSIG also verifies for an upper-case copy of the RRset (RFC 4034 §6.2)', () => {
    const upper: RRset = { ...rs, owner: parseName('WWW.EXAMPLE.NET.') };
    expect(verifyRRsig(upper, published, pub64)).toBe(true);
  });

  it.each<[string, () => [RRset, Uint8Array, Uint8Array]]>([
    ['another address', () => [rrset('www.example.net.', 'A', 3600, ['192.0.2.2']), published, pub64]],
    ['another owner', () => [rrset('ftp.example.net.', 'A', 3600, ['192.0.2.1']), published, pub64]],
    [
      'another original TTL',
      () => {
        const b = published.slice();
        b[7]! ^= 1;
        return [rs, b, pub64];
      },
    ],
    [
      'a flipped signature bit',
      () => {
        const b = published.slice();
        b[b.length - 1]! ^= 1;
        return [rs, b, pub64];
      },
    ],
    ['a truncated signature', () => [rs, published.subarray(0, published.length - 1), pub64]],
    [
      'algorithm 8 in the RRSIG',
      () => {
        const b = published.slice();
        b[2] = 8;
        return [rs, b, pub64];
      },
    ],
    ['another key', () => [rs, published, freshKey('example.net.').publicKey]],
    ['a key of 63 octets', () => [rs, published, pub64.subarray(1)]],
    ['a point not on the curve', () => [rs, published, new Uint8Array(64).fill(1)]],
    ['garbage rdata', () => [rs, new Uint8Array([1, 2, 3]), pub64]],
    [
      'an RRSIG that covers AAAA',
      () => {
        const b = published.slice();
        b[1] = 28;
        return [rs, b, pub64];
      },
    ],
  ])('rejects %s (false, no exception)', (_what, make) => {
    const [r, sig, k] = make();
    expect(verifyRRsig(r, sig, k)).toBe(false);
  });
});

// ---- signRRset ------------------------------------------------------------------------------------------------

describe('signRRset', () => {
  const key = freshKey('example.');
  const window = { inception: 1_700_000_000, expiration: 1_700_000_000 + 14 * DAY };

  it('signs the wildcard RRset at *.a.example. with Labels 2; expansions verify (RFC 4035 §5.3.2)', () => {
    const rs = rrset('*.a.example.', 'A', 300, ['192.0.2.80']);
    const sig = signRRset(rs, key, window);
    expect(parseRrsig(sig).labels).toBe(2);
    expect(rrsigLabels(rs.owner)).toBe(2);
    expect(verifyRRsig(rs, sig, key.publicKey)).toBe(true);
    for (const q of ['x.a.example.', 'x.y.a.example.']) {
      const expanded: RRset = { ...rs, owner: parseName(q) };
      expect(verifyRRsig(expanded, sig, key.publicKey), q).toBe(true);
      expect(nobleVerify(sig, expanded, key.publicKey), q).toBe(true);
    }
    // ... but not a name the wildcard cannot have produced
    expect(verifyRRsig({ ...rs, owner: parseName('x.b.example.') }, sig, key.publicKey)).toBe(false);
  });

  it('uses the RRset TTL as Original TTL and the key zone as signer', () => {
    const rs = rrset('Mail.Example.', 'MX', 1234, ['10 Mx.Example.']);
    const f = parseRrsig(signRRset(rs, { ...key, zone: parseName('EXAMPLE.') }, window));
    expect([f.originalTtl, nameToText(f.signer), f.keyTag, f.typeCovered, f.algorithm]).toEqual([
      1234,
      'example.',
      key.tag,
      T.MX,
      13,
    ]);
  });

  it.each<[string, () => unknown, string]>([
    [
      'an owner outside the zone',
      () => signRRset(rrset('www.example.net.', 'A', 1, ['192.0.2.1']), key, window),
      'E_SIGN_OWNER',
    ],
    [
      'an RRSIG RRset',
      () => signRRset({ owner: parseName('example.'), type: T.RRSIG, ttl: 1, rdatas: [] }, key, window),
      'E_SIGN_TYPE',
    ],
    [
      'an Ed25519 key',
      () =>
        signRRset(
          rrset('example.', 'A', 1, ['192.0.2.1']),
          { ...key, privateKey: generateKeyPairSync('ed25519').privateKey },
          window,
        ),
      'E_SIGN_KEY',
    ],
    [
      'a P-384 key',
      () =>
        signRRset(
          rrset('example.', 'A', 1, ['192.0.2.1']),
          { ...key, privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey },
          window,
        ),
      'E_SIGN_KEY',
    ],
    [
      'a public key',
      () =>
        signRRset(
          rrset('example.', 'A', 1, ['192.0.2.1']),
          { ...key, privateKey: p256PublicKey(key.publicKey) },
          window,
        ),
      'E_SIGN_KEY',
    ],
    [
      'expiration before inception',
      () => signRRset(rrset('example.', 'A', 1, ['192.0.2.1']), key, { inception: 10, expiration: 5 }),
      'E_SIGN_WINDOW',
    ],
    [
      'an empty window',
      () => signRRset(rrset('example.', 'A', 1, ['192.0.2.1']), key, { inception: 10, expiration: 10 }),
      'E_SIGN_WINDOW',
    ],
    [
      'a window of 2^31 s',
      () => signRRset(rrset('example.', 'A', 1, ['192.0.2.1']), key, { inception: 0, expiration: 2 ** 31 }),
      'E_SIGN_WINDOW',
    ],
    [
      'fractional seconds',
      () => signRRset(rrset('example.', 'A', 1, ['192.0.2.1']), key, { inception: 0.5, expiration: 100 }),
      'E_SIGN_WINDOW',
    ],
  ])('refuses %s', (_what, f, code) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SignError);
    expect((err as SignError).code).toBe(code);
  });
});

// ---- time -----------------------------------------------------------------------------------------------------

describe('RRSIG time arithmetic (RFC 4034 §3.1.5, RFC 1982)', () => {
  it.each<[number, number]>([
    [0, 0],
    [1_700_000_000, 1_700_000_000],
    [TWO_32 - 1, TWO_32 - 1],
    [TWO_32, 0],
    [TWO_32 + 5, 5],
    [-1, TWO_32 - 1],
    [3 * TWO_32 + 7, 7],
  ])('timeToRrsig(%d) = %d', (s, v) => {
    expect(timeToRrsig(s)).toBe(v);
  });

  it('maps wire times back to the epoch nearest to now', () => {
    expect(rrsigToTime(5, TWO_32 - 100)).toBe(TWO_32 + 5);
    expect(rrsigToTime(TWO_32 - 11, TWO_32 + 3)).toBe(TWO_32 - 11);
    expect(rrsigToTime(RFC6605.expiration, RFC6605.inception)).toBe(RFC6605.expiration);
  });

  it('signs and checks a window across the 2106 wrap of the 32-bit field', () => {
    const key = freshKey('example.');
    const rs = rrset('example.', 'TXT', 300, ['"2106"']);
    const sig = signRRset(rs, key, { inception: TWO_32 - 3600, expiration: TWO_32 + 14 * DAY });
    const f = parseRrsig(sig);
    expect([f.inception, f.expiration]).toEqual([TWO_32 - 3600, 14 * DAY]);
    expect(rdataToText(T.RRSIG, sig)).toContain(' 13 1 300 ');
    expect(verifyRRsig(rs, sig, key.publicKey)).toBe(true);
    expect(rrsigCurrent(sig, TWO_32 - 1800)).toBe(true);
    expect(rrsigCurrent(sig, TWO_32 + 1000)).toBe(true);
    expect(rrsigCurrent(sig, TWO_32 + 14 * DAY)).toBe(true);
    expect(rrsigCurrent(sig, TWO_32 + 14 * DAY + 1)).toBe(false);
    expect(rrsigCurrent(sig, TWO_32 - 3601)).toBe(false);
  });

  it('signs a window across 2038-01-19 (2^31) without sign trouble', () => {
    const key = freshKey('example.');
    const rs = rrset('example.', 'TXT', 300, ['"2038"']);
    const sig = signRRset(rs, key, { inception: 2 ** 31 - 10, expiration: 2 ** 31 + 10 });
    expect([parseRrsig(sig).inception, parseRrsig(sig).expiration]).toEqual([2 ** 31 - 10, 2 ** 31 + 10]);
    expect(rrsigCurrent(sig, 2 ** 31)).toBe(true);
    expect(verifyRRsig(rs, sig, key.publicKey)).toBe(true);
  });
});

// ---- external verifiers ---------------------------------------------------------------------------------------

/** Runs a verifier; returns its exit status and output. A missing tool throws (ENOENT): the test fails. */
function run(cmd: string, args: string[]): { status: number; output: string } {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return { status: 0, output: out };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number | null; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed (Debian: ldnsutils / bind9-utils)`);
    return { status: err.status ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('a small signed zone passes ldns-verify-zone and dnssec-verify', () => {
  const ORIGIN = 'dane.example.';
  const HASH = 'a9cd5a8dbeb5fd0e4c9b0ab3a5ec8d0f7e7e63e0b1a6d2bb1c9f4a8c2c2e1f0d';
  // One row per RR; RRsets of several types, non-canonical order and mixed case on purpose.
  const RRS: [string, number, string, string][] = [
    [ORIGIN, 3600, 'SOA', 'NS1.dane.example. Hostmaster.Dane.Example. 2024010101 7200 3600 1209600 300'],
    [ORIGIN, 3600, 'NS', 'ns1.dane.example.'],
    [ORIGIN, 3600, 'NS', 'NS2.Dane.Example.'],
    [ORIGIN, 3600, 'MX', '20 Mail2.dane.example.'],
    [ORIGIN, 3600, 'MX', '10 MAIL.dane.example.'],
    [ORIGIN, 3600, 'TXT', '"v=spf1 mx -all" "second string"'],
    [ORIGIN, 3600, 'TXT', '"A"'],
    ['mail.dane.example.', 300, 'A', '192.0.2.25'],
    ['mail.dane.example.', 300, 'A', '192.0.2.9'],
    ['Mail2.Dane.example.', 300, 'AAAA', '2001:db8::25'],
    ['_25._tcp.mail.dane.example.', 300, 'TLSA', `3 1 1 ${HASH}`],
    ['_25._tcp.mail.dane.example.', 300, 'TLSA', `2 1 1 ${HASH.toUpperCase()}`],
    ['_xmpp-server._tcp.dane.example.', 3600, 'SRV', '0 5 5269 Mail.Dane.Example.'],
    ['_xmpp-server._tcp.dane.example.', 3600, 'SRV', '0 5 5269 mail2.dane.example.'],
    ['www.dane.example.', 3600, 'CNAME', 'Mail.dane.example.'],
    ['ns1.dane.example.', 3600, 'A', '192.0.2.53'],
    ['ns2.dane.example.', 3600, 'A', '192.0.2.54'],
    ['*.apps.dane.example.', 300, 'A', '192.0.2.80'],
    ['sub.dane.example.', 3600, 'NS', 'ns1.elsewhere.example.'],
    ['sub.dane.example.', 3600, 'DS', `12345 13 2 ${HASH}`],
  ];

  function build(now: number): string {
    // The product's default key set: a KSK (257) signs the DNSKEY RRset, a ZSK (256) everything else.
    const ksk = freshKey(ORIGIN);
    const zsk = freshKey(ORIGIN, 256);
    const sets = new Map<string, { owner: Name; type: number; ttl: number; rdatas: Uint8Array[] }>();
    const add = (owner: Name, type: number, ttl: number, rdata: Uint8Array): void => {
      const k = `${owner.key}/${type}`;
      const s = sets.get(k) ?? { owner, type, ttl, rdatas: [] };
      s.rdatas.push(rdata);
      sets.set(k, s);
    };
    for (const [owner, ttl, type, text] of RRS)
      add(parseName(owner), typeFromText(type), ttl, rdataFromText(typeFromText(type), text, null));
    add(parseName(ORIGIN), T.DNSKEY, 3600, ksk.dnskey);
    add(parseName(ORIGIN), T.DNSKEY, 3600, zsk.dnskey);
    // NSEC chain by hand (RFC 4034 §4): owners in canonical order, next name wraps to the apex, TTL = SOA minimum.
    // The next names keep the owners' case (Mail2.Dane.example.): RFC 6840 §5.1 says they are signed as they are.
    const owners = [...new Map([...sets.values()].map((s) => [s.owner.key, s.owner])).values()].sort(compareNames);
    owners.forEach((o, i) => {
      const next = owners[(i + 1) % owners.length]!;
      const types = [...sets.values()].filter((s) => s.owner.key === o.key).map((s) => s.type);
      const bitmap = [...types, T.RRSIG, T.NSEC]
        .sort((a, b) => a - b)
        .map(typeToText)
        .join(' ');
      add(o, T.NSEC, 300, rdataFromText(T.NSEC, `${nameToText(next)} ${bitmap}`, null));
    });
    const window = { inception: now - 3600, expiration: now + 14 * DAY };
    const lines: string[] = [];
    for (const s of [...sets.values()].sort((a, b) => compareNames(a.owner, b.owner) || a.type - b.type)) {
      for (const r of s.rdatas)
        lines.push(`${nameToText(s.owner)} ${s.ttl} IN ${typeToText(s.type)} ${rdataToText(s.type, r)}`);
      const delegationNs = s.type === T.NS && s.owner.key !== parseName(ORIGIN).key;
      if (delegationNs) continue; // not authoritative: unsigned (RFC 4035 §2.2)
      const key = s.type === T.DNSKEY ? ksk : zsk;
      const sig = signRRset(s, key, window);
      expect(verifyRRsig(s, sig, key.publicKey)).toBe(true);
      lines.push(`${nameToText(s.owner)} ${s.ttl} IN RRSIG ${rdataToText(T.RRSIG, sig)}`);
    }
    return `${lines.join('\n')}\n`;
  }

  function verifyWithTools(text: string): {
    ldns: { status: number; output: string };
    bind: { status: number; output: string };
  } {
    const dir = mkdtempSync(join(tmpdir(), 'dane-ns-sign-'));
    try {
      const file = join(dir, 'dane.example.zone');
      writeFileSync(file, text);
      return {
        ldns: run('ldns-verify-zone', ['-V', '2', file]),
        bind: run('dnssec-verify', ['-x', '-o', ORIGIN, file]), // -x: DNSKEY signed by the KSK only
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // The tools check the signatures against the real clock, so this test signs around the real time.
  const now = Math.floor(Date.now() / 1000);

  it('verifies (MX, NS, SOA, SRV, CNAME, TXT, TLSA, DS, A, AAAA, DNSKEY, NSEC, wildcard)', () => {
    const text = build(now);
    const r = verifyWithTools(text);
    expect(r.ldns.status, `ldns-verify-zone:\n${r.ldns.output}\n${text}`).toBe(0);
    expect(r.bind.status, `dnssec-verify:\n${r.bind.output}\n${text}`).toBe(0);
  });

  it('and the tools do fail on one corrupted signature (the check is not vacuous)', () => {
    const text = build(now);
    const lines = text.split('\n');
    const i = lines.findIndex((l) => / IN RRSIG MX /.test(l));
    expect(i).toBeGreaterThan(0);
    const parts = lines[i]!.split(' ');
    const sigB64 = parts.slice(12).join('');
    const sig = Buffer.from(sigB64, 'base64');
    sig[10]! ^= 0x40;
    lines[i] = [...parts.slice(0, 12), sig.toString('base64')].join(' ');
    const r = verifyWithTools(lines.join('\n'));
    expect(r.ldns.status, r.ldns.output).not.toBe(0);
    expect(r.bind.status, r.bind.output).not.toBe(0);
  });
});

// ---- signature cache ------------------------------------------------------------------------------------------

describe('SignatureCache', () => {
  const key = freshKey('example.');
  const policy = DEFAULT_SIGNATURE_POLICY;
  const T0 = 1_750_000_000;

  function zone(changed = false): RRset[] {
    const out: RRset[] = [
      rrset('example.', 'SOA', 3600, ['ns1.example. hostmaster.example. 1 7200 3600 1209600 300']),
      rrset('example.', 'MX', 3600, ['10 mail.example.', '20 mail2.example.']),
      rrset('example.', 'TXT', 3600, ['"v=spf1 mx -all"']),
      rrset('*.apps.example.', 'A', 300, ['192.0.2.80']),
    ];
    for (let i = 0; i < 40; i++) {
      out.push(rrset(`host${i}.example.`, 'A', 300, [`192.0.2.${i === 7 && changed ? 200 : i}`]));
      out.push(rrset(`_25._tcp.host${i}.example.`, 'TLSA', 300, [`3 1 1 ${i.toString(16).padStart(64, '0')}`]));
    }
    return out;
  }

  // get() returns a value, not the cached object: an equal value (the same RRSIG octets, which ECDSA's random
  // nonce makes unique to one signing) is the cached signature, an unequal one a fresh signature.
  it('answers a second request from the cache, also for an equal RRset in another case and order', () => {
    const c = new SignatureCache();
    const rs = rrset('example.', 'MX', 3600, ['10 mail.example.', '20 mail2.example.']);
    const first = c.get(rs, key, T0, policy);
    expect(c.get(rs, key, T0 + DAY, policy)).toEqual(first);
    expect(c.get(rrset('EXAMPLE.', 'MX', 3600, ['20 Mail2.example.', '10 MAIL.example.']), key, T0, policy)).toEqual(
      first,
    );
    expect([c.hits, c.misses, c.size]).toEqual([2, 1, 1]);
    expect(verifyRRsig(rs, first.rrsig, key.publicKey)).toBe(true);
    // A TTL change is a change of the signed data (Original TTL): new signature
    expect(c.get({ ...rs, ttl: 60 }, key, T0, policy)).not.toEqual(first);
    // so is another key
    expect(c.get(rs, { ...key, tag: (key.tag + 1) & 0xffff }, T0, policy)).not.toEqual(first);
    expect([c.hits, c.misses, c.size]).toEqual([2, 3, 3]);
  });

  it('sets inception = now - offset and expiration = now + validity - jitter', () => {
    const c = new SignatureCache();
    const rs = rrset('example.', 'TXT', 3600, ['"x"']);
    const s = c.get(rs, key, T0, policy);
    const jitter = policy.jitter(rrsetDigest(rs));
    expect(jitter).toBeGreaterThanOrEqual(0);
    expect(jitter).toBeLessThan(DAY);
    expect([s.inception, s.expiration]).toEqual([T0 - 3600, T0 + 14 * DAY - jitter]);
    expect([parseRrsig(s.rrsig).inception, parseRrsig(s.rrsig).expiration]).toEqual([s.inception, s.expiration]);
  });

  it('re-signs exactly when less than refreshBefore remains', () => {
    const c = new SignatureCache();
    const rs = rrset('example.', 'TXT', 3600, ['"refresh"']);
    const s = c.get(rs, key, T0, policy);
    const due = s.expiration - policy.refreshBefore;
    expect(c.get(rs, key, due, policy)).toEqual(s);
    const renewed = c.get(rs, key, due + 1, policy);
    expect(renewed).not.toEqual(s);
    expect(renewed.inception).toBe(due + 1 - 3600);
    expect([c.hits, c.misses]).toEqual([1, 2]);
  });

  it('re-signs when the clock went back before the cached inception + offset', () => {
    const c = new SignatureCache();
    const rs = rrset('example.', 'TXT', 3600, ['"back"']);
    const s = c.get(rs, key, T0, policy);
    const earlier = c.get(rs, key, T0 - 10, policy);
    expect(earlier).not.toEqual(s);
    expect(earlier.inception).toBe(T0 - 10 - 3600);
  });

  it('keeps every served RRSIG valid across 30 simulated days', () => {
    const c = new SignatureCache();
    const rrsets = zone();
    for (let now = T0; now <= T0 + 30 * DAY; now += 3 * 3600) {
      for (const rs of rrsets) {
        const s = c.get(rs, key, now, policy);
        expect(s.inception).toBeLessThanOrEqual(now - policy.inceptionOffset);
        expect(s.expiration).toBeGreaterThanOrEqual(now + policy.refreshBefore);
        expect(rrsigCurrent(s.rrsig, now)).toBe(true);
      }
    }
    // every RRset is re-signed about every 6-7 days (validity 14 d - jitter < 1 d - refresh 7 d): 5 to 6 times
    expect(c.misses).toBeGreaterThanOrEqual(rrsets.length * 5);
    expect(c.misses).toBeLessThanOrEqual(rrsets.length * 6);
    // and the last signatures verify cryptographically
    for (const rs of rrsets)
      expect(verifyRRsig(rs, c.get(rs, key, T0 + 30 * DAY, policy).rrsig, key.publicKey)).toBe(true);
  });

  it('a reload where one record changed re-signs only that RRset; prune drops the stale entry', () => {
    const c = new SignatureCache();
    const before = zone();
    for (const rs of before) c.get(rs, key, T0, policy);
    expect([c.hits, c.misses, c.size]).toEqual([0, before.length, before.length]);
    const after = zone(true); // freshly parsed objects: the cache matches content, not identity
    const live = new Set<string>();
    for (const rs of after) live.add(c.get(rs, key, T0 + 600, policy).digest);
    expect([c.hits, c.misses]).toEqual([before.length - 1, before.length + 1]);
    expect(c.size).toBe(before.length + 1);
    expect(c.prune(live)).toBe(1);
    expect(c.size).toBe(after.length);
    for (const rs of after) c.get(rs, key, T0 + 1200, policy);
    expect(c.misses).toBe(before.length + 1);
  });

  it('forgetKey drops the signatures of one key and keeps those of the other', () => {
    const c = new SignatureCache();
    const other = { ...key, tag: (key.tag + 1) & 0xffff };
    const sets = Array.from({ length: 300 }, (_, i) => rrset(`f${i}.example.`, 'A', 300, [`192.0.2.${i % 250}`]));
    const kept = sets.map((rs) => [c.get(rs, key, T0, policy), c.get(rs, other, T0, policy)] as const);
    expect(c.forgetKey(other)).toBe(300);
    expect(c.forgetKey(other)).toBe(0);
    expect(c.size).toBe(300);
    for (const [i, rs] of sets.entries()) expect(c.get(rs, key, T0 + 60, policy)).toEqual(kept[i]![0]);
    expect(c.get(sets[0]!, other, T0 + 60, policy)).not.toEqual(kept[0]![1]);
  });

  it('keeps thousands of entries under two keys apart through growth and prune', () => {
    const c = new SignatureCache();
    const other = { ...key, tag: (key.tag + 1) & 0xffff };
    const sets = Array.from({ length: 2500 }, (_, i) => rrset(`h${i}.example.`, 'A', 300, [`192.0.2.${i % 250}`]));
    const first = new Map<string, CachedSignature>();
    for (const [i, rs] of sets.entries()) {
      first.set(`a${i}`, c.get(rs, key, T0, policy));
      first.set(`b${i}`, c.get(rs, other, T0, policy));
    }
    expect([c.hits, c.misses, c.size]).toEqual([0, 5000, 5000]);
    for (const [i, rs] of sets.entries()) {
      expect(c.get(rs, key, T0 + 60, policy)).toEqual(first.get(`a${i}`));
      expect(c.get(rs, other, T0 + 60, policy)).toEqual(first.get(`b${i}`));
    }
    expect(c.hits).toBe(5000);
    // Keep the even-numbered RRsets (under both keys): the odd ones are signed again afterwards.
    const live = new Set(sets.filter((_, i) => i % 2 === 0).map((rs) => c.get(rs, key, T0, policy).digest));
    expect(c.prune(live)).toBe(2500);
    expect(c.size).toBe(2500);
    for (const [i, rs] of sets.entries()) {
      const again = c.get(rs, other, T0 + 120, policy);
      if (i % 2 === 0) expect(again).toEqual(first.get(`b${i}`));
      else expect(again).not.toEqual(first.get(`b${i}`));
    }
    expect([c.size, c.misses]).toEqual([3750, 6250]);
    expect(verifyRRsig(sets[2499]!, c.get(sets[2499]!, other, T0, policy).rrsig, other.publicKey)).toBe(true);
  });

  it('spreads expirations with a jitter in [0, validity / 14) derived from the RRset digest', () => {
    const j = digestJitter(DAY);
    const values = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const d = rrsetDigest(rrset(`h${i}.example.`, 'A', 300, ['192.0.2.1']));
      const v = j(d);
      expect(Number.isInteger(v) && v >= 0 && v < DAY).toBe(true);
      expect(j(d)).toBe(v); // deterministic
      values.add(Math.floor(v / 3600));
    }
    expect(values.size).toBe(24); // every hour of the day is used
    expect(digestJitter(0)(new Uint8Array(32))).toBe(0);
  });

  it.each<[string, Partial<SignaturePolicy>]>([
    ['a jitter that eats the reuse period', { jitter: () => 7 * DAY }],
    ['a negative jitter', { jitter: () => -1 }],
    ['a fractional jitter', { jitter: () => 0.5 }],
    ['refreshBefore >= validity', { refreshBefore: 14 * DAY, jitter: () => 0 }],
  ])('refuses %s', (_what, over) => {
    const c = new SignatureCache();
    expect(() => c.get(rrset('example.', 'TXT', 1, ['"p"']), key, T0, { ...policy, ...over })).toThrow(SignError);
  });
});
