/**
 * Signature cache: RRSIGs keyed by what they sign, so that a reload re-signs only the RRsets that changed and
 * the background task re-signs only what is due.
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
import type { RRset } from '../wire/rrset.js';
import { canonicalRRsetBytes, rrsigHeaderLength } from './canonical.js';
import { ALG_ECDSAP256SHA256 } from './keys.js';
import { placeable, placeView, slabPlace } from '../wire/slab.js';
import { SignError, signingInput, signRRset, signRRsetAsync, type SigningKey } from './sign.js';

export interface SignaturePolicy {
  /** Seconds from signing to expiration, before jitter (default 14 days). */
  readonly validity: number;
  /** Re-sign when fewer than this many seconds of validity remain (default 7 days). */
  readonly refreshBefore: number;
  /** Inception is this many seconds before the signing time, for clock skew (default 1 hour). */
  readonly inceptionOffset: number;
  /**
   * Seconds taken off the validity of this RRset's signatures, from its 32-octet digest. Must be a whole number
   * in [0, validity - refreshBefore): a fresh signature is never already due.
   */
  readonly jitter: (rrsetDigest: Uint8Array) => number;
}

/**
 * A cached or fresh signature. Times are seconds since the epoch. A value made for the caller: two lookups of one
 * cached signature give equal values (the same `rrsig` octets), not the same object.
 */
export interface CachedSignature {
  /** Complete RRSIG rdata (a view of the cache's storage: read it, never write into it). */
  readonly rrsig: Uint8Array;
  /** base64 SHA-256 of the canonical RRset bytes: the value prune() expects in its live set. */
  readonly digest: string;
  readonly inception: number;
  readonly expiration: number;
}

/** One cache entry as kept in the state directory (SignatureCache.entriesOf, restore). */
export interface PersistedSignature {
  /** The cache bucket: signer zone, key tag, algorithm and validity policy. */
  readonly bucket: string;
  /** The first 16 octets of the SHA-256 of the canonical RRset. */
  readonly digest: Uint8Array;
  readonly inception: number;
  readonly expiration: number;
  readonly rrsig: Uint8Array;
}

/** A CachedSignature whose digest string is made only when asked for (prune's callers; not the signer). */
class Signature implements CachedSignature {
  readonly #digest: Uint8Array;
  constructor(
    readonly rrsig: Uint8Array,
    digest: Uint8Array,
    readonly inception: number,
    readonly expiration: number,
  ) {
    this.#digest = digest;
  }

