import { describe, expect, it } from 'vitest';
import { RrsigTable } from '../../src/dnssec/rrsigs.js';
import { slabCopy } from '../../src/wire/slab.js';
import { T } from '../../src/wire/types.js';

/** A stand-in RRSIG rdata: the covered type, then a tag that tells signatures apart. */
const sig = (type: number, tag: number): Uint8Array =>
  slabCopy(Uint8Array.from([type >> 8, type & 0xff, tag >> 8, tag & 0xff]));

describe('RrsigTable', () => {
  it('finds signatures by owner and covered type across runs of one owner, signed in any order', () => {
    const t = new RrsigTable();
    // The order of zonesign's signingJobs: DNSKEY at the apex, the nodes' RRsets, then the NSEC chain.
    const jobs: [string, number][] = [
      ['apex', T.DNSKEY],
      ['apex', T.SOA],
      ['apex', T.NS],
      ['a', T.A],
      ['a', T.AAAA],
      ['b', T.TXT],
      ['apex', T.NSEC],
      ['a', T.NSEC],
      ['b', T.NSEC],
    ];
    const ids = jobs.map(([owner, type]) => t.addJob(owner, type));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    t.seal();
    for (const i of [8, 3, 0, 5, 1, 7, 2, 6, 4]) t.setSignature(i, sig(jobs[i]![1], i), 1000 + (i === 5 ? -1 : i));
    expect(t.size).toBe(9);
    expect(t.earliestExpiration).toBe(999);
    jobs.forEach(([owner, type], i) => {
      expect(t.find(owner, type)).toEqual(sig(type, i));
      expect(t.signature(i)).toEqual(sig(type, i));
    });
    expect(t.find('apex', T.A)).toBeUndefined();
    expect(t.find('b', T.A)).toBeUndefined();
    expect(t.find('c', T.A)).toBeUndefined();
  });

  it('grows past its first capacity and keeps signatures that do not sit in a slab', () => {
    const t = new RrsigTable();
    for (let i = 0; i < 5000; i++) t.addJob(`o${i >> 1}`, i & 1 ? T.A : T.NSEC);
    t.seal();
    const big = new Uint8Array(70_000).subarray(66_000, 66_004); // an offset beyond 16 bits: copied
    big.set([0, T.A, 0xbe, 0xef]);
    for (let i = 0; i < 5000; i++) t.setSignature(i, i === 4999 ? big : sig(i & 1 ? T.A : T.NSEC, i), 5000 - i);
    expect(t.earliestExpiration).toBe(1);
    expect(t.find('o1000', T.NSEC)).toEqual(sig(T.NSEC, 2000));
    expect(t.find('o1000', T.A)).toEqual(sig(T.A, 2001));
    expect(t.find('o2499', T.A)).toEqual(Uint8Array.from([0, T.A, 0xbe, 0xef]));
  });
});
