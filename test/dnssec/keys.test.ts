/**
 * Tests for src/dnssec/keys.ts and src/dnssec/ds.ts: the RFC 6605 §6.1 P-256 example field by field, key tags
 * (RFC 4034 Appendix B) and DS digests (RFC 4034 §5.1.4, RFC 4509, RFC 6605 §6.2) from published vectors,
 * generated keys, and a cross-check of node:crypto against @noble/curves (an independent P-256 implementation).
 */
import {
  createPublicKey,
  createSign,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import { inspect } from 'node:util';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { dsRdata, dsText } from '../../src/dnssec/ds.js';
import { parsePrivateFile } from '../../src/dnssec/keyfile.js';
import {
  dnskeyRdata,
  generateKey,
  KeyError,
  keyTag,
  privateKeyFromScalar,
  privateScalar,
  publicKeyFromPrivate,
} from '../../src/dnssec/keys.js';
import { parseName } from '../../src/wire/name.js';
import { rdataFromText, rdataToText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import { toHex } from '../support/hex.js';

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'base64'));

// RFC 6605 §6.1 (P-256), as published (the .private is in BIND's v1.2 format).
const RFC6605_P256 = {
  privateText:
    'Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n',
  scalar: 'GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=',
  dnskey: `257 3 13 ( GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb
                     krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )`,
  publicKey: 'GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==',
  tag: 55648,
  ds: '55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17',
};

describe('RFC 6605 §6.1 P-256 example', () => {
  const zone = parseName('example.net.');

  it('loads the private key from the .private text and derives the published public key', () => {
    const priv = parsePrivateFile(RFC6605_P256.privateText);
    expect(priv.format).toBe('v1.2');
    expect(priv.algorithm).toBe(13);
    expect(priv.created).toBeUndefined();
    const pub = publicKeyFromPrivate(priv.privateKey);
    expect(pub.length).toBe(64);
    expect(Buffer.from(pub).toString('base64')).toBe(RFC6605_P256.publicKey);
    expect(toHex(privateScalar(priv.privateKey))).toBe(toHex(b64(RFC6605_P256.scalar)));
  });

  it('builds the DNSKEY rdata, key tag and DS exactly', () => {
    const pub = publicKeyFromPrivate(privateKeyFromScalar(b64(RFC6605_P256.scalar)));
    const rdata = dnskeyRdata(257, pub);
    expect(toHex(rdata)).toBe(toHex(rdataFromText(T.DNSKEY, RFC6605_P256.dnskey, null)));
    expect([rdata[0], rdata[1], rdata[2], rdata[3]]).toEqual([0x01, 0x01, 3, 13]);
    expect(keyTag(rdata)).toBe(RFC6605_P256.tag);
    const ds = dsRdata(zone, rdata);
    expect(toHex(ds)).toBe(toHex(rdataFromText(T.DS, RFC6605_P256.ds, null)));
    expect(rdataToText(T.DS, ds).toLowerCase()).toBe(RFC6605_P256.ds);
    expect(dsText(zone, rdata)).toBe(
      'example.net. 3600 IN DS 55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17',
    );
  });

  it('agrees with @noble/curves on the public point of the scalar', () => {
    const pub = publicKeyFromPrivate(privateKeyFromScalar(b64(RFC6605_P256.scalar)));
    expect(toHex(p256.getPublicKey(b64(RFC6605_P256.scalar), false))).toBe('04' + toHex(pub));
  });
});

