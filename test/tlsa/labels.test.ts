import { describe, expect, it } from 'vitest';
import { advance, published, type HostRollover, type Wanted } from '../../src/tlsa/rollover.js';
import { coldRolloverAt, labelRecords, readyAt, rotationWarnings, shortKey } from '../../src/tlsa/labels.js';

const A = '3 1 1 AAAA000011112222333344445555';
const B = '3 1 1 BBBB000011112222333344445555';
const C = '3 1 1 CCCC000011112222333344445555';
const CA = '2 1 1 CA00';
const cur = (rdata: string): Wanted => ({ rdata, role: 'current' });
const nxt = (rdata: string): Wanted => ({ rdata, role: 'next' });
const iso = (sec: number): string => new Date(sec * 1000).toISOString();

const TTL = 300;
const T0 = 1_800_000_000;

/** A host driven step by step on an injected clock, as the manager drives it. */
function host(): {
  step(at: number, wanted: Wanted[]): HostRollover;
  labels(at: number): Record<string, string>;
  warnings(at: number): string[];
} {
  let h: HostRollover | undefined;
  return {
    step(at, wanted) {
      h = advance(h, wanted, TTL, at);
      return h;
    },
    labels: (at) => Object.fromEntries(labelRecords(published(h!, at), h, at).map((l) => [l.rdata, l.label])),
    warnings: (at) => rotationWarnings(h, at).map((w) => `${w.event} ${w.rdata}${w.until ? ` ${w.until}` : ''}`),
  };
}

describe('readyAt / shortKey', () => {
  it('ready after twice the TTL (the retention margin)', () => expect(readyAt(T0, 300)).toBe(T0 + 600));
  it('short key: 16 lower-case hex digits of the association data', () => expect(shortKey(A)).toBe('aaaa000011112222'));
});

describe('a whole next: cycle', () => {
  const h = host();
  it('first publication: current, next not ready yet, and no cold rollover (nothing was cached before)', () => {
    h.step(T0, [cur(A), nxt(B)]);
    expect(h.labels(T0)).toEqual({ [A]: 'current', [B]: `next (ready at ${iso(T0 + 600)})` });
    expect(h.warnings(T0)).toEqual([]);
  });
  it('after 2 x TTL the next key is ready and says it is safe to deploy', () => {
    h.step(T0 + 599, [cur(A), nxt(B)]);
    expect(h.labels(T0 + 599)[B]).toBe(`next (ready at ${iso(T0 + 600)})`);
    h.step(T0 + 600, [cur(A), nxt(B)]);
    expect(h.labels(T0 + 600)[B]).toBe(`next (ready at ${iso(T0 + 600)}: safe to deploy)`);
  });
  it('renewal with the next key: the old key retires, no cold rollover, next==current is warned', () => {
    const before = h.step(T0 + 1000, [cur(A), nxt(B)]);
    const after = h.step(T0 + 1000, [cur(B), nxt(B)]);
    expect(coldRolloverAt(before, after, T0 + 1000)).toBeUndefined();
    expect(h.labels(T0 + 1000)).toEqual({
      [A]: `retiring until ${iso(T0 + 1600)}`,
      [B]: `current, next (ready at ${iso(T0 + 600)}: safe to deploy)`,
    });
    expect(h.warnings(T0 + 1000)).toEqual([`tlsa-next-in-use ${B}`]);
    expect(rotationWarnings(after, T0 + 1000)[0]!.message).toContain('generate a new next key');
  });
  it('a new next key ends the warning; the retired record goes after its retention', () => {
    h.step(T0 + 2000, [cur(B), nxt(C)]);
    expect(h.labels(T0 + 2000)).toEqual({ [B]: 'current', [C]: `next (ready at ${iso(T0 + 2600)})` });
    expect(h.warnings(T0 + 2000)).toEqual([]);
  });
});

describe('cold rollover', () => {
  it('a key never pre-published: warned until 2 x TTL after the change, then not', () => {
    const h = host();
    const before = h.step(T0, [cur(A)]);
    const after = h.step(T0 + 5000, [cur(C)]);
    const w = coldRolloverAt(before, after, T0 + 5000);
    expect(w).toMatchObject({ event: 'tlsa-cold-rollover', rdata: C, until: T0 + 5600 });
    expect(w!.message).toContain('cccc000011112222');
    expect(w!.message).toContain(iso(T0 + 5600));
    expect(w!.message).toContain('--reuse-key');
    expect(h.warnings(T0 + 5599)).toEqual([`tlsa-cold-rollover ${C} ${T0 + 5600}`]);
    expect(h.labels(T0 + 5599)).toEqual({ [A]: `retiring until ${iso(T0 + 5600)}`, [C]: 'current' });
    h.step(T0 + 5600, [cur(C)]);
    expect(h.warnings(T0 + 5600)).toEqual([]);
  });
  it('a next key used before it was ready: warned until it is ready', () => {
    const h = host();
    h.step(T0, [cur(A)]);
    const before = h.step(T0 + 100, [cur(A), nxt(B)]);
    const after = h.step(T0 + 400, [cur(B)]);
    expect(coldRolloverAt(before, after, T0 + 400)).toMatchObject({ rdata: B, until: T0 + 700 });
  });
  it('a renewal in the same second as the first publication is a cold rollover too', () => {
    const h = host();
    const before = h.step(T0, [cur(A)]);
    const after = h.step(T0, [cur(B)]);
    expect(coldRolloverAt(before, after, T0)).toMatchObject({ rdata: B, until: T0 + 600 });
    expect(h.warnings(T0 + 599)).toEqual([`tlsa-cold-rollover ${B} ${T0 + 600}`]);
    expect(h.warnings(T0 + 600)).toEqual([]);
  });
  it('no change of the current key, or no previous state: none', () => {
    const h = host();
    const first = h.step(T0, [cur(A)]);
    expect(coldRolloverAt(undefined, first, T0)).toBeUndefined();
    expect(coldRolloverAt(first, h.step(T0 + 10, [cur(A), nxt(B)]), T0 + 10)).toBeUndefined();
  });
});

describe('labelRecords', () => {
  it('issuer records, records missing from the state, and no state at all', () => {
    const h = advance(undefined, [cur(A), { rdata: CA, role: 'issuer' }], TTL, T0);
    expect(labelRecords([CA, A, B], h, T0).map((l) => l.label)).toEqual([
      'issuer',
      'current',
      'not in the rollover state (hand-written, or published by another server)',
    ]);
    expect(labelRecords([A], undefined, T0)[0]!.label).toMatch(/^not in the rollover state/);
  });
});