  get digest(): string {
    return Buffer.from(this.#digest).toString('base64');
  }
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

/**
 * The default policy: 14 days of validity, inception one hour back, refresh with 7 days left (a week to notice a
 * signer that stopped), one day of jitter (a large zone is not re-signed all at once).
 */
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
function rrsetDigestBase64(rrset: RRset): string {
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
      readonly bucket: number;
      readonly digest: Buffer;
      /** signingInput(rrset, key.zone): what the signature signs, header to be written. */
      readonly input: Uint8Array;
      readonly inception: number;
      readonly expiration: number;
    };

/**
 * Octets of the digest kept per entry: the first 128 bits of the SHA-256. Two RRsets of one bucket would have
 * to collide in them to share a signature, which takes about 2^64 RRsets by chance; the other half would cost
 * 4 MB for a 100k-name zone.
 */
const DIGEST_OCTETS = 16;

export class SignatureCache {
  /*
   * A 100k-name zone has a quarter of a million signatures, so an entry is not an object: entry i is row i of
   * a few typed arrays (its digest, bucket, times and where its RRSIG octets are), found through an
   * open-addressing table over the digests. An object per entry, a base64 digest string as its Map key and a
   * Uint8Array view per RRSIG cost about 250 bytes per signature; this about 45.
   *
   * Bucket = (signer zone, key tag, algorithm, validity policy), as a small number: equal digests in two
   * buckets are two entries. The RRSIG octets stay where the signer put them (a shared slab, wire/slab.ts): an
   * entry keeps the ArrayBuffer and the offset and length in it. Those octets are never written again, so a
   * signed zone that copied the location (zonesign.ts) keeps serving them after the entry is replaced.
   */
  readonly #bucketIds = new Map<string, number>();
  #lastKey: SigningKey | undefined;
  #lastPolicy: SignaturePolicy | undefined;
  #lastBucket = 0;
  #count = 0;
  #digests = new Uint8Array(0);
  #buckets = new Uint32Array(0);
  /** inception, expiration per entry. */
  #times = new Float64Array(0);
  /** offset * 2^16 + length of the RRSIG rdata in #buffers[i]. */
  #places = new Uint32Array(0);
  #buffers: ArrayBufferLike[] = [];
  /** Entry index + 1 per slot; 0 = empty. Power-of-two size, at most half full. */
  #slots = new Uint32Array(0);
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
    return this.#count;
  }

  /**
   * The RRSIG for `rrset` by `key` that is valid from at least `now - inceptionOffset` to at least
   * `now + refreshBefore`: the cached one when it qualifies, else a new one (which replaces it). The caller
   * schedules the next refresh at `expiration - refreshBefore`.
   */
  get(rrset: RRset, key: SigningKey, now: number, policy: SignaturePolicy): CachedSignature {
    const l = this.#lookup(rrset, key, now, policy);
    if (l.hit) return l.hit;
    const rrsig = signRRset(rrset, key, { inception: l.inception, expiration: l.expiration }, l.input);
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
    return signRRsetAsync(rrset, key, { inception: miss.inception, expiration: miss.expiration }, miss.input).then(
      (rrsig) => this.#store(miss, rrsig),
    );
  }

  #lookup(rrset: RRset, key: SigningKey, now: number, policy: SignaturePolicy): Lookup {
    if (!Number.isInteger(now)) throw new SignError('E_SIGN_WINDOW', `now ${now} is not a whole number of seconds`);
    // The canonical RRset bytes are the tail of what a signature would sign (no copy when it must be made).
    const input = signingInput(rrset, key.zone);
    const digest = hash('sha256', input.subarray(rrsigHeaderLength(key.zone)), 'buffer');
    const bucket = this.#bucket(key, policy);
    const e = this.#find(digest, bucket);
    if (e >= 0) {
      const inception = this.#times[2 * e]!;
      const expiration = this.#times[2 * e + 1]!;
      if (expiration - now >= policy.refreshBefore && inception <= now - policy.inceptionOffset) {
        this.#hits++;
        return { hit: this.#entry(e, digest) };
      }
    }
    const jitter = policy.jitter(digest);
    if (!Number.isInteger(jitter) || jitter < 0 || policy.validity - jitter <= policy.refreshBefore) {
      throw new SignError(
        'E_SIGN_POLICY',
        `jitter ${jitter} s leaves no reuse: validity ${policy.validity} s, refresh before ${policy.refreshBefore} s`,
      );
    }
    return {
      hit: undefined,
      bucket,
      digest,
      input,
      inception: now - policy.inceptionOffset,
      expiration: now + policy.validity - jitter,
    };
  }

  /** The bucket of (key, policy); the last one is remembered, as a zone's signatures come in one run per key. */
  #bucket(key: SigningKey, policy: SignaturePolicy): number {
    if (key === this.#lastKey && policy === this.#lastPolicy) return this.#lastBucket;
    const id = `${key.zone.key}\u0000${key.tag}\u0000${ALG_ECDSAP256SHA256}\u0000${policy.validity}/${policy.inceptionOffset}`;
    let bucket = this.#bucketIds.get(id);
    if (bucket === undefined) this.#bucketIds.set(id, (bucket = this.#bucketIds.size));
    this.#lastKey = key;
    this.#lastPolicy = policy;
    this.#lastBucket = bucket;
    return bucket;
  }

  #store(l: Exclude<Lookup, { hit: CachedSignature }>, rrsig: Uint8Array): CachedSignature {
    // The location must fit #places; the signer's slab arrays always do (a copy otherwise).
    const at = placeable(rrsig);
    let e = this.#find(l.digest, l.bucket);
    if (e < 0) e = this.#append(l.digest, l.bucket);
    this.#times[2 * e] = l.inception;
    this.#times[2 * e + 1] = l.expiration;
    this.#places[e] = slabPlace(at);
    this.#buffers[e] = at.buffer;
    this.#misses++;
    return this.#entry(e, l.digest);
  }

