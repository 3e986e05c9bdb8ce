/**
 * Tests for src/server/rollover-gate.ts: the steps of a ZSK (and CSK) rollover and the DS step of a KSK rollover
 * wait for the last watched server,
 * a due step is postponed (the old key's times with it), an empty history postpones, and zones without watched
 * servers, steps from before the start and a zone's first keys are left alone.
 */
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/dnssec/keys.js';
import type { StoredZoneKey } from '../../src/dnssec/keyfile.js';
import { gateRollover, type GateInput, type GateVersion } from '../../src/server/rollover-gate.js';
import { parseName, ROOT } from '../../src/wire/name.js';

const ZONE = parseName('example.com.', ROOT);
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const S = 1000;
const at = (sec: number): Date => new Date(T0 + sec * S);
/** DNSKEY TTL 60 s + margin 10 s = 70 s before signing; largest TTL 300 s + margin 10 s = 310 s before removal. */
const TIMING = { dnskeyTtl: 60, maxTtl: 300, margin: 10 };
const SERVERS = ['192.0.2.1#53', '192.0.2.2#53'];

function key(
  role: 'zsk' | 'ksk' | 'csk',
  times: { publish: number; activate: number; inactive?: number; delete?: number; syncPublish?: number },
) {
  const k = generateKey(ZONE, role, at(-1000));
  return Object.freeze({
    ...k,
    publish: at(times.publish),
    activate: at(times.activate),
    ...(times.inactive !== undefined ? { inactive: at(times.inactive) } : {}),
    ...(times.delete !== undefined ? { delete: at(times.delete) } : {}),
    ...(times.syncPublish !== undefined ? { syncPublish: at(times.syncPublish) } : {}),
  }) as StoredZoneKey;
}

/** A ZSK rollover started at 0: the new key signs from 70, the old one stops then and leaves at 380. */
const OLD = key('zsk', { publish: -1000, activate: -1000, inactive: 70, delete: 380 });
const NEW = key('zsk', { publish: 0, activate: 70 });

function version(
  serial: number,
  dnskey: StoredZoneKey[],
  signer: StoredZoneKey,
  served: [string, number][],
  dnskeySigners: StoredZoneKey[] = [],
) {
  return {
    serial,
    dnskey: dnskey.map((k) => k.tag),
    zoneSigner: signer.tag,
    dnskeySigners: dnskeySigners.map((k) => k.tag),
    servedAt: new Map(served.map(([s, t]) => [s, T0 + t * S])),
  } satisfies GateVersion;
}

const input = (over: Partial<GateInput>): GateInput => ({
  keys: [OLD, NEW],
  mode: 'ksk-zsk',
  timing: TIMING,
  servers: SERVERS,
  versions: [],
  since: T0 - 3600 * S,
  now: T0 + 70 * S,
  ...over,
});

describe('gateRollover: the new key starts signing', () => {
  it('goes ahead when every server served its DNSKEY one DNSKEY TTL + margin before', () => {
    const v = version(2, [OLD, NEW], OLD, [
      [SERVERS[0]!, 0],
      [SERVERS[1]!, 0],
    ]);
    expect(gateRollover(input({ versions: [v] }))).toEqual([]);
  });

  it('waits for the last server: Activate moves to its moment + 70 s, the old key keeps signing until then', () => {
    const v = version(2, [OLD, NEW], OLD, [
      [SERVERS[0]!, 1],
      [SERVERS[1]!, 25],
    ]);
    const p = gateRollover(input({ versions: [v] }));
    const forNew = p.find((x) => x.key === NEW)!;
    expect(forNew).toMatchObject({ step: 'sign', activate: at(95), at: at(95), lagging: [] });
    expect(forNew.servedEverywhereAt).toEqual(at(25));
    expect(p.find((x) => x.key === OLD)).toMatchObject({ inactive: at(95), delete: at(95 + 310) });
    expect(p).toHaveLength(2);
  });

  it('a server that lacks the DNSKEY: one full wait past now, naming it', () => {
    const v = version(2, [OLD, NEW], OLD, [[SERVERS[0]!, 1]]);
    const [forNew] = gateRollover(input({ versions: [v], now: T0 + 70.4 * S }));
    expect(forNew).toMatchObject({ key: NEW, activate: at(141), lagging: [SERVERS[1]] });
    expect(forNew!.servedEverywhereAt).toBeUndefined();
  });

  it('an empty history (after a restart) postpones, never advances', () => {
    const p = gateRollover(input({ versions: [], since: T0 + 50 * S }));
    expect(p.find((x) => x.key === NEW)).toMatchObject({ activate: at(140), lagging: SERVERS });
    // Nor does a version without the key count.
    const before = version(1, [OLD], OLD, [
      [SERVERS[0]!, -5000],
      [SERVERS[1]!, -5000],
    ]);
    expect(gateRollover(input({ versions: [before] })).find((x) => x.key === NEW)?.activate).toEqual(at(140));
  });

  it('a step not yet due is left alone; one due within a second counts as due', () => {
    expect(gateRollover(input({ now: T0 + 68 * S }))).toEqual([]);
    expect(gateRollover(input({ now: T0 + 69.5 * S })).length).toBeGreaterThan(0);
  });

  it('leaves alone: zones without watched servers, steps judged before (or before the start), a zone first keys', () => {
    expect(gateRollover(input({ servers: [] }))).toEqual([]);
    expect(gateRollover(input({ since: T0 + 71 * S, now: T0 + 100 * S }))).toEqual([]);
    const first = key('zsk', { publish: 60, activate: 60 });
    expect(gateRollover(input({ keys: [first], now: T0 + 60 * S, since: T0 }))).toEqual([]);
  });

  it('with keys: csk, the 257 keys are the ones gated (and 256 keys ignored)', () => {
    const oldCsk = key('csk', { publish: -1000, activate: -1000 });
    const newCsk = key('csk', { publish: 0, activate: 70 });
    const p = gateRollover(input({ keys: [oldCsk, newCsk, NEW], mode: 'csk', versions: [] }));
    expect(p.map((x) => x.key)).toEqual([newCsk]);
    expect(gateRollover(input({ keys: [OLD, NEW], mode: 'csk' }))).toEqual([]);
  });
});

