/**
 * Tests for src/dnssec/lifecycle.ts: key states at the boundaries of their times, which keys are published and
 * which sign, and the times a rollover plan sets (and when it refuses).
 */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/dnssec/keys.js';
import type { StoredZoneKey } from '../../src/dnssec/keyfile.js';
import {
  keyState,
  planDsPublished,
  planRollover,
  selectKeys,
  type RolloverTiming,
} from '../../src/dnssec/lifecycle.js';
import { parseName, ROOT } from '../../src/wire/name.js';

const ZONE = parseName('example.com.', ROOT);
const NOW = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const H = 3600_000;
const at = (hours: number): Date => new Date(NOW.getTime() + hours * H);
const TIMING: RolloverTiming = { dnskeyTtl: 3600, maxTtl: 86400, margin: 3600, dsTtl: 7200 };

function key(
  role: 'ksk' | 'zsk' | 'csk',
  times: { created?: number; publish?: number; activate?: number; inactive?: number; delete?: number } = {},
): StoredZoneKey {
  const k = generateKey(ZONE, role, at(times.created ?? -100));
  return Object.freeze({
    ...k,
    publish: at(times.publish ?? -100),
    activate: at(times.activate ?? -100),
    ...(times.inactive !== undefined ? { inactive: at(times.inactive) } : {}),
    ...(times.delete !== undefined ? { delete: at(times.delete) } : {}),
  });
}

describe('keyState', () => {
  it('follows Publish, Activate, Inactive and Delete, each inclusive at its own second', () => {
    const k = key('zsk', { publish: 1, activate: 2, inactive: 3, delete: 4 });
    expect(keyState(k, at(0))).toBe('pending');
    expect(keyState(k, at(1))).toBe('published');
    expect(keyState(k, at(2))).toBe('active');
    expect(keyState(k, at(3))).toBe('retired');
    expect(keyState(k, at(4))).toBe('removed');
    expect(keyState(k, new Date(at(2).getTime() - 1))).toBe('published');
  });

  it('a key is never active before it is published, whatever its Activate says', () => {
    expect(keyState(key('zsk', { publish: 1, activate: -5 }), at(0))).toBe('pending');
  });

  it('Delete without Inactive removes an active key', () => {
    expect(keyState(key('ksk', { delete: 1 }), at(1))).toBe('removed');
  });
});

describe('selectKeys', () => {
  it('publishes pre-published and retired keys, signs with active ones only, and names the next event', () => {
    const ksk = key('ksk');
    const oldZsk = key('zsk', { activate: -50, inactive: -1, delete: 5 });
    const zsk = key('zsk', { activate: -1 });
    const next = key('zsk', { publish: -1, activate: 2 });
    const future = key('zsk', { publish: 3, activate: 4 });
    const s = selectKeys([future, next, zsk, oldZsk, ksk], 'ksk-zsk', NOW);
    expect(s.published.map((k) => k.tag).sort()).toEqual([ksk, oldZsk, zsk, next].map((k) => k.tag).sort());
    expect(s.published[0]).toBe(ksk); // 257 first
    expect(s.dnskeySigners).toEqual([ksk]);
    expect(s.ksk).toBe(ksk);
    expect(s.zsk).toBe(zsk);
    expect(s.nextEvent).toEqual(at(2));
  });

  it('the newest active key signs the zone; every active KSK signs the DNSKEY RRset, newest first', () => {
    const k1 = key('ksk', { activate: -10 });
    const k2 = key('ksk', { activate: -2 });
    const z1 = key('zsk', { activate: -10 });
    const z2 = key('zsk', { activate: -2 });
    const s = selectKeys([k1, z2, k2, z1], 'ksk-zsk', NOW);
    expect(s.dnskeySigners).toEqual([k2, k1]);
    expect(s.zsk).toBe(z2);
  });

  it('csk mode ignores 256 keys and signs everything with the newest active 257 key', () => {
    const old = key('csk', { activate: -10, inactive: 2, delete: 2 });
    const csk = key('csk', { activate: -1 });
    const zsk = key('zsk');
    const s = selectKeys([old, csk, zsk], 'csk', NOW);
    expect(s.published).not.toContain(zsk);
    expect(s.zsk).toBe(csk);
    expect(s.dnskeySigners).toEqual([csk, old]);
    expect(s.nextEvent).toEqual(at(2));
  });

  it('no events ahead: nextEvent is undefined', () => {
    expect(selectKeys([key('ksk'), key('zsk')], 'ksk-zsk', NOW).nextEvent).toBeUndefined();
  });
});

