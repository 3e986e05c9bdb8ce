/**
 * The RRSIG rdata of one signed zone, held compactly: one signature per signing job, by job number, and found
 * again by owner and covered type (RFC 4034 §3: an RRSIG RRset sits at the owner of the RRset it covers).
 *
 * A 100k-name zone has a quarter of a million signatures. A Uint8Array view per signature (about 100 bytes of
 * object for about 100 octets of data) and a Map entry per owner holding them cost about 35 MB; here a signature
 * is a reference to the ArrayBuffer that holds its octets (a shared slab, wire/slab.ts), its offset and length,
 * and its covered type, in typed arrays. Views are made when a signature is asked for (rarely: the response
 * cache holds whole answers). The octets are never written after signing, so sharing them with the signature
 * cache is safe.
 */
import { placeable, placeView, slabPlace } from '../wire/slab.js';

export class RrsigTable {
  #count = 0;
  #buffers: ArrayBufferLike[] = [];
  /** Where each job's signature is in #buffers (wire/slab.ts slabPlace). */
  #places = new Uint32Array(1024);
  /** Covered type per job. */
  #types = new Uint16Array(1024);
  /**
   * Jobs in runs of consecutive jobs with one owner; an owner's runs are chained (the apex has the DNSKEY run
   * first, its other RRsets next, and its NSEC at the end): owner key -> its first run.
   */
  readonly #firstRun = new Map<string, number>();
  #runStart = new Uint32Array(1024);
  #runEnd = new Uint32Array(1024);
  /** The owner's next run + 1; 0 = none. */
  #runNext = new Uint32Array(1024);
  #runs = 0;
  /** The last run of each owner while jobs are added (for chaining). */
  #lastRun: Map<string, number> | undefined = new Map();
  #lastOwner = '';
  #earliest = Infinity;

  /** Number of signatures. */
  get size(): number {
    return this.#count;
  }

  /** Earliest expiration of the signatures added (Infinity when none). */
  get earliestExpiration(): number {
    return this.#earliest;
  }

  /**
   * Declares job `count` (jobs are declared in order, 0, 1, 2...): its owner key and covered type. Its signature
   * is set later with setSignature, in any order.
   */
  addJob(ownerKey: string, type: number): number {
    const i = this.#count++;
    if (i === this.#places.length) {
      this.#places = grown(this.#places, 2 * i);
      this.#types = grown(this.#types, 2 * i);
    }
    this.#types[i] = type;
    if (i > 0 && ownerKey === this.#lastOwner) {
      this.#runEnd[this.#runs - 1] = i + 1;
      return i;
    }
    const r = this.#runs++;
    if (r === this.#runStart.length) {
      this.#runStart = grown(this.#runStart, 2 * r);
      this.#runEnd = grown(this.#runEnd, 2 * r);
      this.#runNext = grown(this.#runNext, 2 * r);
    }
    this.#runStart[r] = i;
    this.#runEnd[r] = i + 1;
    const lastRun = this.#lastRun!;
    const previous = lastRun.get(ownerKey);
    if (previous === undefined) this.#firstRun.set(ownerKey, r);
    else this.#runNext[previous] = r + 1;
    lastRun.set(ownerKey, r);
    this.#lastOwner = ownerKey;
    return i;
  }

  /** Every job declared: drops what only declaring needed. */
  seal(): void {
    this.#lastRun = undefined;
  }

  /** The signature of job `i`: complete RRSIG rdata, and its expiration (seconds since the epoch). */
  setSignature(i: number, rrsig: Uint8Array, expiration: number): void {
    const at = placeable(rrsig);
    this.#buffers[i] = at.buffer;
    this.#places[i] = slabPlace(at);
    if (expiration < this.#earliest) this.#earliest = expiration;
  }

  /** The RRSIG rdata of job `i` (a view: read it, never write into it). */
  signature(i: number): Uint8Array {
    return placeView(this.#buffers[i]!, this.#places[i]!);
  }

  /** The RRSIG rdata covering (owner, type), the first one when there are several; undefined when none. */
  find(ownerKey: string, type: number): Uint8Array | undefined {
    return this.findAll(ownerKey, type)[0];
  }

  /** Every RRSIG rdata covering (owner, type), in job order (two over the DNSKEY RRset during a KSK rollover). */
  findAll(ownerKey: string, type: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const first = this.#firstRun.get(ownerKey);
    if (first === undefined) return out;
    for (let r = first; ; r = this.#runNext[r]! - 1) {
      for (let i = this.#runStart[r]!; i < this.#runEnd[r]!; i++)
        if (this.#types[i] === type) out.push(this.signature(i));
      if (this.#runNext[r] === 0) return out;
    }
  }
}

function grown<A extends Uint32Array | Uint16Array>(a: A, length: number): A {
  const out = new (a.constructor as new (n: number) => A)(length);
  out.set(a);
  return out;
}
