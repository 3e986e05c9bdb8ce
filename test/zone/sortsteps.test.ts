import { describe, expect, it } from 'vitest';
import { sortSteps } from '../../src/zone/sortsteps.js';
import { compareNames, parseName, ROOT } from '../../src/wire/name.js';

/** Runs the generator to its end; how often it yielded. */
function run<T>(g: Generator<void, T, undefined>): { value: T; yields: number } {
  let yields = 0;
  for (;;) {
    const r = g.next();
    if (r.done) return { value: r.value, yields };
    yields++;
  }
}

/** A small deterministic generator of pseudo-random numbers (xorshift32). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('sortSteps', () => {
  it('gives the order of Array.prototype.sort, stable, for sizes around the run length', () => {
    const rnd = random(7);
    for (const n of [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 257, 1000]) {
      // Few distinct keys, so that stability is tested: equal keys keep their input order.
      const items = Array.from({ length: n }, (_, i) => ({ key: Math.floor(rnd() * 10), i }));
      const byKey = (a: { key: number }, b: { key: number }): number => a.key - b.key;
      const expected = [...items].sort(byKey);
      const input = [...items];
      const { value } = run(sortSteps(items, byKey, 8));
      expect(value).toEqual(expected);
      expect(items).toEqual(input); // the input is left as it was
    }
  });

  it('yields about once per perStep items sorted or merged, and not at all for one run', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_007);
    const { value, yields } = run(sortSteps(items, (a, b) => a - b, 1000));
    expect(value).toEqual([...items].sort((a, b) => a - b));
    // 9 yields between the 10 runs, then 4 merge passes of 10,000 items: 40 more.
    expect(yields).toBe(9 + 40);
    expect(run(sortSteps(items.slice(0, 1000), (a, b) => a - b, 1000)).yields).toBe(0);
  });

  it('sorts names in canonical order (as buildZone uses it)', () => {
    const names = ['b.example.', 'example.', 'a.example.', 'z.a.example.', '*.example.', 'A.b.example.'].map((t) =>
      parseName(t, ROOT),
    );
    const { value } = run(sortSteps(names, compareNames, 2));
    expect(value.map((n) => n.key)).toEqual([...names].sort(compareNames).map((n) => n.key));
  });

  it('refuses a run length that is not a positive integer', () => {
    expect(() => run(sortSteps([1], (a, b) => a - b, 0))).toThrow(RangeError);
  });
});
