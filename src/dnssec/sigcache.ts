/**
 * Signature cache: RRSIGs keyed by what they sign, so that a reload re-signs only the RRsets that changed and
 * the background task re-signs only what is due (design.md "Signatures over time"; issue 3 "Signatures over
 * time").
 *
 * Key = (signer zone, key tag, algorithm, validity policy, SHA-256 of the canonical RRset bytes). The canonical
 * bytes (RFC 4034 §3.1.8.1 RR(1) | RR(2) | ...: lower-cased owner, type, class, TTL, canonical sorted rdata)
 * cover every input of the signature except the times and the key, which the rest of the key covers; so an
 * entry is reusable exactly when a fresh signature would sign the same data. Letter-case changes in the owner
 * or in RFC 4034 §6.2 rdata names do not change the digest, and need no new signature.
 *
 * Time is injected (`now`, seconds since the epoch). Invariants of every signature `get` returns:
 *   inception  <= now - inceptionOffset
 *   expiration >= now + refreshBefore
 * An entry that no longer meets them is replaced by a fresh signature with inception = now - inceptionOffset
 * and expiration = now + validity - jitter.
 *
 * Jitter: `jitter(digest)` shortens the validity of each RRset's signatures by a fixed amount derived from the
 * RRset digest. A zone signed at one instant then expires, and comes due for refresh, spread over the jitter
 * range instead of all in the same second; because the amount is a function of the RRset content it is the
 * same after a restart or a reload (no randomness to inject), and each refresh re-spreads the same way.
 * digestJitter(validity / 14) is the default: with a 14-day validity, one day of spread, and 13 days minus
 * refreshBefore of reuse after each signing.
 */
import { hash } from 'node:crypto';
import type { RRset } from '../zone/zone.js';
import { ALG_ECDSAP256SHA256, canonicalRRsetBytes } from './canonical.js';
import { SignError, signRRset, signRRsetAsync, type SigningKey } from './sign.js';

export interface SignaturePolicy {
  /** Seconds from signing to expiration, before jitter (issue 3: 14 days). */
  readonly validity: number;
  /** Re-sign when fewer than this many seconds of validity remain (issue 3: 7 days). */
  readonly refreshBefore: number;
  /** Inception is this many seconds before the signing time, for clock skew (issue 3: 1 hour). */
  readonly inceptionOffset: number;
  /**
   * Seconds taken off the validity of this RRset's signatures, from its 32-octet digest. Must be a whole number
   * in [0, validity - refreshBefore): a fresh signature is never already due.
   */
  readonly jitter: (rrsetDigest: Uint8Array) => number;
}

/** A cached or fresh signature. Times are seconds since the epoch. */
export interface CachedSignature {
  /** Complete RRSIG rdata. */
  readonly rrsig: Uint8Array;
  /** base64 SHA-256 of the canonical RRset bytes: the value prune() expects in its live set. */
  readonly digest: string;
  readonly inception: number;
  readonly expiration: number;
}

const DAY = 86_400;

/**
 * A jitter function giving a whole number of seconds in [0, range) from the first 48 bits of the digest
 * (SHA-256 output is uniform; the modulo bias is below 2^-20 for any range up to 2^28 s).
 */
export function digestJitter(range: number): (rrsetDigest: Uint8Array) => number {
  const r = Math.floor(range);
  if (r <= 0) return () => 0;
  return (d) => {
    let v = 0;
    for (let i = 0; i < 6; i++) v = v * 256 + (d[i] ?? 0);
    return v % r;
  };
}

/** Issue 3's policy: 14 days of validity, inception one hour back, refresh with 7 days left, one day of jitter. */
export const DEFAULT_SIGNATURE_POLICY: SignaturePolicy = Object.freeze({
  validity: 14 * DAY,
  refreshBefore: 7 * DAY,
  inceptionOffset: 3600,
  jitter: digestJitter((14 * DAY) / 14),
});

/**
 * The cache digest of an RRset, base64: SHA-256 over its canonical bytes with its own TTL as Original TTL.
 * (One-shot crypto.hash with text output: about a third of the cost of createHash for RRset-sized input.)
 */
export function rrsetDigestBase64(rrset: RRset): string {
  return hash('sha256', canonicalRRsetBytes(rrset, rrset.ttl), 'base64');
}

/** The cache digest of an RRset as 32 octets (what SignaturePolicy.jitter receives). */
export function rrsetDigest(rrset: RRset): Buffer {
  return Buffer.from(rrsetDigestBase64(rrset), 'base64');
}

/** What get() decided before any signing: the cached entry, or what a fresh signature needs. */
type Lookup =
  | { readonly hit: CachedSignature }
  | {
      readonly hit: undefined;
      readonly bucket: Map<string, CachedSignature>;
      readonly digest: string;
      readonly canonical: Uint8Array;
      readonly inception: number;
      readonly expiration: number;
    };

