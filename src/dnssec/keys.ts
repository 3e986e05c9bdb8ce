/**
 * Zone signing keys for ECDSA P-256 with SHA-256 (DNSSEC algorithm 13, RFC 6605): key generation, the DNSKEY
 * rdata (RFC 4034 §2.1), the key tag (RFC 4034 Appendix B) and the conversions between node:crypto KeyObjects
 * and the raw forms DNSSEC uses (RFC 6605 §4: the public key is the 64 octets x | y of the curve point, the
 * private key the 32-octet scalar d).
 *
 * Pure apart from the randomness of `generateKey`: no file I/O (keyfile.ts owns the files), no clock (the
 * caller passes `now`), no logging. Private keys stay inside KeyObjects; nothing here puts key material into an
 * error message.
 */
import { createECDH, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Name } from '../wire/name.js';

/** DNSSEC algorithm number of ECDSAP256SHA256 (RFC 6605 §2). The only algorithm dane-ns signs with. */
export const ALG_ECDSAP256SHA256 = 13;
/** DNSKEY protocol field: always 3 (RFC 4034 §2.1.2). */
export const DNSKEY_PROTOCOL = 3;
/** DNSKEY flags: Zone Key bit (RFC 4034 §2.1.1). */
export const FLAGS_ZSK = 256;
/** DNSKEY flags: Zone Key + Secure Entry Point bits (RFC 4034 §2.1.1, RFC 3757). */
export const FLAGS_KSK = 257;
/** Octets of an uncompressed P-256 public key without the 0x04 prefix (RFC 6605 §4). */
export const P256_PUBLIC_KEY_OCTETS = 64;
/** Octets of a P-256 private scalar. */
const P256_PRIVATE_KEY_OCTETS = 32;

export type KeyRole = 'ksk' | 'zsk' | 'csk';
export type KeyFlags = 256 | 257;

/**
 * One key of a zone. `role` says how the key is used: a KSK signs the DNSKEY RRset, a ZSK everything else, a
 * CSK both. Keys loaded from files get 'ksk' for flags 257 and 'zsk' for 256; whether a lone 257 key is a CSK
 * is the caller's decision (it knows the zone's `keys:` setting).
 */
export interface ZoneKey {
  readonly zone: Name;
  readonly role: KeyRole;
  readonly flags: KeyFlags;
  readonly algorithm: typeof ALG_ECDSAP256SHA256;
  /** Key tag of `dnskeyRdata` (RFC 4034 Appendix B). */
  readonly tag: number;
  /** The 64 octets x | y (RFC 6605 §4). */
  readonly publicKey: Uint8Array;
  /** node:crypto private key (EC, P-256). Never serialised except into the key's own .private file. */
  readonly privateKey: KeyObject;
  readonly created: Date;
  readonly publish: Date;
  readonly activate: Date;
  /** DNSKEY rdata: flags, protocol 3, algorithm 13, publicKey. */
  readonly dnskeyRdata: Uint8Array;
}

type KeyErrorCode =
  | 'E_KEY_INVALID' // a key that is not a valid P-256 key (wrong curve, scalar out of range, wrong length)
  | 'E_KEY_ALGORITHM' // an algorithm or digest type dane-ns does not implement
  | 'E_KEY_FILE' // a key file that cannot be written (exists with other content, I/O error)
  | 'E_KEY_ACCESS' // a key file or the keys directory the process may not read (ownership, not a lost key)
  | 'E_KEY_FORMAT'; // a key file that does not parse

/** Typed key errors with stable codes (callers branch on the code). Messages never contain private key material. */
export class KeyError extends Error {
  readonly code: KeyErrorCode;
  constructor(code: KeyErrorCode, message: string) {
    super(message);
    this.name = 'KeyError';
    this.code = code;
  }
}

/** DNSKEY flags for a role: a KSK or CSK carries the SEP bit (257), a ZSK does not (256). */
function flagsForRole(role: KeyRole): KeyFlags {
  return role === 'zsk' ? FLAGS_ZSK : FLAGS_KSK;
}

/**
 * DNSKEY rdata (RFC 4034 §2.1): flags (16 bits), protocol 3, algorithm 13, then the public key field, which
 * for algorithm 13 is the 64 octets x | y (RFC 6605 §4).
 */
export function dnskeyRdata(flags: number, publicKey: Uint8Array, algorithm = ALG_ECDSAP256SHA256): Uint8Array {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffff)
    throw new KeyError('E_KEY_INVALID', `DNSKEY flags ${flags} out of range`);
  if (algorithm === ALG_ECDSAP256SHA256 && publicKey.length !== P256_PUBLIC_KEY_OCTETS)
    throw new KeyError(
      'E_KEY_INVALID',
      `an algorithm ${ALG_ECDSAP256SHA256} public key has ${P256_PUBLIC_KEY_OCTETS} octets, not ${publicKey.length}`,
    );
  const out = new Uint8Array(4 + publicKey.length);
  out[0] = flags >> 8;
  out[1] = flags & 0xff;
  out[2] = DNSKEY_PROTOCOL;
  out[3] = algorithm;
  out.set(publicKey, 4);
  return out;
}

/**
 * Key tag of a DNSKEY rdata (RFC 4034 Appendix B): the one's-complement-style sum of the rdata taken as 16-bit
 * big-endian words, with the carry folded back once, truncated to 16 bits. Algorithm 1 (RSA/MD5) is the
 * exception of Appendix B.1: its tag is the most significant 16 of the least significant 24 bits of the modulus.
 */
