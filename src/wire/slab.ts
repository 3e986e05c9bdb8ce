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