describe('keyTag (RFC 4034 Appendix B)', () => {
  // [DNSKEY rdata in presentation form, key tag, source]
  const table: [string, number, string][] = [
    [RFC6605_P256.dnskey, 55648, 'RFC 6605 §6.1 (P-256)'],
    [
      '257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40',
      10771,
      'RFC 6605 §6.2 (P-384)',
    ],
    [
      '256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
      60485,
      'RFC 4034 §5.4 (RSA/SHA-1)',
    ],
    [
      '257 3 13 BKLjoUz7RQRvE57MZ+/KxGVip5sXv/bzbxWuH0WR0Wpl5MAvh+rn8Mw4 7tQAk3zUXXlERcFUphku2fDu6ozysQ==',
      58208,
      'dnssec-keygen 9.18 KSK',
    ],
    [
      '256 3 13 GBNAMz792eCXtyzC5cMcBX8Le67G48TPBS0bemOy2Dhipu8LWDB6phUc mn1ptne3Qt7oxSrQV4pP8cuRqe0g9Q==',
      26729,
      'dnssec-keygen 9.18 ZSK',
    ],
    [
      '257 3 13 nugKHCjFUwHfER0AXHaXaJ2LbT3b5Ab5usH/m8Xl/qS0XVw3Kp6VPtvuvbjKG9i+yvcd/CJj5yiodk3k3F7+Iw==',
      21931,
      'ldns-keygen 1.8 KSK',
    ],
  ];
  it.each(table)('%s -> %i (%s)', (text, tag) => {
    expect(keyTag(rdataFromText(T.DNSKEY, text, null))).toBe(tag);
  });

  it('folds the carry once (all-ones rdata) and handles an odd length', () => {
    expect(keyTag(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0xffff);
    expect(keyTag(new Uint8Array([0x01, 0x00, 0x03, 0x0d, 0xab]))).toBe((0x0100 + 0x030d + 0xab00) & 0xffff);
  });

  it('uses the modulus octets for algorithm 1 (RFC 4034 Appendix B.1)', () => {
    expect(keyTag(new Uint8Array([0x01, 0x00, 0x03, 0x01, 0x01, 0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]))).toBe(0xccdd);
  });
});

describe('dsRdata / dsText', () => {
  const dskey = rdataFromText(
    T.DNSKEY,
    '256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
    null,
  );

  it('SHA-256 of the RFC 4034 §5.4 key matches RFC 4509 §2.3', () => {
    expect(rdataToText(T.DS, dsRdata(parseName('dskey.example.com.'), dskey))).toBe(
      '60485 5 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A',
    );
  });

  it('hashes the owner in canonical (lower-case) form', () => {
    const a = dsRdata(parseName('dskey.example.com.'), dskey);
    const b = dsRdata(parseName('DSKey.EXAMPLE.Com.'), dskey);
    expect(toHex(b)).toBe(toHex(a));
    expect(dsText(parseName('DSKey.EXAMPLE.Com.'), dskey, 2, 86400)).toMatch(
      /^DSKey\.EXAMPLE\.Com\. 86400 IN DS 60485 5 2 D4B7D520/,
    );
  });

  it('SHA-384 (digest type 4) of the RFC 6605 §6.2 key matches the RFC', () => {
    const p384 = rdataFromText(
      T.DNSKEY,
      '257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40',
      null,
    );
    expect(rdataToText(T.DS, dsRdata(parseName('example.net.'), p384, 4)).toLowerCase()).toBe(
      '10771 14 4 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6',
    );
  });

  it.each([0, 1, 3, 5, 255])('refuses digest type %i', (t) => {
    expect(() => dsRdata(parseName('example.net.'), dskey, t)).toThrow(KeyError);
    try {
      dsRdata(parseName('example.net.'), dskey, t);
    } catch (e) {
      expect((e as KeyError).code).toBe('E_KEY_ALGORITHM');
    }
  });
});

describe('generateKey', () => {
  const zone = parseName('Example.COM.');
  const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));

  it.each([
    ['ksk', 257],
    ['zsk', 256],
    ['csk', 257],
  ] as const)('%s has flags %i and a consistent DNSKEY', (role, flags) => {
    const k = generateKey(zone, role, now);
    expect(k.role).toBe(role);
    expect(k.flags).toBe(flags);
    expect(k.algorithm).toBe(13);
    expect(k.zone).toBe(zone);
    expect(k.publicKey.length).toBe(64);
    expect(toHex(k.publicKey)).toBe(toHex(publicKeyFromPrivate(k.privateKey)));
    expect(toHex(k.dnskeyRdata)).toBe(toHex(dnskeyRdata(flags, k.publicKey)));
    expect(k.tag).toBe(keyTag(k.dnskeyRdata));
    expect(k.privateKey.type).toBe('private');
    // Times are whole seconds: the key files cannot hold more.
    for (const t of [k.created, k.publish, k.activate]) expect(t.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('makes a different key each time', () => {
    expect(toHex(generateKey(zone, 'zsk', now).publicKey)).not.toBe(toHex(generateKey(zone, 'zsk', now).publicKey));
  });

  it('does not show the private key when the ZoneKey is printed or serialised', () => {
    const k = generateKey(zone, 'ksk', now);
    const d = privateScalar(k.privateKey);
    const secrets = [Buffer.from(d).toString('base64'), Buffer.from(d).toString('base64url'), toHex(d)];
    const shown = [inspect(k, { depth: 10 }), JSON.stringify(k), String(k)];
    for (const s of shown) for (const secret of secrets) expect(s).not.toContain(secret);
  });
});

describe('node:crypto signatures verify with @noble/curves', () => {
  const msg = new TextEncoder().encode('RRSIG signed data stands in here: owner, type, class, TTL, rdata');

  it('ieee-p1363 r||s from our KeyObject verifies against our 64-octet public key', () => {
    for (const key of [
      generateKey(parseName('example.com.'), 'zsk', new Date()),
      generateKey(parseName('example.com.'), 'ksk', new Date()),
    ]) {
      const sig = cryptoSign('sha256', msg, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      expect(sig.length).toBe(64);
      const pub = Uint8Array.from([4, ...key.publicKey]);
      // OpenSSL does not normalise s to the low half, so lowS must be off; prehash false with our own SHA-256.
      expect(p256.verify(sig, sha256(msg), pub, { prehash: false, lowS: false })).toBe(true);
      expect(p256.verify(sig, msg, pub, { lowS: false })).toBe(true);
      const tampered = Uint8Array.from(msg);
      tampered[0]! ^= 1;
      expect(p256.verify(sig, sha256(tampered), pub, { prehash: false, lowS: false })).toBe(false);
    }
  });

  it('the RFC 6605 key signs; a noble signature verifies with node:crypto from our public key', () => {
    const priv = privateKeyFromScalar(b64(RFC6605_P256.scalar));
    const pub = publicKeyFromPrivate(priv);
    const s = createSign('sha256').update(msg).sign({ key: priv, dsaEncoding: 'ieee-p1363' });
    expect(p256.verify(s, sha256(msg), Uint8Array.from([4, ...pub]), { prehash: false, lowS: false })).toBe(true);
    const nobleSig = p256.sign(sha256(msg), b64(RFC6605_P256.scalar), { prehash: false });
    const nodePub = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(pub.subarray(0, 32)).toString('base64url'),
        y: Buffer.from(pub.subarray(32)).toString('base64url'),
      },
      format: 'jwk',
    });
    expect(cryptoVerify('sha256', msg, { key: nodePub, dsaEncoding: 'ieee-p1363' }, nobleSig)).toBe(true);
  });
});

