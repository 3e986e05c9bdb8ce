/**
 * The RRset type, and compact storage for the long-lived RRsets of a zone that hold one record: most RRsets of
 * a large zone, and every NSEC RRset of its chain.
 *
 * An RRset object with a frozen one-element array and a Uint8Array view of its rdata costs about 210 bytes on
 * the heap for, typically, 4 to 40 octets of rdata; a 100k-name zone has a quarter of a million such RRsets.
 * SingleRRset keeps the rdata's ArrayBuffer (a shared slab, wire/slab.ts), offset and length instead, about 65
 * bytes, and makes the array and the view when `rdatas` is read: when signing (once per RRset) and when an
 * answer is built (the response cache keeps whole answers).
 *
 * `rdatas` is an accessor on the prototype, so `{ ...rrset }` does not copy it: a copy must name its rdatas.
 */
import type { Name } from './name.js';
import { placeable, placeView, slabPlace } from './slab.js';

/** One RRset: all records of one owner and type, one TTL (RFC 2181 §5). rdata is uncompressed wire form. */
export interface RRset {
  readonly owner: Name;
  readonly type: number;
  readonly ttl: number;
  readonly rdatas: readonly Uint8Array[];
}

class SingleRRset implements RRset {
  readonly owner: Name;
  readonly type: number;
  readonly ttl: number;
  readonly #buffer: ArrayBufferLike;
  /** Where the rdata is in #buffer (wire/slab.ts slabPlace). */
  readonly #place: number;

  constructor(owner: Name, type: number, ttl: number, rdata: Uint8Array) {
    const at = placeable(rdata);
    this.owner = owner;
    this.type = type;
    this.ttl = ttl;
    this.#buffer = at.buffer;
    this.#place = slabPlace(at);
    Object.freeze(this);
  }

  get rdatas(): readonly Uint8Array[] {
    return Object.freeze([placeView(this.#buffer, this.#place)]);
  }
}

/**
 * A frozen RRset: the compact form when it holds one record, else a plain object. The rdata must never be
 * written afterwards (it is shared, not copied, when it sits in a slab).
 */
export function storedRRset(owner: Name, type: number, ttl: number, rdatas: readonly Uint8Array[]): RRset {
  if (rdatas.length === 1) return new SingleRRset(owner, type, ttl, rdatas[0]!);
  return Object.freeze({ owner, type, ttl, rdatas: Object.isFrozen(rdatas) ? rdatas : Object.freeze(rdatas.slice()) });
}
