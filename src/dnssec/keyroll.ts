/**
 * `dane-ns keys rollover`: the file work of a key rollover whose timing lifecycle.ts plans. Starting one writes
 * the new key (with its Publish and Activate times) and the old keys' Inactive and Delete times; the running
 * server watches the keys directory and follows the times by itself. Ending a KSK or CSK rollover (the parent
 * now publishes the new DS) sets the old keys' times.
 *
 * Writes happen in the order that is safe to stop between: the new key first (an old key without an end time
 * simply stays), then the old keys' times. Refuses, changing nothing, when any of the zone's key files does not
 * load: a rollover over a key set that is only partly understood could remove the key the DS points to.
 */
import type { Name } from '../wire/name.js';
import { nameToText } from '../wire/name.js';
import { generateKey, KeyError, type ZoneKey } from './keys.js';
import { loadZoneKeys, rewriteKeyTiming, writeKeyFiles, type StoredZoneKey } from './keyfile.js';
import { recordKeyTags } from './keystore.js';
import {
  planDsPublished,
  planRollover,
  type DsPublishedPlan,
  type KeyMode,
  type Retirement,
  type RolloverKind,
  type RolloverPlan,
  type RolloverTiming,
} from './lifecycle.js';

interface RolloverOptions {
  zone: Name;
  keysDir: string;
  stateDir: string;
  mode: KeyMode;
  timing: RolloverTiming;
  now: Date;
}

type Done<T> = ({ ok: true; warnings: string[] } & T) | { ok: false; error: string };

/** The zone's keys, or why a rollover will not touch them. */
function keysOf(o: RolloverOptions): { ok: true; keys: StoredZoneKey[] } | { ok: false; error: string } {
  const zone = nameToText(o.zone);
  const { keys, problems } = loadZoneKeys(o.keysDir, o.zone);
  if (problems.length > 0)
    return {
      ok: false,
      error: `${zone}: key files that do not load (${problems.join('; ')}); fix or remove them before a rollover`,
    };
  if (keys.length === 0)
    return { ok: false, error: `${zone}: no DNSSEC keys in ${o.keysDir} (the server creates them on its first start)` };
  return { ok: true, keys };
}

/** Sets the end times of old keys. */
function retire(dir: string, retirements: readonly Retirement[]): void {
  for (const r of retirements)
    rewriteKeyTiming(dir, Object.freeze({ ...r.key, inactive: r.inactive, delete: r.delete }));
}

const failure = (zone: Name, e: unknown): { ok: false; error: string } => ({
  ok: false,
  error: `${nameToText(zone)}: ${e instanceof KeyError ? e.message : `cannot write the key files (${String(e)})`}`,
});

/** Starts a rollover of `kind`: writes the new key and the old keys' end times. */
export function startRollover(
  o: RolloverOptions & { kind: RolloverKind },
): Done<{ plan: RolloverPlan; created: ZoneKey }> {
  const have = keysOf(o);
  if (!have.ok) return have;
  const planned = planRollover(have.keys, o.mode, o.kind, o.timing, o.now);
  if (!planned.ok) return { ok: false, error: `${nameToText(o.zone)}: ${planned.error}` };
  const { plan } = planned;
  const taken = new Set(have.keys.map((k) => k.tag));
  let fresh = generateKey(o.zone, plan.create.role, o.now);
  // A new key must not share a tag (and so a file name) with one the zone has.
  while (taken.has(fresh.tag)) fresh = generateKey(o.zone, plan.create.role, o.now);
  const created: ZoneKey = Object.freeze({ ...fresh, publish: plan.create.publish, activate: plan.create.activate });
  const warnings: string[] = [];
  try {
    writeKeyFiles(o.keysDir, created);
    const w = recordKeyTags(o.stateDir, o.zone, [created.tag], o.now);
    if (w) warnings.push(w);
    retire(o.keysDir, plan.retire);
  } catch (e) {
    return failure(o.zone, e);
  }
  return { ok: true, plan, created, warnings };
}

/** Ends a KSK or CSK rollover once the parent publishes the new DS: sets the old keys' end times. */
export function dsPublished(o: RolloverOptions): Done<{ plan: DsPublishedPlan }> {
  const have = keysOf(o);
  if (!have.ok) return have;
  const planned = planDsPublished(have.keys, o.mode, o.timing, o.now);
  if (!planned.ok) return { ok: false, error: `${nameToText(o.zone)}: ${planned.error}` };
  try {
    retire(o.keysDir, planned.plan.retire);
  } catch (e) {
    return failure(o.zone, e);
  }
  return { ok: true, plan: planned.plan, warnings: planned.plan.warning ? [planned.plan.warning] : [] };
}
