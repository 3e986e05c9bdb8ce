/**
 * Tests for src/server/rollover-hold.ts: a due ZSK step whose watched server lags is written back into the key
 * files (the new key's Activate, the old key's Inactive and Delete; no journal left), logged naming the server
 * (warn past --secondary-lag, info while the wait counted from the last server runs) and listed for `status`; it
 * goes ahead once the wait has run, and is not judged again; a zone without watched servers is never touched.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKey, type ZoneKey } from '../../src/dnssec/keys.js';
import { keyFileBase, loadZoneKeys, writeKeyFiles, type StoredZoneKey } from '../../src/dnssec/keyfile.js';
import { createLogger } from '../../src/log.js';
import { RolloverHold } from '../../src/server/rollover-hold.js';
import type { ZoneVersion } from '../../src/server/publisher.js';
import { SecondaryWatch } from '../../src/server/watch.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';
import { zoneText } from './zone-text.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-rollover-hold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = 'example.com.';
const SERVER = '192.0.2.7#53';
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const at = (sec: number): Date => new Date(T0 + sec * 1000);

/** TTL 300 everywhere, margin 10 s: a new ZSK signs 310 s after its DNSKEY is everywhere. */
function zone(watched: boolean): Zone {
  const extra = `dnssec: { margin: 10s }\n${watched ? `transfer: { check: [192.0.2.7] }\n` : ''}`;
  const problems: ZoneProblem[] = [];
  const z = buildZone(
    parseZoneYaml(`${ORIGIN}yaml`, zoneText(ORIGIN, 1, '192.0.2.1', extra), problems),
    { defaultOrigin: ORIGIN },
    problems,
  );
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return z;
}

/** A KSK, the old ZSK and the new one of a ZSK rollover started at T0 (as `keys rollover` writes them). */
function keysIn(keysDir: string, z: Zone): { ksk: ZoneKey; old: StoredZoneKey; fresh: ZoneKey } {
  const ksk = { ...generateKey(z.origin, 'ksk', at(-9999)), publish: at(-9999), activate: at(-9999) };
  const old = { ...generateKey(z.origin, 'zsk', at(-9999)), publish: at(-9999), activate: at(-9999) };
  const retiring = { ...old, inactive: at(310), delete: at(620) };
  const fresh = { ...generateKey(z.origin, 'zsk', at(0)), publish: at(0), activate: at(310) };
  for (const k of [ksk, retiring, fresh]) writeKeyFiles(keysDir, k);
  return { ksk, old: retiring, fresh };
}

const timesOf = (keysDir: string, z: Zone, tag: number) => {
  const k = loadZoneKeys(keysDir, z.origin).keys.find((x) => x.tag === tag)!;
  return { activate: k.activate, inactive: k.inactive, delete: k.delete };
};