  /** Entry e as a CachedSignature. */
  #entry(e: number, digest: Uint8Array): CachedSignature {
    return new Signature(
      placeView(this.#buffers[e]!, this.#places[e]!),
      digest,
      this.#times[2 * e]!,
      this.#times[2 * e + 1]!,
    );
  }

  /** The slot where a digest's search starts: its first 32 bits (SHA-256 output is uniform) mixed with the bucket. */
  #home(digest: Uint8Array, at: number, bucket: number): number {
    const h =
      ((digest[at]! << 24) | (digest[at + 1]! << 16) | (digest[at + 2]! << 8) | digest[at + 3]!) ^
      Math.imul(bucket, 0x9e3779b1);
    return h & (this.#slots.length - 1);
  }

  /** The entry of (digest, bucket), or -1. */
  #find(digest: Uint8Array, bucket: number): number {
    if (this.#count === 0) return -1;
    const mask = this.#slots.length - 1;
    for (let s = this.#home(digest, 0, bucket); ; s = (s + 1) & mask) {
      const v = this.#slots[s]!;
      if (v === 0) return -1;
      const e = v - 1;
      if (this.#buckets[e] === bucket && this.#sameDigest(e, digest)) return e;
    }
  }

  #sameDigest(e: number, digest: Uint8Array): boolean {
    const base = e * DIGEST_OCTETS;
    for (let i = 0; i < DIGEST_OCTETS; i++) if (this.#digests[base + i] !== digest[i]) return false;
    return true;
  }

  /** Adds an entry for (digest, bucket) with no signature yet (the caller fills it in); returns its index. */
  #append(digest: Uint8Array, bucket: number): number {
    const e = this.#count;
    if (e === this.#buckets.length) this.#grow(Math.max(1024, 2 * e));
    this.#digests.set(digest.subarray(0, DIGEST_OCTETS), e * DIGEST_OCTETS);
    this.#buckets[e] = bucket;
    this.#count++;
    this.#index(e);
    return e;
  }

  /** Puts entry e into the slot table. */
  #index(e: number): void {
    const mask = this.#slots.length - 1;
    let s = this.#home(this.#digests, e * DIGEST_OCTETS, this.#buckets[e]!);
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = e + 1;
  }

