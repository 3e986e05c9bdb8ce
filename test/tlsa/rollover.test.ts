import { describe, expect, it } from 'vitest';
import {
  advance,
  mergeHistory,
  nextWithdrawal,
  published,
  retention,
  type HostRollover,
  type Wanted,
} from '../../src/tlsa/rollover.js';

const A = '3 1 1 AAAA';
const B = '3 1 1 BBBB';
const C = '3 1 1 CCCC';
const CA = '2 1 1 CA00';
const cur = (rdata: string): Wanted => ({ rdata, role: 'current' });
const nxt = (rdata: string): Wanted => ({ rdata, role: 'next' });
const iss = (rdata: string): Wanted => ({ rdata, role: 'issuer' });

/** Runs steps [time, wanted, ttl] from nothing; returns the states after each step. */
function run(steps: [number, Wanted[], number][]): HostRollover[] {
  const out: HostRollover[] = [];
  let h: HostRollover | undefined;
  for (const [t, w, ttl] of steps) {
    h = advance(h, w, ttl, t);
    out.push(h);
  }
  return out;
}

describe('retention', () => {
  const cases: [number, number, number][] = [
    [300, 300, 600],
    [3600, 300, 7200],
    [300, 3600, 7200],
    [0, 0, 0],
  ];
  for (const [o, n, r] of cases) it(`old ${o}, new ${n}: ${r}`, () => expect(retention(o, n)).toBe(r));
});

describe('advance / published', () => {
  it('first publication: current, next and issuer are all published, sorted, since now', () => {
    const h = advance(undefined, [cur(B), nxt(C), iss(CA)], 300, 1000);
    expect(published(h, 1000)).toEqual([CA, B, C]);
    expect(h.records.map((r) => [r.rdata, r.roles, r.since, r.until])).toEqual([
      [CA, ['issuer'], 1000, undefined],
      [B, ['current'], 1000, undefined],
      [C, ['next'], 1000, undefined],
    ]);
    expect(nextWithdrawal(h)).toBeUndefined();
  });

  it('published = current ∪ next ∪ retired within retention: a replaced record stays 2 x TTL, then goes at `until` exactly', () => {
    const [, h] = run([
      [1000, [cur(A)], 300],
      [2000, [cur(B)], 300],
    ]);
    const a = h!.records.find((r) => r.rdata === A)!;
    expect(a).toEqual({ rdata: A, roles: [], since: 1000, retiredAt: 2000, until: 2600 });
    expect(nextWithdrawal(h!)).toBe(2600);
    expect(published(h!, 2000)).toEqual([A, B]);
    expect(published(h!, 2599)).toEqual([A, B]);
    expect(published(h!, 2600)).toEqual([B]);
    // advancing at the withdrawal time drops the record from the state too
    const later = advance(h, [cur(B)], 300, 2600);
    expect(later.records.map((r) => r.rdata)).toEqual([B]);
    expect(nextWithdrawal(later)).toBeUndefined();
    // ...and one second before, it is kept unchanged
    const before = advance(h, [cur(B)], 300, 2599);
    expect(before.records).toEqual(h!.records);
  });

  const ttlCases: [number, number, number, string][] = [
    [300, 3600, 7200, 'TTL raised with the change: the new (larger) TTL'],
    [3600, 300, 7200, 'TTL lowered with the change: the old (larger) TTL'],
    [600, 600, 1200, 'same TTL'],
  ];
  for (const [oldTtl, newTtl, keep, why] of ttlCases) {
    it(`retention uses the larger of old and new TTL: ${why}`, () => {
      const [, h] = run([
        [0, [cur(A)], oldTtl],
        [100, [cur(B)], newTtl],
      ]);
      expect(h!.ttl).toBe(newTtl);
      expect(h!.records.find((r) => r.rdata === A)!.until).toBe(100 + keep);
      expect(published(h!, 100 + keep - 1)).toContain(A);
      expect(published(h!, 100 + keep)).not.toContain(A);
    });
  }

  it('a retired record keeps its `until` on later advances (the clock does not restart)', () => {
    const [, , h] = run([
      [0, [cur(A)], 300],
      [100, [cur(B)], 300],
      [400, [cur(B)], 300],
    ]);
    expect(h!.records.find((r) => r.rdata === A)).toEqual({
      rdata: A,
      roles: [],
      since: 0,
      retiredAt: 100,
      until: 700,
    });
  });

  it('next becoming current keeps its record: no withdrawal, no gap, same `since`', () => {
    const [, h] = run([
      [0, [cur(A), nxt(B)], 300],
      [5000, [cur(B)], 300],
    ]);
    const b = h!.records.find((r) => r.rdata === B)!;
    expect(b).toEqual({ rdata: B, roles: ['current'], since: 0 });
    expect(published(h!, 5000)).toEqual([A, B]);
    expect(published(h!, 5600)).toEqual([B]);
  });

  it('a retired record that is wanted again un-retires (key re-used on renewal) and keeps its first `since`', () => {
    const [, , h] = run([
      [0, [cur(A)], 300],
      [100, [cur(B)], 300],
      [200, [cur(A)], 300],
    ]);
    expect(h!.records.find((r) => r.rdata === A)).toEqual({ rdata: A, roles: ['current'], since: 0 });
    expect(h!.records.find((r) => r.rdata === B)).toEqual({
      rdata: B,
      roles: [],
      since: 100,
      retiredAt: 200,
      until: 800,
    });
    // it stays after the old `until` (700)
    expect(published(advance(h, [cur(A)], 300, 10_000), 10_000)).toEqual([A]);
  });

  it('a record withdrawn completely and wanted again is new (since = now)', () => {
    const [, , , h] = run([
      [0, [cur(A)], 300],
      [100, [cur(B)], 300],
      [800, [cur(B)], 300],
      [5000, [cur(A)], 300],
    ]);
    expect(h!.records).toEqual([
      { rdata: A, roles: ['current'], since: 5000 },
      { rdata: B, roles: [], since: 100, retiredAt: 5000, until: 5600 },
    ]);
  });

  it('duplicates are one record with every role (certificate == next key; same wanted twice)', () => {
    const h = advance(undefined, [cur(A), nxt(A), cur(A), iss(CA)], 300, 0);
    expect(published(h, 0)).toEqual([CA, A]);
    expect(h.records.find((r) => r.rdata === A)!.roles).toEqual(['current', 'next']);
    const h2 = advance(undefined, [nxt(A), cur(A)], 300, 0);
    expect(h2.records).toEqual(advance(undefined, [cur(A), nxt(A)], 300, 0).records);
  });

  it('deterministic: the same wanted set in any order gives the same state', () => {
    const w = [cur(C), nxt(A), iss(CA), cur(B)];
    const perms = [w, [...w].reverse(), [w[2]!, w[0]!, w[3]!, w[1]!]];
    const states = perms.map((p) => JSON.stringify(advance(undefined, p, 300, 7)));
    expect(new Set(states).size).toBe(1);
    expect(published(advance(undefined, w, 300, 7), 7)).toEqual([CA, A, B, C]);
  });

  it('nothing wanted: everything retires (a host with unreadable files keeps nothing beyond retention)', () => {
    const [, h] = run([
      [0, [cur(A), nxt(B)], 60],
      [10, [], 60],
    ]);
    expect(published(h!, 129)).toEqual([A, B]);
    expect(published(h!, 130)).toEqual([]);
    expect(nextWithdrawal(h!)).toBe(130);
  });

  it('nextWithdrawal is the earliest `until`', () => {
    const [, , h] = run([
      [0, [cur(A), nxt(B), iss(CA)], 300],
      [100, [cur(B), iss(CA)], 300],
      [200, [cur(C)], 300],
    ]);
    expect(nextWithdrawal(h!)).toBe(700);
    expect(h!.records.filter((r) => r.until !== undefined).map((r) => [r.rdata, r.until])).toEqual([
      [CA, 800],
      [A, 700],
      [B, 800],
    ]);
  });

  it('the input state is not modified', () => {
    const h = advance(undefined, [cur(A)], 300, 0);
    const copy = JSON.stringify(h);
    advance(h, [cur(B)], 600, 50);
    expect(JSON.stringify(h)).toBe(copy);
  });
});

