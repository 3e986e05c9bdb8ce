/**
 * Tests for src/dnssec/lifetime.ts: a rollover starts when the newest active key of a role has signed for its
 * lifetime, never while one of that role is under way (so a restart in the middle starts no second one), and
 * the next lifetime end is the key event the server wakes for.
 */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/dnssec/keys.js';
import type { StoredZoneKey } from '../../src/dnssec/keyfile.js';
import { planRollover, type RolloverTiming } from '../../src/dnssec/lifecycle.js';
import { lifetimeRollovers } from '../../src/dnssec/lifetime.js';
import { parseName, ROOT } from '../../src/wire/name.js';

const ZONE = parseName('example.com.', ROOT);
const NOW = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const D = 86400;
const at = (days: number): Date => new Date(NOW.getTime() + days * D * 1000);
const TIMING: RolloverTiming = { dnskeyTtl: 3600, maxTtl: 86400, margin: 3600, dsTtl: 7200 };

function key(
  role: 'ksk' | 'zsk' | 'csk',
  times: { publish?: number; activate?: number; inactive?: number; delete?: number } = {},
): StoredZoneKey {
  const k = generateKey(ZONE, role, at(-400));
  return Object.freeze({
    ...k,
    publish: at(times.publish ?? times.activate ?? -400),
    activate: at(times.activate ?? -400),
    ...(times.inactive !== undefined ? { inactive: at(times.inactive) } : {}),
    ...(times.delete !== undefined ? { delete: at(times.delete) } : {}),
  });
}

/** The kinds and old key tags a decision starts. */
const started = (d: ReturnType<typeof lifetimeRollovers>): [string, number][] =>
  d.start.map((r) => [r.kind, r.key.tag]);

describe('lifetimeRollovers', () => {
  it('starts a ZSK rollover once the ZSK has been active for its lifetime, not a second earlier', () => {
    const ksk = key('ksk');
    const zsk = key('zsk', { activate: -90 });
    const life = { zsk: 90 * D, ksk: 0 };
    const due = lifetimeRollovers([ksk, zsk], 'ksk-zsk', life, NOW);
    expect(started(due)).toEqual([['zsk', zsk.tag]]);
    expect(due.start[0]!.due).toEqual(NOW);
    const early = lifetimeRollovers([ksk, zsk], 'ksk-zsk', life, new Date(NOW.getTime() - 1000));
    expect(early.start).toEqual([]);
    expect(early.next).toEqual(NOW);
  });

  it('a lifetime of 0 (the default) starts nothing and plans nothing', () => {
    const keys = [key('ksk', { activate: -1000 }), key('zsk', { activate: -1000 })];
    expect(lifetimeRollovers(keys, 'ksk-zsk', { zsk: 0, ksk: 0 }, NOW)).toEqual({ start: [], next: undefined });
  });

  it('counts from the newest active key: after a ZSK rollover, the next one is a lifetime after the new key signs', () => {
    const ksk = key('ksk');
    const oldZsk = key('zsk', { activate: -100, inactive: -10, delete: -9 });
    const newZsk = key('zsk', { activate: -10 });
    const d = lifetimeRollovers([ksk, oldZsk, newZsk], 'ksk-zsk', { zsk: 30 * D, ksk: 0 }, NOW);
    expect(d.start).toEqual([]);
    expect(d.next).toEqual(at(20));
  });

  it('never while a ZSK rollover is under way: the new ZSK is published and not yet signing (a restart then)', () => {
    const ksk = key('ksk');
    const oldZsk = key('zsk', { activate: -100, inactive: 1, delete: 3 });
    const newZsk = key('zsk', { publish: 0, activate: 1 });
    const d = lifetimeRollovers([ksk, oldZsk, newZsk], 'ksk-zsk', { zsk: 30 * D, ksk: 0 }, NOW);
    expect(d).toEqual({ start: [], next: undefined });
  });

  it('the two roles are decided apart: a KSK due while the ZSK is not', () => {
    const ksk = key('ksk', { activate: -365 });
    const zsk = key('zsk', { activate: -10 });
    const d = lifetimeRollovers([ksk, zsk], 'ksk-zsk', { zsk: 30 * D, ksk: 365 * D }, NOW);
    expect(started(d)).toEqual([['ksk', ksk.tag]]);
    expect(d.next).toEqual(at(20));
  });

  it('never while a KSK rollover waits for the parent: two KSKs sign the DNSKEY RRset', () => {
    const oldKsk = key('ksk', { activate: -400 });
    const newKsk = key('ksk', { activate: -1 });
    const zsk = key('zsk', { activate: -1 });
    const d = lifetimeRollovers([oldKsk, newKsk, zsk], 'ksk-zsk', { zsk: 0, ksk: 30 * D }, NOW);
    expect(d).toEqual({ start: [], next: undefined });
  });

  it('with keys: csk the CSK follows the KSK lifetime, and 256 keys are ignored', () => {
    const csk = key('csk', { activate: -60 });
    const stray = key('zsk', { activate: -1000 });
    const d = lifetimeRollovers([csk, stray], 'csk', { zsk: 1 * D, ksk: 60 * D }, NOW);
    expect(started(d)).toEqual([['csk', csk.tag]]);
    const none = lifetimeRollovers([csk, stray], 'csk', { zsk: 1 * D, ksk: 0 }, NOW);
    expect(none).toEqual({ start: [], next: undefined });
  });

  it('never while a CSK rollover is under way: the new CSK published, then both signing until the DS moves', () => {
    const oldCsk = key('csk', { activate: -400 });
    const pending = key('csk', { publish: 0, activate: 1 });
    expect(lifetimeRollovers([oldCsk, pending], 'csk', { zsk: 0, ksk: 30 * D }, NOW).start).toEqual([]);
    const active = key('csk', { activate: -1 });
    expect(lifetimeRollovers([oldCsk, active], 'csk', { zsk: 0, ksk: 30 * D }, NOW).start).toEqual([]);
  });

  it('no active key of the role: nothing to roll', () => {
    const ksk = key('ksk');
    const zsk = key('zsk', { activate: -100, inactive: -1 });
    expect(lifetimeRollovers([ksk, zsk], 'ksk-zsk', { zsk: D, ksk: 0 }, NOW)).toEqual({ start: [], next: undefined });
  });

  it('what it starts, planRollover accepts; after the plan is applied it starts nothing more', () => {
    const ksk = key('ksk');
    const zsk = key('zsk', { activate: -91 });
    const life = { zsk: 90 * D, ksk: 0 };
    const [roll] = lifetimeRollovers([ksk, zsk], 'ksk-zsk', life, NOW).start;
    const planned = planRollover([ksk, zsk], 'ksk-zsk', roll!.kind, TIMING, NOW);
    if (!planned.ok) throw new Error(planned.error);
    const fresh = Object.freeze({
      ...generateKey(ZONE, 'zsk', NOW),
      publish: planned.plan.create.publish,
      activate: planned.plan.create.activate,
    });
    const r = planned.plan.retire[0]!;
    const after = [ksk, { ...zsk, inactive: r.inactive, delete: r.delete }, fresh];
    expect(lifetimeRollovers(after, 'ksk-zsk', life, NOW)).toEqual({ start: [], next: undefined });
    // Once the new ZSK signs, its own lifetime is the next event.
    const signing = new Date(fresh.activate.getTime() + 1000);
    expect(lifetimeRollovers(after, 'ksk-zsk', life, signing).next).toEqual(
      new Date(fresh.activate.getTime() + 90 * D * 1000),
    );
  });
});