describe('planRollover', () => {
  it('ZSK: new key now, signing after DNSKEY TTL + margin; the old one stops then and leaves after the largest TTL + margin', () => {
    const zsk = key('zsk');
    const r = planRollover([key('ksk'), zsk], 'ksk-zsk', 'zsk', TIMING, NOW);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.create).toEqual({ role: 'zsk', publish: NOW, activate: at(2) });
    expect(r.plan.retire).toEqual([{ key: zsk, inactive: at(2), delete: at(2 + 24 + 1) }]);
    expect(r.plan.dsFrom).toBeUndefined();
  });

  it('KSK: new key published and signing now; its DS may go up after DNSKEY TTL + margin; nothing retires yet', () => {
    const r = planRollover([key('ksk'), key('zsk')], 'ksk-zsk', 'ksk', TIMING, NOW);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.create).toEqual({ role: 'ksk', publish: NOW, activate: NOW });
    expect(r.plan.retire).toEqual([]);
    expect(r.plan.dsFrom).toEqual(at(2));
  });

  it('CSK: signs after pre-publication; its DS waits until the DNSKEY RRset it signs is in every cache', () => {
    const r = planRollover([key('csk')], 'csk', 'csk', TIMING, NOW);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.create).toEqual({ role: 'csk', publish: NOW, activate: at(2) });
    expect(r.plan.dsFrom).toEqual(at(4));
  });

  it('truncates to whole seconds (the key files keep seconds)', () => {
    const r = planRollover([key('ksk'), key('zsk')], 'ksk-zsk', 'zsk', TIMING, new Date(NOW.getTime() + 999));
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.create.publish).toEqual(NOW);
  });

  it('refuses while a rollover of the same role is under way, or for the wrong mode', () => {
    const pending = key('zsk', { publish: -1, activate: 1 });
    const z = planRollover([key('ksk'), key('zsk'), pending], 'ksk-zsk', 'zsk', TIMING, NOW);
    expect(z.ok).toBe(false);
    expect(!z.ok && z.error).toContain(`ZSK ${pending.tag} starts signing at 2026-11-23T13:00:00Z`);
    const k = planRollover(
      [key('ksk', { activate: -5 }), key('ksk', { activate: -1 }), key('zsk')],
      'ksk-zsk',
      'ksk',
      TIMING,
      NOW,
    );
    expect(!k.ok && k.error).toContain('--ds-published');
    expect(planRollover([key('csk')], 'csk', 'zsk', TIMING, NOW).ok).toBe(false);
    expect(planRollover([key('ksk'), key('zsk')], 'ksk-zsk', 'csk', TIMING, NOW).ok).toBe(false);
    expect(planRollover([key('ksk')], 'ksk-zsk', 'zsk', TIMING, NOW)).toEqual({
      ok: false,
      error: 'no active ZSK to roll',
    });
  });

  it('refuses when the current ZSK stops before a new one could start', () => {
    const r = planRollover([key('ksk'), key('zsk', { inactive: 1 })], 'ksk-zsk', 'zsk', TIMING, NOW);
    expect(!r.ok && r.error).toContain('remove its Inactive time first');
  });

  it('keeps a later Delete the operator already set', () => {
    const zsk = key('zsk', { delete: 100 });
    const r = planRollover([key('ksk'), zsk], 'ksk-zsk', 'zsk', TIMING, NOW);
    expect(r.ok && r.plan.retire[0]!.delete).toEqual(at(100));
  });
});

describe('planDsPublished', () => {
  it('KSK: the old KSK signs until the old DS has left caches (DS TTL + margin), then leaves', () => {
    const old = key('ksk', { activate: -100 });
    const fresh = key('ksk', { created: -3, publish: -3, activate: -3 });
    const r = planDsPublished([old, fresh, key('zsk')], 'ksk-zsk', TIMING, NOW);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.current).toBe(fresh);
    expect(r.plan.retire).toEqual([{ key: old, inactive: at(3), delete: at(3) }]);
    expect(r.plan.warning).toBeUndefined();
  });

  it('warns when the DS went up before the new key could be in every cached DNSKEY RRset', () => {
    const r = planDsPublished(
      [key('ksk', { activate: -100 }), key('ksk', { created: -1, publish: -1, activate: -1 })],
      'ksk-zsk',
      TIMING,
      NOW,
    );
    expect(r.ok && r.plan.warning).toContain('went to the parent before 2026-11-23T13:00:00Z');
  });

  it('warns too before a SyncPublish the running server set for lagging watched servers', () => {
    const fresh = { ...key('ksk', { created: -3, publish: -3, activate: -3 }), syncPublish: at(1) };
    const r = planDsPublished([key('ksk', { activate: -100 }), fresh], 'ksk-zsk', TIMING, NOW);
    expect(r.ok && r.plan.warning).toContain('went to the parent before 2026-11-23T13:00:00Z');
  });

  it('CSK: the old key also stays until its last zone signatures expired from caches', () => {
    const old = key('csk', { activate: -100 });
    const fresh = key('csk', { created: -5, publish: -5, activate: -3 });
    const r = planDsPublished([old, fresh], 'csk', TIMING, NOW);
    if (!r.ok) throw new Error(r.error);
    expect(r.plan.retire).toEqual([{ key: old, inactive: at(-3 + 24 + 1), delete: at(-3 + 24 + 1) }]);
  });

  it('refuses without a rollover under way, and before a new CSK signs', () => {
    const none = planDsPublished([key('ksk'), key('zsk')], 'ksk-zsk', TIMING, NOW);
    expect(!none.ok && none.error).toContain('no KSK rollover is under way');
    const early = planDsPublished([key('csk'), key('csk', { publish: -1, activate: 1 })], 'csk', TIMING, NOW);
    expect(!early.ok && early.error).toContain('signs from 2026-11-23T13:00:00Z');
  });
});
