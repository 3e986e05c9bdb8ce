/**
 * RRSIG creation and verification for ECDSA P-256 / SHA-256 (algorithm 13, RFC 6605) with node:crypto, and the
 * 32-bit RRSIG time arithmetic (RFC 4034 §3.1.5, RFC 1982).
 *
 * The RRset is signed as stored, never with guessed fields (its real TTL becomes the Original TTL, its real owner,
 * `*.x` for a wildcard, gives the Labels field), and the clock is the caller's: the validity window comes in
 * as arguments, nothing here reads the time.
 *
 * Signatures are r || s, 32 octets each (RFC 6605 §4). node:crypto produces exactly that with
 * `dsaEncoding: 'ieee-p1363'`, so there is no DER to unpack. ECDSA is randomized: two signatures of the same
 * data differ, and tests compare every other field and verify the signature.
 */
import {
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  type SignKeyObjectInput,
  type SigningOptions,
} from 'node:crypto';
import { isSubdomain, nameToText, type Name } from '../wire/name.js';
import { SERIAL_HALF, serialDiff, serialOf } from '../wire/serial.js';
import { slabAlloc } from '../wire/slab.js';
import { T } from '../wire/types.js';
import type { RRset } from '../wire/rrset.js';
import {
  canonicalRRsetBytes,
  parseRrsig,
  putRrsigHeader,
  rrsigHeaderLength,
  rrsigLabels,
  signedData,
} from './canonical.js';
import { ALG_ECDSAP256SHA256 } from './keys.js';

type SignErrorCode =
  | 'E_SIGN_KEY' // the private key is not an EC P-256 key
  | 'E_SIGN_WINDOW' // inception/expiration are not integers, or expiration is not after inception
  | 'E_SIGN_OWNER' // the RRset is not at or below the key's zone (RFC 4035 §2.2: signer = the zone apex)
  | 'E_SIGN_TYPE' // RRSIG RRsets are never signed (RFC 4035 §2.2)
  | 'E_SIGN_POLICY'; // a signature-cache policy that cannot hold its promises

export class SignError extends Error {
  readonly code: SignErrorCode;
  constructor(code: SignErrorCode, message: string) {
    super(message);
    this.name = 'SignError';
    this.code = code;
  }
}

/**
 * What signing needs of a key. keys.ts's ZoneKey satisfies it structurally. Contract: `privateKey` is an EC
 * P-256 private key, `tag` its DNSKEY's key tag (RFC 4034 App. B), and `zone` the apex that owns that DNSKEY
 * (it becomes the RRSIG Signer's Name).
 */
export interface SigningKey {
  readonly zone: Name;
  readonly tag: number;
  readonly privateKey: KeyObject;
}

/** A validity window in seconds since the epoch (not yet reduced to 32 bits). */
interface SignatureWindow {
  readonly inception: number;
  readonly expiration: number;
}

/** Octets in an algorithm 13 signature: r and s, 32 each (RFC 6605 §4). */
const P256_SIGNATURE_OCTETS = 64;

/**
 * Seconds since the epoch -> the 32-bit RRSIG time field (RFC 4034 §3.1.5): the value modulo 2^32. Times past
 * 2106-02-07 wrap around to small numbers; validators compare them with serial arithmetic, so that is fine
 * while the window is shorter than 68 years.
 */
export function timeToRrsig(seconds: number): number {
  if (!Number.isInteger(seconds))
    throw new SignError('E_SIGN_WINDOW', `time ${seconds} is not a whole number of seconds`);
  return serialOf(seconds);
}

/**
 * The 32-bit RRSIG time `t` as seconds since the epoch: the value congruent to `t` modulo 2^32 that is nearest
 * to `now` (so within 68 years of it). Inverse of timeToRrsig around the current time.
 */
export function rrsigToTime(t: number, now: number): number {
  return now + serialDiff(t, timeToRrsig(now));
}

/** True when `now` lies in [inception, expiration] of the RRSIG rdata, compared in serial arithmetic. */
export function rrsigCurrent(rrsigRdata: Uint8Array, now: number): boolean {
  const f = parseRrsig(rrsigRdata);
  const n = timeToRrsig(now);
  return serialDiff(n, f.inception) >= 0 && serialDiff(f.expiration, n) >= 0;
}

const checkedKeys = new WeakSet<KeyObject>();

/** Imported public keys by their base64 DNSKEY key field, oldest first; at most PUBLIC_KEY_MEMO of them. */
const publicKeys = new Map<string, KeyObject>();
const PUBLIC_KEY_MEMO = 64;

function checkKey(key: KeyObject): void {
  if (checkedKeys.has(key)) return;
  if (
    key.type !== 'private' ||
    key.asymmetricKeyType !== 'ec' ||
    key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new SignError('E_SIGN_KEY', 'signing key is not an EC P-256 private key');
  }
  checkedKeys.add(key);
}

/**
 * The octets a signature of `rrset` by a key of zone `signer` signs, but with zeros where the RRSIG header goes:
 * rrsigHeaderLength(signer) octets, then canonicalRRsetBytes(rrset, rrset.ttl) (the signature cache's digest
 * input). signRRset fills in the header and signs it as it is, so nothing is copied.
 */
export function signingInput(rrset: RRset, signer: Name): Uint8Array {
  return canonicalRRsetBytes(rrset, rrset.ttl, undefined, rrsigHeaderLength(signer));
}

const signOptions = new WeakMap<KeyObject, SignKeyObjectInput & SigningOptions>();

/** node:crypto's sign options for a key (one object per key, not one per signature). */
function signOptionsOf(key: KeyObject): SignKeyObjectInput & SigningOptions {
  let o = signOptions.get(key);
  if (!o) signOptions.set(key, (o = Object.freeze({ key, dsaEncoding: 'ieee-p1363' as const })));
  return o;
}

