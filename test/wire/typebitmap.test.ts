/**
 * The type bitmap codec (src/wire/typebitmap.ts, RFC 4034 §4.1.2) used by the NSEC/NSEC3/CSYNC rdata codec and
 * the NSEC chain builder: the RFC 4034 §4.3 example, window edges, agreement with the rdata codec on random
 * type sets, and strict decoding.
 */
import { describe, expect, it } from 'vitest';
import { rdataFromText, rdataToText, readRdata } from '../../src/wire/rdata.js';
import { Reader } from '../../src/wire/reader.js';
import { decodeTypeBitmap, encodeTypeBitmap, typeBitmapProblem } from '../../src/wire/typebitmap.js';
import { T } from '../../src/wire/types.js';
import { WireError } from '../../src/wire/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('encodeTypeBitmap / decodeTypeBitmap (RFC 4034 §4.1.2)', () => {
  it('encodes the RFC 4034 §4.3 example: A MX RRSIG NSEC TYPE1234', () => {
    const expected = `0006400100000003041b${'00'.repeat(26)}20`;
    expect(hex(encodeTypeBitmap([T.A, T.MX, T.RRSIG, T.NSEC, 1234]))).toBe(expected);
    expect(decodeTypeBitmap(Buffer.from(expected, 'hex'))).toEqual([1, 15, 46, 47, 1234]);
  });

  it.each([
    { types: [], bytes: '' },
    { types: [0], bytes: '000180' },
    { types: [T.A], bytes: '000140' },
    { types: [7], bytes: '000101' },
    { types: [8], bytes: '00020080' },
    { types: [255], bytes: `0020${'00'.repeat(31)}01` },
    { types: [256], bytes: '010180' },
    { types: [65535], bytes: `ff20${'00'.repeat(31)}01` },
    { types: [T.CAA, T.A], bytes: '000140010140' },
  ])('$types -> $bytes', ({ types, bytes }) => {
    expect(hex(encodeTypeBitmap(types))).toBe(bytes);
    expect(decodeTypeBitmap(Buffer.from(bytes, 'hex'))).toEqual([...types].sort((a, b) => a - b));
  });

  it('ignores order and duplicates', () => {
    expect(hex(encodeTypeBitmap([T.NSEC, T.A, T.NSEC, T.A, T.RRSIG]))).toBe(
      hex(encodeTypeBitmap([T.A, T.RRSIG, T.NSEC])),
    );
  });

  it('rejects values that are not type numbers', () => {
    for (const bad of [-1, 65536, 1.5, Number.NaN]) expect(() => encodeTypeBitmap([bad])).toThrow(RangeError);
  });

  it('agrees with the zone codec (NSEC rdata from text) on random type sets', () => {
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    for (let round = 0; round < 300; round++) {
      const count = 1 + Math.floor(rand() * 12);
      const types = Array.from({ length: count }, () =>
        rand() < 0.7 ? Math.floor(rand() * 300) : Math.floor(rand() * 65536),
      );
      const viaCodec = rdataFromText(T.NSEC, `a. ${types.map((t) => `TYPE${t}`).join(' ')}`, null).subarray(3);
      const ours = encodeTypeBitmap(types);
      expect(hex(ours)).toBe(hex(viaCodec));
      expect(decodeTypeBitmap(ours)).toEqual([...new Set(types)].sort((a, b) => a - b));
    }
  });

  it.each([
    ['a truncated header', '00'],
    ['a zero length', '0000'],
    ['a length over 32', `0021${'00'.repeat(32)}01`],
    ['a block past the end', '000240'],
    ['a trailing zero octet', '00024000'],
    ['windows out of order', '010140000140'],
    ['a repeated window', '000140000120'],
  ])('rejects %s', (_what, bytes) => {
    expect(() => decodeTypeBitmap(Buffer.from(bytes, 'hex'))).toThrow(RangeError);
  });
});

describe('typeBitmapProblem: the same rules for rdata from the wire', () => {
  it('accepts a well-formed bitmap at an offset and returns null', () => {
    const b = Buffer.from('ff' + '000140010140' + 'ff', 'hex');
    expect(typeBitmapProblem(b, 1, b.length - 1)).toBeNull();
    expect(decodeTypeBitmap(b, 1, b.length - 1)).toEqual([T.A, T.CAA]);
  });

  it('names the window at fault', () => {
    const b = Buffer.from('010140000140', 'hex');
    expect(typeBitmapProblem(b, 0, b.length)).toBe('type bitmap: window 0 out of order');
  });

  it('the NSEC rdata codec rejects the same bitmaps with a WireError', () => {
    const next = '0161' + '00'; // "a."
    for (const bitmap of ['0000', '00024000', '010140000140', '000240']) {
      const rdata = Buffer.from(next + bitmap, 'hex');
      expect(() => readRdata(new Reader(rdata), T.NSEC, rdata.length), bitmap).toThrow(WireError);
    }
    const good = Buffer.from(next + '000140010140', 'hex');
    expect(rdataToText(T.NSEC, readRdata(new Reader(good), T.NSEC, good.length))).toBe('a. A CAA');
  });
});
