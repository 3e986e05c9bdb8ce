/**
 * src/server/catalog-members.ts: a member whose zone goes away stays listed for the grace delay and not longer,
 * a zone that comes back within it never leaves, the removal time is the one kept (a restart does not restart
 * the grace), and an unchanged update returns the same state object (nothing to write).
 */
import { describe, expect, it } from 'vitest';
import { keptOf, transferOf, updateMembers } from '../../src/server/catalog-members.js';
import { parsePrefix } from '../../src/zone/prefix.js';
import { EMPTY_CATALOG_STATE } from '../../src/state/catalog.js';

const GRACE = 60_000;
const set = (...names: string[]): Set<string> => new Set(names);

describe('updateMembers', () => {
  it('lists the current zones, sorted', () => {
    const u = updateMembers(EMPTY_CATALOG_STATE, set('b.example.', 'a.example.'), GRACE, 1000);
    expect(u.listed).toEqual(['a.example.', 'b.example.']);
    expect(u.state).toEqual({ members: ['a.example.', 'b.example.'], removed: {} });
    expect(u.nextExpiry).toBeUndefined();
  });

  it('a vanished member stays for the grace, then goes', () => {
    const s0 = updateMembers(EMPTY_CATALOG_STATE, set('a.example.', 'b.example.'), GRACE, 1000).state;
    const gone = updateMembers(s0, set('a.example.'), GRACE, 5000);
    expect(gone.listed).toEqual(['a.example.', 'b.example.']);
    expect(gone.state.removed).toEqual({ 'b.example.': 5000 });
    expect(gone.nextExpiry).toBe(5000 + GRACE);
    const before = updateMembers(gone.state, set('a.example.'), GRACE, 5000 + GRACE - 1);
    expect(before.listed).toEqual(['a.example.', 'b.example.']);
    expect(before.state).toBe(gone.state);
    const after = updateMembers(gone.state, set('a.example.'), GRACE, 5000 + GRACE);
    expect(after.listed).toEqual(['a.example.']);
    expect(after.state).toEqual({ members: ['a.example.'], removed: {} });
    expect(after.nextExpiry).toBeUndefined();
  });

  it('a member that comes back within the grace is listed throughout and loses its removal time', () => {
    const s0 = updateMembers(EMPTY_CATALOG_STATE, set('a.example.'), GRACE, 0).state;
    const gone = updateMembers(s0, set(), GRACE, 10);
    expect(gone.listed).toEqual(['a.example.']);
    const back = updateMembers(gone.state, set('a.example.'), GRACE, 20);
    expect(back.listed).toEqual(['a.example.']);
    expect(back.state).toEqual({ members: ['a.example.'], removed: {} });
  });

  it('a kept removal time (after a restart) is not restarted; a member missing at start starts its grace', () => {
    const kept = { members: ['a.example.', 'b.example.'], removed: { 'a.example.': 100 } };
    const u = updateMembers(kept, set(), GRACE, 200);
    expect(u.state.removed).toEqual({ 'a.example.': 100, 'b.example.': 200 });
    expect(u.nextExpiry).toBe(100 + GRACE);
    expect(updateMembers(kept, set(), GRACE, 100 + GRACE).listed).toEqual(['b.example.']);
  });

  it('grace 0: a vanished member goes at once', () => {
    const s0 = updateMembers(EMPTY_CATALOG_STATE, set('a.example.'), 0, 0).state;
    expect(updateMembers(s0, set(), 0, 1).listed).toEqual([]);
  });
});

describe('keptOf and transferOf', () => {
  it('round-trip a transfer: section (allow by key, address or both; notify with and without key)', () => {
    const t = {
      allow: [
        { key: 'xfr.', address: undefined, line: 3 },
        { key: undefined, address: parsePrefix('2001:db8::/48'), line: 4 },
        { key: 'xfr.', address: parsePrefix('192.0.2.0/24'), line: 5 },
      ],
      notify: [
        { address: '192.0.2.7', port: 5300, key: 'xfr.', line: 6 },
        { address: '::1', port: 53, key: undefined, line: 7 },
      ],
    };
    const k = keptOf(t, 42);
    expect(k.until).toBe(42);
    const back = transferOf(JSON.parse(JSON.stringify(k)));
    expect(back.allow.map((a) => [a.key, a.address?.text, a.address?.length])).toEqual([
      ['xfr.', undefined, undefined],
      [undefined, '2001:db8::/48', 48],
      ['xfr.', '192.0.2.0/24', 24],
    ]);
    expect(back.notify.map((n) => [n.address, n.port, n.key])).toEqual([
      ['192.0.2.7', 5300, 'xfr.'],
      ['::1', 53, undefined],
    ]);
  });

  it('an entry that does not read any more allows or notifies nothing', () => {
    const back = transferOf({
      allow: [
        { key: null, address: 'nowhere' },
        { key: null, address: null },
      ],
      notify: [
        { address: 'nowhere', port: 53, key: null },
        { address: '192.0.2.1', port: 0, key: null },
      ],
    });
    expect(back).toEqual({ allow: [], notify: [] });
  });
});