describe('gateRollover: the old key leaves', () => {
  const now = T0 + 380 * S;
  const signedByOld = version(2, [OLD, NEW], OLD, [
    [SERVERS[0]!, 0],
    [SERVERS[1]!, 0],
  ]);

  it('goes ahead when every server served a version without its signatures one largest TTL + margin before', () => {
    const v = version(3, [OLD, NEW], NEW, [
      [SERVERS[0]!, 70],
      [SERVERS[1]!, 70],
    ]);
    expect(gateRollover(input({ versions: [signedByOld, v], now }))).toEqual([]);
  });

  it('waits for the last server to serve the version without its signatures', () => {
    const v = version(3, [OLD, NEW], NEW, [
      [SERVERS[0]!, 70],
      [SERVERS[1]!, 90],
    ]);
    expect(gateRollover(input({ versions: [signedByOld, v], now }))).toEqual([
      expect.objectContaining({ key: OLD, step: 'remove', delete: at(400), lagging: [] }),
    ]);
    const lagging = version(3, [OLD, NEW], NEW, [[SERVERS[0]!, 70]]);
    expect(gateRollover(input({ versions: [signedByOld, lagging], now }))).toEqual([
      expect.objectContaining({ key: OLD, step: 'remove', delete: at(380 + 310), lagging: [SERVERS[1]] }),
    ]);
  });

  it('a version the old key still signs does not count, a later one does', () => {
    const again = version(3, [OLD, NEW], OLD, [
      [SERVERS[0]!, 100],
      [SERVERS[1]!, 100],
    ]);
    const after = version(4, [OLD, NEW], NEW, [
      [SERVERS[0]!, 200],
      [SERVERS[1]!, 200],
    ]);
    const [p] = gateRollover(input({ versions: [signedByOld, again, after], now }));
    expect(p).toMatchObject({ key: OLD, delete: at(510) });
  });
});

describe('gateRollover: a KSK rollover DS step', () => {
  // A KSK rollover started at 0: the new KSK signs the DNSKEY RRset at once, its DS may go up from 70.
  const oldKsk = key('ksk', { publish: -1000, activate: -1000 });
  const newKsk = key('ksk', { publish: 0, activate: 0 });
  const zsk = key('zsk', { publish: -1000, activate: -1000 });
  const ksk = (over: Partial<GateInput>): GateInput => input({ keys: [oldKsk, newKsk, zsk], ...over });
  const signedBy = (a: number, b: number) =>
    version(
      2,
      [oldKsk, newKsk, zsk],
      zsk,
      [
        [SERVERS[0]!, a],
        [SERVERS[1]!, b],
      ],
      [newKsk, oldKsk],
    );

  it('goes ahead when every server served the DNSKEY RRset it signs one DNSKEY TTL + margin before', () => {
    expect(gateRollover(ksk({ versions: [signedBy(0, 0)] }))).toEqual([]);
  });

  it('waits for the last server by the key SyncPublish (the old KSK and its times untouched)', () => {
    expect(gateRollover(ksk({ versions: [signedBy(1, 25)] }))).toEqual([
      expect.objectContaining({ key: newKsk, step: 'ds', syncPublish: at(95), lagging: [] }),
    ]);
    const [p] = gateRollover(ksk({ versions: [] }));
    expect(p).toMatchObject({ key: newKsk, step: 'ds', syncPublish: at(140), lagging: SERVERS });
    expect(p!.activate).toBeUndefined();
    // A SyncPublish already there is the step's time: not due before it, and then judged again.
    const held = Object.freeze({ ...newKsk, syncPublish: at(95) });
    const keys = [oldKsk, held, zsk];
    expect(gateRollover(ksk({ keys, versions: [signedBy(1, 25)] }))).toEqual([]);
    expect(gateRollover(ksk({ keys, versions: [signedBy(1, 25)], now: T0 + 95 * S }))).toEqual([]);
  });

  it('once the rollover ended (the old KSK has its end times) there is no DS step', () => {
    const ending = key('ksk', { publish: -1000, activate: -1000, inactive: 500, delete: 500 });
    expect(gateRollover(ksk({ keys: [ending, newKsk, zsk] }))).toEqual([]);
  });
});
