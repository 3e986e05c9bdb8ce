import { describe, expect, it } from 'vitest';
import { sipHash24 } from '../../src/wire/siphash.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

/** A second, straightforward SipHash-2-4 on BigInt, written from the paper's description, to compare with. */
function sipHashBig(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const M = (1n << 64n) - 1n;
  const word = (b: Uint8Array, p: number): bigint => {
    let x = 0n;
    for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(b[p + i] ?? 0);
    return x;
  };
  const rotl = (x: bigint, n: bigint): bigint => ((x << n) | (x >> (64n - n))) & M;
  const k0 = word(key, 0);
  const k1 = word(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const padded = new Uint8Array(Math.floor(msg.length / 8) * 8 + 8);
  padded.set(msg);
  padded[padded.length - 1] = msg.length & 0xff;
  for (let p = 0; p < padded.length; p += 8) {
    const m = word(padded, p);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  const h = v0 ^ v1 ^ v2 ^ v3;
  return Uint8Array.from({ length: 8 }, (_, i) => Number((h >> BigInt(8 * i)) & 0xffn));
}

describe('sipHash24', () => {
  it('gives the test vectors of the SipHash paper (key 00..0f, message 00..len-1)', () => {
    // Appendix A of the paper: 15 octets -> a129ca6149be45e5 (little-endian output), and the reference
    // implementation's vectors.h for the empty message and one octet.
    expect(hex(sipHash24(bytes(16), bytes(15)))).toBe('e545be4961ca29a1');
    expect(hex(sipHash24(bytes(16), bytes(0)))).toBe('310e0edd47db6f72');
    expect(hex(sipHash24(bytes(16), bytes(1)))).toBe('fd67dc93c539f874');
  });

  it('agrees with an independent BigInt implementation for every length 0..64 and random keys', () => {
    for (let len = 0; len <= 64; len++) {
      const key = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + len * 11 + 0xa5) & 0xff);
      const msg = Uint8Array.from({ length: len }, (_, i) => (i * 101 + len) & 0xff);
      expect(hex(sipHash24(key, msg)), `length ${len}`).toBe(hex(sipHashBig(key, msg)));
    }
  });

  it('changes with every key octet', () => {
    const base = hex(sipHash24(bytes(16), bytes(12)));
    for (let i = 0; i < 16; i++) {
      const key = bytes(16);
      key[i]! ^= 1;
      expect(hex(sipHash24(key, bytes(12)))).not.toBe(base);
    }
  });

  it('refuses a key that is not 16 octets', () => {
    expect(() => sipHash24(bytes(15), bytes(1))).toThrow(/16 octets/);
  });
});
