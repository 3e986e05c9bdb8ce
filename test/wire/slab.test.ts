/**
 * Shared slabs and places (src/wire/slab.ts): small arrays share 16 KiB buffers, large ones get their own, and an
 * array kept as (buffer, place) reads back as the same octets.
 */
import { describe, expect, it } from 'vitest';
import { placeable, placeView, slabAlloc, slabCopy, slabPlace } from '../../src/wire/slab.js';

describe('slabAlloc / slabCopy', () => {
  it('small arrays share a buffer, do not overlap and start zeroed', () => {
    const a = slabAlloc(10);
    const b = slabAlloc(20);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + 10);
    expect([...b]).toEqual(new Array<number>(20).fill(0));
  });

  it('an array over 1024 octets gets a buffer of its own', () => {
    const big = slabAlloc(1025);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(1025);
  });

  it('slabCopy copies', () => {
    const src = Uint8Array.from([1, 2, 3]);
    const c = slabCopy(src);
    src[0] = 9;
    expect([...c]).toEqual([1, 2, 3]);
  });
});

describe('placeable / slabPlace / placeView', () => {
  it('a slab array is kept as it is and reads back from its place', () => {
    const at = slabCopy(Uint8Array.from([4, 5, 6, 7]));
    expect(placeable(at)).toBe(at);
    const place = slabPlace(at);
    expect(place).toBe(at.byteOffset * 65536 + 4);
    const view = placeView(at.buffer, place);
    expect(view.buffer).toBe(at.buffer);
    expect(view.byteOffset).toBe(at.byteOffset);
    expect([...view]).toEqual([4, 5, 6, 7]);
  });

  it('an array at an offset of 2^16 or more is copied into a slab first', () => {
    const big = new Uint8Array(70000);
    big.set([1, 2, 3], 69000);
    const far = big.subarray(69000, 69003);
    const at = placeable(far);
    expect(at).not.toBe(far);
    expect(at.byteOffset).toBeLessThan(65536);
    expect([...placeView(at.buffer, slabPlace(at))]).toEqual([1, 2, 3]);
  });

  it('the largest rdata (65535 octets) fits, at offset 0 of its own buffer', () => {
    const at = placeable(new Uint8Array(65535).fill(7));
    const view = placeView(at.buffer, slabPlace(at));
    expect(view.length).toBe(65535);
    expect(view[65534]).toBe(7);
  });
});