  /** Room for `capacity` entries (keeping the first #count), and a slot table at most half full. */
  #grow(capacity: number): void {
    const n = this.#count;
    const digests = new Uint8Array(capacity * DIGEST_OCTETS);
    digests.set(this.#digests.subarray(0, n * DIGEST_OCTETS));
    const buckets = new Uint32Array(capacity);
    buckets.set(this.#buckets.subarray(0, n));
    const times = new Float64Array(2 * capacity);
    times.set(this.#times.subarray(0, 2 * n));
    const places = new Uint32Array(capacity);
    places.set(this.#places.subarray(0, n));
    this.#digests = digests;
    this.#buckets = buckets;
    this.#times = times;
    this.#places = places;
    this.#buffers.length = n;
    this.#slots = new Uint32Array(2 ** Math.ceil(Math.log2(2 * capacity)));
    for (let e = 0; e < n; e++) this.#index(e);
  }

  /**
   * Drops every entry whose digest is not in `liveDigests` (the digests of the RRsets of the current
   * snapshots, from CachedSignature.digest). Returns the number of entries dropped.
   */
  prune(liveDigests: ReadonlySet<string>): number {
    const live = new Set(
      [...liveDigests].map((d) => Buffer.from(d, 'base64').subarray(0, DIGEST_OCTETS).toString('base64')),
    );
    return this.#keepOnly((e) =>
      live.has(Buffer.from(this.#digests.subarray(e * DIGEST_OCTETS, (e + 1) * DIGEST_OCTETS)).toString('base64')),
    );
  }

  /**
   * Drops every signature made by `key` (a key that no longer signs, after a rollover: its signatures would
   * otherwise stay for the life of the process). Returns the number of entries dropped.
   */
  forgetKey(key: SigningKey): number {
    const prefix = `${key.zone.key}\u0000${key.tag}\u0000`;
    const gone = new Set<number>();
    for (const [id, bucket] of this.#bucketIds) if (id.startsWith(prefix)) gone.add(bucket);
    return gone.size === 0 ? 0 : this.#keepOnly((e) => !gone.has(this.#buckets[e]!));
  }

  /** Keeps the entries `keep` accepts, moved down over the others, and rebuilds the slot table. */
  #keepOnly(keep: (e: number) => boolean): number {
    const n = this.#count;
    let kept = 0;
    for (let e = 0; e < n; e++) {
      if (!keep(e)) continue;
      // Entries move down over the dropped ones (kept <= e).
      this.#digests.copyWithin(kept * DIGEST_OCTETS, e * DIGEST_OCTETS, (e + 1) * DIGEST_OCTETS);
      this.#buckets[kept] = this.#buckets[e]!;
      this.#times[2 * kept] = this.#times[2 * e]!;
      this.#times[2 * kept + 1] = this.#times[2 * e + 1]!;
      this.#places[kept] = this.#places[e]!;
      this.#buffers[kept] = this.#buffers[e]!;
      kept++;
    }
    this.#count = kept;
    this.#buffers.length = kept;
    this.#slots.fill(0);
    for (let e = 0; e < kept; e++) this.#index(e);
    return n - kept;
  }

  /**
   * The entries made by `key` (every policy) that are still valid at `now`, for persisting them
   * (dnssec/sigstore.ts): bucket id, the first 16 octets of the digest, times and RRSIG rdata.
   */
  *entriesOf(key: SigningKey, now: number): Generator<PersistedSignature> {
    const prefix = `${key.zone.key}\u0000${key.tag}\u0000`;
    const ids = new Map<number, string>();
    for (const [id, bucket] of this.#bucketIds) if (id.startsWith(prefix)) ids.set(bucket, id);
    if (ids.size === 0) return;
    for (let e = 0; e < this.#count; e++) {
      const bucket = ids.get(this.#buckets[e]!);
      if (bucket === undefined || this.#times[2 * e + 1]! <= now) continue;
      yield {
        bucket,
        digest: this.#digests.slice(e * DIGEST_OCTETS, (e + 1) * DIGEST_OCTETS),
        inception: this.#times[2 * e]!,
        expiration: this.#times[2 * e + 1]!,
        rrsig: placeView(this.#buffers[e]!, this.#places[e]!),
      };
    }
  }

  /**
   * Puts back an entry entriesOf() gave (read from the state directory after a restart): the next lookup of the
   * same RRset by the same key gets these octets while they qualify, instead of a new (random, RFC 6605 §4)
   * ECDSA signature. An entry already there is replaced. Not counted as a miss.
   */
  restore(s: PersistedSignature): void {
    if (s.digest.length !== DIGEST_OCTETS) throw new RangeError(`digest of ${s.digest.length} octets`);
    let bucket = this.#bucketIds.get(s.bucket);
    if (bucket === undefined) this.#bucketIds.set(s.bucket, (bucket = this.#bucketIds.size));
    const at = placeable(s.rrsig);
    let e = this.#find(s.digest, bucket);
    if (e < 0) e = this.#append(s.digest, bucket);
    this.#times[2 * e] = s.inception;
    this.#times[2 * e + 1] = s.expiration;
    this.#places[e] = slabPlace(at);
    this.#buffers[e] = at.buffer;
  }

  /** Forgets every entry and resets the counters. */
  clear(): void {
    this.#bucketIds.clear();
    this.#lastKey = undefined;
    this.#lastPolicy = undefined;
    this.#count = 0;
    this.#digests = new Uint8Array(0);
    this.#buckets = new Uint32Array(0);
    this.#times = new Float64Array(0);
    this.#places = new Uint32Array(0);
    this.#buffers = [];
    this.#slots = new Uint32Array(0);
    this.#hits = 0;
    this.#misses = 0;
  }
}