export class SignatureCache {
  /**
   * (signer zone, key tag, algorithm, validity policy) -> digest -> entry. Two levels, so that an entry's own
   * key is its digest string (shared with CachedSignature.digest) rather than a long concatenated string per
   * signature: a 100k-name zone has a quarter of a million entries.
   */
  readonly #buckets = new Map<string, Map<string, CachedSignature>>();
  #hits = 0;
  #misses = 0;

  /** Lookups answered from the cache. */
  get hits(): number {
    return this.#hits;
  }

  /** Lookups that had to sign. */
  get misses(): number {
    return this.#misses;
  }

  get size(): number {
    let n = 0;
    for (const b of this.#buckets.values()) n += b.size;
    return n;
  }

  /**
   * The RRSIG for `rrset` by `key` that is valid from at least `now - inceptionOffset` to at least
   * `now + refreshBefore`: the cached one when it qualifies, else a new one (which replaces it). The caller
   * schedules the next refresh at `expiration - refreshBefore`.
   */
  get(rrset: RRset, key: SigningKey, now: number, policy: SignaturePolicy): CachedSignature {
    const l = this.#lookup(rrset, key, now, policy);
    if (l.hit) return l.hit;
    const rrsig = signRRset(rrset, key, { inception: l.inception, expiration: l.expiration }, l.canonical);
    return this.#store(l, rrsig);
  }

  /**
   * get() with the signing done on libuv's thread pool (signRRsetAsync): callers that sign many RRsets keep
   * several of these in flight. Same result, counters and errors (as a rejection).
   */
  getAsync(rrset: RRset, key: SigningKey, now: number, policy: SignaturePolicy): Promise<CachedSignature> {
    let l: Lookup;
    try {
      l = this.#lookup(rrset, key, now, policy);
    } catch (e) {
      return Promise.reject(e);
    }
    if (l.hit) return Promise.resolve(l.hit);
    const miss = l;
    return signRRsetAsync(rrset, key, { inception: miss.inception, expiration: miss.expiration }, miss.canonical).then((rrsig) =>
      this.#store(miss, rrsig),
    );
  }

  #lookup(rrset: RRset, key: SigningKey, now: number, policy: SignaturePolicy): Lookup {
    if (!Number.isInteger(now)) throw new SignError('E_SIGN_WINDOW', `now ${now} is not a whole number of seconds`);
    const canonical = canonicalRRsetBytes(rrset, rrset.ttl);
    const digest = hash('sha256', canonical, 'base64');
    const id = `${key.zone.key}\u0000${key.tag}\u0000${ALG_ECDSAP256SHA256}\u0000${policy.validity}/${policy.inceptionOffset}`;
    let bucket = this.#buckets.get(id);
    if (!bucket) this.#buckets.set(id, (bucket = new Map()));
    const hit = bucket.get(digest);
    if (hit && hit.expiration - now >= policy.refreshBefore && hit.inception <= now - policy.inceptionOffset) {
      this.#hits++;
      return { hit };
    }
    const jitter = policy.jitter(Buffer.from(digest, 'base64'));
    if (!Number.isInteger(jitter) || jitter < 0 || policy.validity - jitter <= policy.refreshBefore) {
      throw new SignError(
        'E_SIGN_POLICY',
        `jitter ${jitter} s leaves no reuse: validity ${policy.validity} s, refresh before ${policy.refreshBefore} s`,
      );
    }
    return { hit: undefined, bucket, digest, canonical, inception: now - policy.inceptionOffset, expiration: now + policy.validity - jitter };
  }

  #store(l: Exclude<Lookup, { hit: CachedSignature }>, rrsig: Uint8Array): CachedSignature {
    const fresh: CachedSignature = Object.freeze({ rrsig, digest: l.digest, inception: l.inception, expiration: l.expiration });
    l.bucket.set(l.digest, fresh);
    this.#misses++;
    return fresh;
  }

  /**
   * Drops every entry whose digest is not in `liveDigests` (the digests of the RRsets of the current
   * snapshots, from CachedSignature.digest). Returns the number of entries dropped.
   */
  prune(liveDigests: ReadonlySet<string>): number {
    let dropped = 0;
    for (const [id, bucket] of this.#buckets) {
      for (const [digest, e] of bucket) {
        if (!liveDigests.has(e.digest)) {
          bucket.delete(digest);
          dropped++;
        }
      }
      if (bucket.size === 0) this.#buckets.delete(id);
    }
    return dropped;
  }

  /** Forgets every entry and resets the counters. */
  clear(): void {
    this.#buckets.clear();
    this.#hits = 0;
    this.#misses = 0;
  }
}
