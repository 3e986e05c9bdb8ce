/**
 * Serial number arithmetic (src/wire/serial.ts, RFC 1982 with SERIAL_BITS = 32): the comparisons SOA serials
 * (state/serials.ts) and RRSIG validity windows (dnssec/sign.ts, RFC 4034 §3.1.5) are made with.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../fixtures/rng.js';
import { serialAdd, serialDiff, serialGreater, serialOf } from '../../src/wire/serial.js';

const TWO_32 = 2 ** 32;

describe('serialOf', () => {
  it.each<[number, number]>([
    [0, 0],
    [TWO_32 - 1, TWO_32 - 1],
    [TWO_32, 0],
    [-1, TWO_32 - 1],
    [3 * TWO_32 + 7, 7],
  ])('serialOf(%d) = %d', (n, v) => {
    expect(serialOf(n)).toBe(v);
  });
});

describe('serialAdd (RFC 1982 §3.1)', () => {
  it('adds modulo 2^32', () => {
    expect(serialAdd(41, 1)).toBe(42);
    expect(serialAdd(TWO_32 - 1, 1)).toBe(0);
    expect(serialAdd(TWO_32 - 2, 2 ** 31 - 1)).toBe(2 ** 31 - 3);
  });
});

describe('serialDiff (RFC 1982 §3.2)', () => {
  it.each<[number, number, number]>([
    [5, TWO_32 - 11, 16], // 5 is 16 s after 2^32 - 11: across the wrap
    [TWO_32 - 11, 5, -16],
    [100, 40, 60],
    [2 ** 31 - 1, 0, 2 ** 31 - 1],
    [2 ** 31 + 1, 0, -(2 ** 31 - 1)], // more than half the circle ahead counts as behind
  ])('serialDiff(%d, %d) = %d', (a, b, d) => {
    expect(serialDiff(a, b)).toBe(d);
  });

  it('the pairs 2^31 apart are -2^31 both ways (undefined in RFC 1982)', () => {
    expect(serialDiff(2 ** 31, 0)).toBe(-(2 ** 31));
    expect(serialDiff(0, 2 ** 31)).toBe(-(2 ** 31));
  });
});

describe('serialGreater (RFC 1982 §3.2)', () => {
  it.each<[number, number, boolean]>([
    [1, 0, true],
    [0, 1, false],
    [7, 7, false],
    [0, TWO_32 - 1, true], // the wrap: 0 follows 2^32 - 1
    [TWO_32 - 1, 0, false],
    [2 ** 31 - 1, 0, true],
    [2 ** 31, 0, false], // undefined: neither greater nor less
    [0, 2 ** 31, false],
    [2 ** 31 + 1, 0, false],
    [0, 2 ** 31 + 1, true],
  ])('serialGreater(%d, %d) = %s', (a, b, g) => {
    expect(serialGreater(a, b)).toBe(g);
  });

  it('agrees with the RFC 1982 §3.2 definition on random pairs', () => {
    const rand = mulberry32(0x9e3779b9);
    const next = (): number => Math.floor(rand() * TWO_32);
    for (let i = 0; i < 2000; i++) {
      const a = next();
      const b = i % 3 === 0 ? (a + (next() % 5) * 2 ** 29) % TWO_32 : next();
      const rfc = (a < b && b - a > 2 ** 31) || (a > b && a - b < 2 ** 31);
      expect(serialGreater(a, b), `${a} ${b}`).toBe(rfc);
    }
  });
});