describe('RolloverHold', () => {
  it('postpones a due step while the watched server lags, then lets it go once the wait has run', () => {
    const keysDir = join(dir, 'watched');
    const z = zone(true);
    const { ksk, old, fresh } = keysIn(keysDir, z);
    let now = T0 - 10_000;
    const lines: { level: string; event: string; [k: string]: unknown }[] = [];
    const logger = createLogger({ write: (l) => lines.push(JSON.parse(l)) });
    const watch = new SecondaryWatch();
    const hold = new RolloverHold({ keysDir, logger, now: () => now, watch, secondaryLag: 3 });
    // The version with the new DNSKEY, published at T0; the server does not serve it.
    watch.setServers(ORIGIN, [SERVER]);
    watch.published(ORIGIN, 2, T0);
    const signed = { keys: { ksk, zsk: old, published: [ksk, old, fresh] } };
    hold.published({ origin: ORIGIN, serial: 2, zone: z, signed, at: T0 } as unknown as ZoneVersion);

    now = T0 + 100_000; // not due
    expect(hold.hold([z])).toBe(false);
    now = T0 + 310_000;
    expect(hold.hold([z])).toBe(true);
    expect(timesOf(keysDir, z, fresh.tag).activate).toEqual(at(620));
    expect(timesOf(keysDir, z, old.tag)).toMatchObject({ inactive: at(620), delete: at(930) });
    expect(readdirSync(keysDir).filter((f) => f.endsWith('pending.json'))).toEqual([]);
    expect(lines.at(-1)).toMatchObject({
      level: 'warn',
      event: 'rollover-step-postponed',
      zone: ORIGIN,
      key: fresh.tag,
      step: 'starts signing',
      servers: [SERVER],
    });
    expect(hold.waits(ORIGIN)).toEqual([
      { key: fresh.tag, role: 'ZSK', step: 'sign', at: '2026-11-23T12:10:20Z', servers: [SERVER] },
    ]);

    // The server serves it from T0 + 400 s: the step waits until T0 + 710 s, an info line, no lagging server.
    watch.observed(ORIGIN, SERVER, 2, T0 + 400_000);
    now = T0 + 620_000;
    expect(hold.hold([z])).toBe(true);
    expect(timesOf(keysDir, z, fresh.tag).activate).toEqual(at(710));
    expect(lines.at(-1)).toMatchObject({ level: 'info', key: fresh.tag, servers: [] });
    now = T0 + 710_000;
    expect(hold.hold([z])).toBe(false);
    expect(timesOf(keysDir, z, fresh.tag).activate).toEqual(at(710));
    now = T0 + 711_000;
    expect(hold.waits(ORIGIN)).toEqual([]);
    // A step let go is not judged again, even once what it counted from is forgotten and the keys are re-read.
    watch.remove(ORIGIN);
    hold.keysChanged();
    now = T0 + 715_000;
    expect(hold.hold([z])).toBe(false);
    expect(timesOf(keysDir, z, fresh.tag).activate).toEqual(at(710));
  });

  it('a KSK rollover: the DS step waits in the new KSK SyncPublish, shown as a KSK step', () => {
    const keysDir = join(dir, 'ksk');
    const z = zone(true);
    const { ksk, old, fresh: newZsk } = keysIn(keysDir, z);
    // Instead of the ZSK rollover, a KSK one started at T0: the new KSK signs the DNSKEY RRset at once.
    const fresh = { ...generateKey(z.origin, 'ksk', at(0)), publish: at(0), activate: at(0) };
    writeKeyFiles(keysDir, fresh);
    for (const k of [old, newZsk])
      for (const ext of ['key', 'private']) rmSync(join(keysDir, `${keyFileBase(z.origin, k.tag)}.${ext}`));
    writeKeyFiles(keysDir, { ...old, inactive: undefined, delete: undefined });
    let now = T0 - 10_000;
    const lines: { level: string; event: string; [k: string]: unknown }[] = [];
    const watch = new SecondaryWatch();
    const hold = new RolloverHold({
      keysDir,
      logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
      now: () => now,
      watch,
      secondaryLag: 3,
    });
    watch.setServers(ORIGIN, [SERVER]);
    watch.published(ORIGIN, 2, T0);
    const signed = { keys: { ksk: fresh, zsk: old, published: [ksk, fresh, old], dnskeySigners: [fresh, ksk] } };
    hold.published({ origin: ORIGIN, serial: 2, zone: z, signed, at: T0 } as unknown as ZoneVersion);
    watch.observed(ORIGIN, SERVER, 2, T0 + 100_000);
    now = T0 + 310_000; // Activate + DNSKEY TTL + margin: the DS would be due
    expect(hold.hold([z])).toBe(true);
    const held = loadZoneKeys(keysDir, z.origin).keys.find((k) => k.tag === fresh.tag)!;
    expect(held.syncPublish).toEqual(at(410));
    expect(held.activate).toEqual(at(0));
    expect(lines.at(-1)).toMatchObject({ level: 'info', step: 'may go to the parent (CDS/CDNSKEY)', servers: [] });
    expect(hold.waits(ORIGIN)).toEqual([
      { key: fresh.tag, role: 'KSK', step: 'ds', at: '2026-11-23T12:06:50Z', servers: [] },
    ]);
  });

  it('leaves a zone without watched servers alone', () => {
    const keysDir = join(dir, 'alone');
    const z = zone(false);
    const { fresh } = keysIn(keysDir, z);
    const hold = new RolloverHold({
      keysDir,
      logger: createLogger({ write: () => {} }),
      now: () => T0 + 310_000,
      watch: new SecondaryWatch(),
      secondaryLag: 3,
    });
    expect(hold.hold([z])).toBe(false);
    expect(timesOf(keysDir, z, fresh.tag).activate).toEqual(at(310));
  });
});