describe('mergeHistory', () => {
  const kept: HostRollover = {
    ttl: 600,
    records: [
      { rdata: A, roles: ['current'], since: 10 },
      { rdata: B, roles: [], since: 5, retiredAt: 50, until: 2000 },
      { rdata: '3 1 1 CCCC', roles: [], since: 5, retiredAt: 50, until: 900 },
    ],
  };
  const now: HostRollover = { ttl: 300, records: [{ rdata: '3 1 1 DDDD', roles: ['current'], since: 1000 }] };

  it('takes up the records a history read late has: a wanted one retires now, a retired one keeps its end', () => {
    const m = mergeHistory(now, kept, 1000);
    expect(m.ttl).toBe(300);
    expect(m.records).toEqual([
      { rdata: A, roles: [], since: 10, retiredAt: 1000, until: 1000 + retention(600, 300) },
      { rdata: B, roles: [], since: 5, retiredAt: 50, until: 2000 },
      { rdata: '3 1 1 DDDD', roles: ['current'], since: 1000 },
    ]);
    expect(published(m, 1000)).toEqual([A, B, '3 1 1 DDDD']);
  });

  it("the state's own records win; a host the state lacks is taken as it was, its ended records left out", () => {
    const same = mergeHistory({ ttl: 300, records: [{ rdata: A, roles: ['next'], since: 900 }] }, kept, 1000);
    expect(same.records.find((r) => r.rdata === A)).toEqual({ rdata: A, roles: ['next'], since: 900 });
    expect(mergeHistory(undefined, kept, 1000).records.map((r) => r.rdata)).toEqual([A, B]);
  });
});
