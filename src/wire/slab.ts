/**
 * Small, long-lived byte arrays (names and rdata of loaded zones, NSEC and RRSIG rdata) carved out of shared
 * 16 KiB slabs. A zone of 100k names holds close to a million of them, mostly under 100 octets; an ArrayBuffer
 * of its own for each costs more than the data (a V8 object, a backing-store record and a malloc block).
 *
 * The views are ordinary Uint8Arrays at a byteOffset into a shared buffer, so code reading one must use
 * byteOffset/byteLength (never `.buffer` alone) and must never write into one it did not allocate. A slab is
 * freed when nothing in it is referenced any more; data made together (one zone load, one signing) is dropped
 * together, so slabs are in practice freed whole.
 */
const SLAB_OCTETS = 16 * 1024;
/** Larger arrays get a buffer of their own. */
const LARGEST = 1024;

let slab = new ArrayBuffer(SLAB_OCTETS);
let used = 0;

/** A zero-filled array of `length` octets, in a shared slab when it is small. */
export function slabAlloc(length: number): Uint8Array {
  if (length > LARGEST) return new Uint8Array(length);
  if (used + length > SLAB_OCTETS) {
    slab = new ArrayBuffer(SLAB_OCTETS);
    used = 0;
  }
  const out = new Uint8Array(slab, used, length);
  used += length;
  return out;
}

/** A copy of `bytes` (in a shared slab when small). */
export function slabCopy(bytes: Uint8Array): Uint8Array {
  const out = slabAlloc(bytes.length);
  out.set(bytes);
  return out;
}

/*
 * Places: long-lived holders of many small arrays (wire/rrset.ts, the NSEC chain, the RRSIG table, the
 * signature cache) keep an array as its ArrayBuffer and one number, offset * 2^16 + length, instead of a
 * Uint8Array view (about 100 bytes each), and make the view when it is read. Offsets into a slab are below 2^14
 * and the arrays are at most 65535 octets (rdata, RFC 1035 §3.2.1), so both fit 16 bits.
 */
const PLACE = 0x10000;

/** `bytes` itself when its offset and length both fit 16 bits (slab arrays do), else a copy that does. */
export function placeable(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset < PLACE && bytes.byteLength < PLACE ? bytes : slabCopy(bytes);
}

/** offset * 2^16 + length of an array placeable() returned; keep it with `at.buffer`. */
export function slabPlace(at: Uint8Array): number {
  return at.byteOffset * PLACE + at.byteLength;
}

/** The array at `place` (from slabPlace) in `buffer`: a new view of the same octets. */
export function placeView(buffer: ArrayBufferLike, place: number): Uint8Array {
  return new Uint8Array(buffer, Math.floor(place / PLACE), place % PLACE);
}