/**
 * The checks of signRRset, and the octets to sign with the RRSIG header at their start. `input`, when given,
 * is signingInput(rrset, key.zone) (the signature cache has it): the header is written into it.
 */
function prepareSignature(
  rrset: RRset,
  key: SigningKey,
  window: SignatureWindow,
  input?: Uint8Array,
): { headerLength: number; data: Uint8Array } {
  checkKey(key.privateKey);
  if (rrset.type === T.RRSIG) throw new SignError('E_SIGN_TYPE', 'RRSIG RRsets are not signed (RFC 4035 §2.2)');
  if (!isSubdomain(rrset.owner, key.zone)) {
    throw new SignError('E_SIGN_OWNER', `${nameToText(rrset.owner)} is not in zone ${nameToText(key.zone)}`);
  }
  const inception = timeToRrsig(window.inception);
  const expiration = timeToRrsig(window.expiration);
  const span = window.expiration - window.inception;
  // A window of 2^31 s or more cannot be told apart from a reversed one in serial arithmetic (RFC 4034 §3.1.5).
  if (span <= 0 || span >= SERIAL_HALF) {
    throw new SignError(
      'E_SIGN_WINDOW',
      `expiration ${window.expiration} must be after inception ${window.inception} by less than 2^31 s`,
    );
  }
  const fields = {
    typeCovered: rrset.type,
    algorithm: ALG_ECDSAP256SHA256,
    labels: rrsigLabels(rrset.owner),
    originalTtl: rrset.ttl,
    expiration,
    inception,
    keyTag: key.tag,
    signer: key.zone,
  };
  const data = input ?? signingInput(rrset, key.zone);
  putRrsigHeader(data, fields);
  return { headerLength: rrsigHeaderLength(key.zone), data };
}

function rrsigRdata(data: Uint8Array, headerLength: number, sig: Uint8Array): Uint8Array {
  // RRSIG rdata lives as long as its signature is cached: in a shared slab (wire/slab.ts).
  const out = slabAlloc(headerLength + sig.length);
  out.set(data.subarray(0, headerLength), 0);
  out.set(sig, headerLength);
  return out;
}

/**
 * Signs an RRset and returns the complete RRSIG rdata (RFC 4034 §3.1): type covered = the RRset's type,
 * algorithm 13, labels per RFC 4034 §3.1.3, original TTL = the RRset's TTL, the window's times reduced to 32
 * bits, the key's tag and zone, then the 64-octet r || s signature over signedData (RFC 4034 §3.1.8.1).
 * `input`, when given, must be signingInput(rrset, key.zone), and is written into.
 */
export function signRRset(rrset: RRset, key: SigningKey, window: SignatureWindow, input?: Uint8Array): Uint8Array {
  const { headerLength, data } = prepareSignature(rrset, key, window, input);
  return rrsigRdata(data, headerLength, cryptoSign('sha256', data, signOptionsOf(key.privateKey)));
}

/**
 * signRRset with the ECDSA computation on libuv's thread pool (node:crypto's callback form), so several
 * signatures are computed in parallel on a multi-core machine while this thread prepares the next ones.
 * Same result and errors (as a rejection) as signRRset.
 */
export function signRRsetAsync(
  rrset: RRset,
  key: SigningKey,
  window: SignatureWindow,
  input?: Uint8Array,
): Promise<Uint8Array> {
  let prepared: { headerLength: number; data: Uint8Array };
  try {
    prepared = prepareSignature(rrset, key, window, input);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    cryptoSign('sha256', prepared.data, signOptionsOf(key.privateKey), (err, sig) => {
      if (err) reject(err);
      else resolve(rrsigRdata(prepared.data, prepared.headerLength, sig));
    });
  });
}

/** The 64-octet DNSKEY public key of algorithm 13 (x || y, RFC 6605 §4) as a node:crypto KeyObject (via JWK). */
export function p256PublicKey(publicKey64: Uint8Array): KeyObject {
  if (publicKey64.length !== 64)
    throw new SignError('E_SIGN_KEY', `P-256 public key of ${publicKey64.length} octets (want 64)`);
  const id = Buffer.from(publicKey64.buffer, publicKey64.byteOffset, publicKey64.byteLength).toString('base64');
  const known = publicKeys.get(id);
  if (known) return known;
  const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(publicKey64.subarray(0, 32)), y: b64u(publicKey64.subarray(32)) },
    format: 'jwk',
  });
  // The JWK import costs about as much as a verification (~130 µs); a zone has a handful of keys.
  if (publicKeys.size >= PUBLIC_KEY_MEMO) publicKeys.delete(publicKeys.keys().next().value!);
  publicKeys.set(id, key);
  return key;
}

/**
 * Checks the signature of RRSIG rdata over an RRset with a 64-octet P-256 public key. Cryptographic check only:
 * it does not look at the time window (see rrsigCurrent), the key tag or the signer's name. The RRset's owner
 * may be a wildcard expansion; the Labels field reconstructs the `*.` owner (RFC 4035 §5.3.2). Malformed
 * input (bad rdata, a point not on the curve, another algorithm) gives false, never an exception.
 */
export function verifyRRsig(rrset: RRset, rrsigRdata: Uint8Array, publicKey64: Uint8Array): boolean {
  try {
    const f = parseRrsig(rrsigRdata);
    if (f.algorithm !== ALG_ECDSAP256SHA256 || f.signature.length !== P256_SIGNATURE_OCTETS) return false;
    const data = signedData(f.header, rrset);
    return cryptoVerify('sha256', data, { key: p256PublicKey(publicKey64), dsaEncoding: 'ieee-p1363' }, f.signature);
  } catch {
    return false;
  }
}