describe('privateKeyFromScalar / publicKeyFromPrivate', () => {
  const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'); // P-256 group order

  it('left-pads a scalar with leading zero octets dropped', () => {
    const d = new Uint8Array(32);
    d[31] = 7;
    expect(toHex(publicKeyFromPrivate(privateKeyFromScalar(d.subarray(31))))).toBe(
      toHex(publicKeyFromPrivate(privateKeyFromScalar(d))),
    );
    expect(toHex(p256.getPublicKey(d, false))).toBe('04' + toHex(publicKeyFromPrivate(privateKeyFromScalar(d))));
  });

  it.each([
    ['zero', new Uint8Array(32)],
    ['the group order', new Uint8Array(n)],
    ['above the group order', new Uint8Array(32).fill(0xff)],
    ['33 octets', new Uint8Array(33).fill(1)],
    ['empty', new Uint8Array(0)],
  ])('rejects %s without quoting it', (_, d) => {
    let err: unknown;
    try {
      privateKeyFromScalar(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyError);
    expect((err as KeyError).code).toBe('E_KEY_INVALID');
    if (d.length > 0) {
      expect((err as KeyError).message).not.toContain(toHex(d));
      expect((err as KeyError).message).not.toContain(Buffer.from(d).toString('base64'));
    }
  });

  it('rejects keys that are not P-256', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    expect(() => publicKeyFromPrivate(p384)).toThrow(/P-256/);
    expect(() => publicKeyFromPrivate(ed)).toThrow(KeyError);
    expect(() => privateScalar(p384)).toThrow(KeyError);
  });
});