export function keyTag(rdata: Uint8Array): number {
  if (rdata.length >= 4 && rdata[3] === 1) {
    if (rdata.length < 7) return 0;
    return (rdata[rdata.length - 3]! << 8) | rdata[rdata.length - 2]!;
  }
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >>> 16) & 0xffff;
  return ac & 0xffff;
}

function fromBase64Url(s: unknown, octets: number, what: string): Uint8Array {
  if (typeof s !== 'string') throw new KeyError('E_KEY_INVALID', `the key has no ${what}`);
  const b = Buffer.from(s, 'base64url');
  if (b.length > octets) throw new KeyError('E_KEY_INVALID', `${what} longer than ${octets} octets`);
  // JWK coordinates are fixed-length (RFC 7518 §6.2.1.2), but pad anyway so a short encoding cannot shift y.
  const out = new Uint8Array(octets);
  out.set(b, octets - b.length);
  return out;
}

/**
 * The 64-octet public key x | y (RFC 6605 §4) of a P-256 KeyObject, private or public. Throws KeyError
 * E_KEY_INVALID for any other kind of key.
 */
export function publicKeyFromPrivate(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'ec')
    throw new KeyError('E_KEY_INVALID', `not an EC key (${key.asymmetricKeyType ?? key.type})`);
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256') throw new KeyError('E_KEY_INVALID', `EC key on curve ${String(jwk.crv)}, not P-256`);
  const out = new Uint8Array(P256_PUBLIC_KEY_OCTETS);
  out.set(fromBase64Url(jwk.x, 32, 'x coordinate'), 0);
  out.set(fromBase64Url(jwk.y, 32, 'y coordinate'), 32);
  return out;
}

/**
 * The 32-octet private scalar d of a P-256 private KeyObject (what BIND's .private `PrivateKey:` holds).
 * Only keyfile.ts should need this, to write the .private file.
 */
export function privateScalar(key: KeyObject): Uint8Array {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec')
    throw new KeyError('E_KEY_INVALID', 'not an EC private key');
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256') throw new KeyError('E_KEY_INVALID', `EC key on curve ${String(jwk.crv)}, not P-256`);
  return fromBase64Url(jwk.d, P256_PRIVATE_KEY_OCTETS, 'private scalar');
}

/**
 * A P-256 private KeyObject from the raw scalar d (big-endian; shorter input is left-padded, as some writers drop
 * leading zero octets). node:crypto's ECDH derives the public point d*G, and the JWK {kty, crv, d, x, y} is then
 * imported, which also checks that the point matches d. Throws KeyError E_KEY_INVALID (without the value) when d
 * is 0, not below the group order, or longer than 32 octets.
 */
export function privateKeyFromScalar(d: Uint8Array): KeyObject {
  if (d.length === 0 || d.length > P256_PRIVATE_KEY_OCTETS)
    throw new KeyError('E_KEY_INVALID', `a P-256 private key has 32 octets, not ${d.length}`);
  const scalar = new Uint8Array(P256_PRIVATE_KEY_OCTETS);
  scalar.set(d, P256_PRIVATE_KEY_OCTETS - d.length);
  let point: Buffer;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(scalar);
    point = ecdh.getPublicKey();
  } catch {
    // OpenSSL's message is generic, but do not pass anything about the scalar on.
    throw new KeyError('E_KEY_INVALID', 'the private key is not a valid P-256 scalar');
  }
  if (point.length !== 65 || point[0] !== 4) throw new KeyError('E_KEY_INVALID', 'unexpected public point encoding');
  try {
    return createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: Buffer.from(scalar).toString('base64url'),
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    throw new KeyError('E_KEY_INVALID', 'the private key is not a valid P-256 key');
  } finally {
    // The KeyObject keeps its own copy; do not leave a second one in this buffer.
    scalar.fill(0);
  }
}

/** Truncates to whole seconds: the key files store times with one-second precision (YYYYMMDDHHMMSS). */
export function wholeSeconds(t: Date): Date {
  return new Date(Math.floor(t.getTime() / 1000) * 1000);
}

/**
 * Assembles a ZoneKey from its parts: computes the DNSKEY rdata and tag and checks that `publicKey` belongs to
 * `privateKey`. Throws KeyError E_KEY_INVALID on a mismatch.
 */
export function makeZoneKey(parts: {
  zone: Name;
  role: KeyRole;
  flags: KeyFlags;
  privateKey: KeyObject;
  created: Date;
  publish: Date;
  activate: Date;
}): ZoneKey {
  const publicKey = publicKeyFromPrivate(parts.privateKey);
  const rdata = dnskeyRdata(parts.flags, publicKey);
  return Object.freeze({
    zone: parts.zone,
    role: parts.role,
    flags: parts.flags,
    algorithm: ALG_ECDSAP256SHA256,
    tag: keyTag(rdata),
    publicKey,
    privateKey: parts.privateKey,
    created: parts.created,
    publish: parts.publish,
    activate: parts.activate,
    dnskeyRdata: rdata,
  });
}

/**
 * Generates a new P-256 key for `zone` (OpenSSL's generator via node:crypto). Created, publish and activate are
 * all `now`, truncated to whole seconds so that the key survives a write/load round trip unchanged.
 */
export function generateKey(zone: Name, role: KeyRole, now: Date): ZoneKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const t = wholeSeconds(now);
  return makeZoneKey({ zone, role, flags: flagsForRole(role), privateKey, created: t, publish: t, activate: t });
}

/** True when two byte strings are equal (public data only: not constant-time). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
