/**
 * The signatures of a served zone, kept in the state directory (`signed/<zone>.bin`), so that a restart with
 * unchanged input serves the same signed zone under the same serial without signing again. ECDSA signatures
 * (RFC 6605 §4) are random: signing the same data again gives other octets, and secondaries holding the zone
 * under the old serial would then disagree with the primary (RFC 1982, RFC 5936 §6: a serial names one
 * content).
 *
 * What is kept is the signature cache's entries for the zone's signing keys (dnssec/sigcache.ts), still valid,
 * with each key's DNSKEY rdata: an entry is put back only for a key that is still the zone's, byte for byte.
 * File layout (big-endian): "dane-ns signatures 1\n", zone name, keys (tag, DNSKEY rdata), cache buckets,
 * entries (bucket, 16-octet digest, inception, expiration as float64, RRSIG rdata), SHA-256 of all before.
 */
import { createHash, hash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { nameToText, type Name } from '../wire/name.js';
import { slabCopy } from '../wire/slab.js';
import { openAtomic } from '../state/atomic.js';
import { FileReadError, readRegularFile } from '../state/readfile.js';
import type { ZoneKey } from './keys.js';
import type { PersistedSignature, SignatureCache } from './sigcache.js';

const MAGIC = Buffer.from('dane-ns signatures 1\n', 'latin1');
/** The directory of the files, in the state directory. */
export const SIGNATURES_DIR = 'signed';
/** A 100k-name zone keeps about 30 MB of signatures: the cap of zone files, room for far larger zones. */
const SIGNATURES_FILE_MAX = 256 * 1024 * 1024;

/** The file of a zone's signatures in the state directory. */
export function signaturesFile(stateDir: string, zone: Name): string {
  const text = nameToText(zone).toLowerCase().replace(/\.$/, '');
  return join(stateDir, SIGNATURES_DIR, `${encodeURIComponent(text === '' ? 'root' : text)}.bin`);
}

/** Writes the cache's valid signatures by `signers` (atomically); returns how many. */
export function saveSignatures(
  stateDir: string,
  zone: Name,
  signers: readonly ZoneKey[],
  cache: SignatureCache,
  now: number,
): number {
  const steps = saveSignaturesSteps(stateDir, zone, signers, cache, now);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value.commit();
  }
}

/** Signatures written to a temporary file, not yet in place: commit() puts them there (and says how many). */
export interface PendingSignatures {
  /** Signatures in the file. */
  readonly count: number;
  /** The temporary file made durable on another thread (AtomicWrite.flush), ahead of commit(). */
  flush(): Promise<void>;
  commit(): number;
  abandon(): void;
}

/** Entries written between two yields of saveSignaturesSteps. */
const ENTRIES_PER_STEP = 4096;

/**
 * saveSignatures in steps that yield (work in slices, server/slices.ts): a large zone's quarter of a million
 * signatures are written to the temporary file a few thousand at a time, and only the fsync and rename are left
 * for commit(). The cache must not change until then (the signer that owns it runs in the same task).
 */
export function* saveSignaturesSteps(
  stateDir: string,
  zone: Name,
  signers: readonly ZoneKey[],
  cache: SignatureCache,
  now: number,
): Generator<void, PendingSignatures, undefined> {
  signers = [...new Set(signers)]; // a CSK signs both the DNSKEY RRset and the rest
  // Two passes over the cache (the bucket table and the count come before the entries), none of it collected:
  // a large zone has a quarter of a million signatures, written out piece by piece.
  const buckets = new Map<string, number>();
  let count = 0;
  for (const k of signers)
    for (const e of cache.entriesOf(k, now)) {
      if (!buckets.has(e.bucket)) buckets.set(e.bucket, buckets.size);
      if (++count % ENTRIES_PER_STEP === 0) yield;
    }
  const file = openAtomic(signaturesFile(stateDir, zone));
  // Abandoned unless written to the end: also when the caller stops the steps (return) or one throws.
  let whole = false;
  try {
    const out = new Out((chunk) => file.write(chunk));
    out.bytes(MAGIC);
    out.text(nameToText(zone).toLowerCase());
    out.u16(signers.length);
    for (const k of signers) {
      out.u16(k.tag);
      out.chunk(k.dnskeyRdata);
    }
    out.u16(buckets.size);
    for (const id of buckets.keys()) out.text(id);
    out.u32(count);
    let written = 0;
    for (const k of signers)
      for (const e of cache.entriesOf(k, now)) {
        if (written === count) break; // the cache cannot change in between (one task), but never write more
        out.u16(buckets.get(e.bucket)!);
        out.bytes(e.digest);
        out.f64(e.inception);
        out.f64(e.expiration);
        out.chunk(e.rrsig);
        if (++written % ENTRIES_PER_STEP === 0) yield;
      }
    // Fewer than counted (the cache changed after all): the file would be refused on reading; not written.
    if (written !== count) throw new Error(`signatures changed while written (${written} of ${count})`);
    out.finish();
    whole = true;
  } finally {
    if (!whole) file.abandon();
  }
  return {
    count,
    flush: () => file.flush(),
    commit: () => {
      file.commit();
      return count;
    },
    abandon: () => file.abandon(),
  };
}

export type LoadResult =
  | { readonly ok: true; readonly restored: number }
  | { readonly ok: false; readonly missing: boolean; readonly reason: string };

/**
 * Puts the kept signatures of `zone` back into `cache`, for the keys of `signers` whose DNSKEY rdata is the
 * one kept. A missing, corrupt or foreign file restores nothing (the reason says why; the zone is signed anew).
 */
export function loadSignatures(
  stateDir: string,
  zone: Name,
  signers: readonly ZoneKey[],
  cache: SignatureCache,
): LoadResult {
  let data: Buffer;
  try {
    data = readRegularFile(signaturesFile(stateDir, zone), SIGNATURES_FILE_MAX);
  } catch (e) {
    const missing = e instanceof FileReadError && e.missing;
    return { ok: false, missing, reason: missing ? 'no file' : (e as Error).message };
  }
  try {
    if (data.length < MAGIC.length + 32) throw new Error('too short');
    const body = data.subarray(0, data.length - 32);
    if (!hash('sha256', body, 'buffer').equals(data.subarray(data.length - 32))) throw new Error('checksum mismatch');
    const r = new In(body);
    if (!r.bytes(MAGIC.length).equals(MAGIC)) throw new Error('not a signatures file');
    const name = r.text();
    if (name !== nameToText(zone).toLowerCase()) throw new Error(`the file is for ${name}`);
    const keep = new Set<string>();
    for (let n = r.u16(); n > 0; n--) {
      const tag = r.u16();
      const rdata = r.chunk();
      if (signers.some((k) => k.tag === tag && Buffer.from(k.dnskeyRdata).equals(rdata)))
        keep.add(`${zone.key}\u0000${tag}\u0000`);
    }
    const ids: string[] = [];
    for (let n = r.u16(); n > 0; n--) ids.push(r.text());
    const entries: PersistedSignature[] = [];
    for (let n = r.u32(); n > 0; n--) {
      const bucket = ids[r.u16()];
      if (bucket === undefined) throw new Error('bucket out of range');
      entries.push({ bucket, digest: r.bytes(16), inception: r.f64(), expiration: r.f64(), rrsig: r.chunk() });
    }
    if (!r.atEnd()) throw new Error('trailing data');
    let restored = 0;
    for (const e of entries)
      if ([...keep].some((p) => e.bucket.startsWith(p))) {
        cache.restore({ ...e, digest: Uint8Array.from(e.digest), rrsig: slabCopy(e.rrsig) });
        restored++;
      }
    if (restored === 0 && entries.length > 0) return { ok: false, missing: false, reason: 'made by other keys' };
    return { ok: true, restored };
  } catch (e) {
    return { ok: false, missing: false, reason: (e as Error).message };
  }
}

/**
 * Big-endian writer through a fixed buffer: each full buffer is hashed and handed on; finish() appends the
 * SHA-256 of everything written before it.
 */
class Out {
  private readonly b = Buffer.alloc(256 * 1024);
  private at = 0;
  private readonly sha: Hash = createHash('sha256');
  constructor(private readonly write: (chunk: Uint8Array) => void) {}
  private flush(): void {
    if (this.at === 0) return;
    const piece = this.b.subarray(0, this.at);
    this.sha.update(piece);
    this.write(piece);
    this.at = 0;
  }
  private room(n: number): number {
    if (this.at + n > this.b.length) this.flush();
    const at = this.at;
    this.at += n;
    return at;
  }
  u16(v: number): void {
    this.b.writeUInt16BE(v, this.room(2));
  }
  u32(v: number): void {
    this.b.writeUInt32BE(v, this.room(4));
  }
  f64(v: number): void {
    this.b.writeDoubleBE(v, this.room(8));
  }
  bytes(v: Uint8Array): void {
    if (v.length > this.b.length) {
      this.flush();
      this.sha.update(v);
      this.write(v);
      return;
    }
    this.b.set(v, this.room(v.length));
  }
  chunk(v: Uint8Array): void {
    this.u16(v.length);
    this.bytes(v);
  }
  text(v: string): void {
    this.chunk(Buffer.from(v, 'utf8'));
  }
  finish(): void {
    this.flush();
    this.write(this.sha.digest());
  }
}

/** Big-endian reader; throws RangeError past the end. */
class In {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private take(n: number): number {
    const at = this.at;
    if (at + n > this.b.length) throw new RangeError('truncated');
    this.at += n;
    return at;
  }
  u16(): number {
    return this.b.readUInt16BE(this.take(2));
  }
  u32(): number {
    return this.b.readUInt32BE(this.take(4));
  }
  f64(): number {
    return this.b.readDoubleBE(this.take(8));
  }
  bytes(n: number): Buffer {
    const at = this.take(n);
    return this.b.subarray(at, at + n);
  }
  chunk(): Buffer {
    return this.bytes(this.u16());
  }
  text(): string {
    return this.chunk().toString('utf8');
  }
  atEnd(): boolean {
    return this.at === this.b.length;
  }
}
