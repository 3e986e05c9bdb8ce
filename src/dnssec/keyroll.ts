/**
 * `dane-ns keys rollover`: the file work of a key rollover whose timing lifecycle.ts plans. Starting one writes
 * the new key (with its Publish and Activate times) and the old keys' Inactive and Delete times; the running
 * server watches the keys directory and follows the times by itself. Ending a KSK or CSK rollover (the parent
 * now publishes the new DS) sets the old keys' times.
 *
 * The writes of one command form one change (keyjournal.ts): a journal is written first and removed after the
 * last file, so a crash at any write is undone by the next command or start; the new key's tag is recorded in
 * keys.json, and its DS printed, only after that. Within the change, the new key is written first (an old key
 * without an end time simply stays), then the old keys' times. Refuses, changing nothing, when any of the
 * zone's key files does not load: a rollover over a key set that is only partly understood could remove the key
 * the DS points to.
 */
import type { Name } from '../wire/name.js';
import { nameToText } from '../wire/name.js';
import { generateKey, KeyError, type ZoneKey } from './keys.js';
import { keyFileBase, loadZoneKeys, rewriteKeyTiming, writeKeyFiles, type StoredZoneKey } from './keyfile.js';
import { beginKeyChange, endKeyChange, recoverKeyChange, type KeyChange } from './keyjournal.js';
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

/** The zone's keys (after undoing an interrupted change: `undone`), or why a rollover will not touch them. */
function keysOf(
  o: RolloverOptions,
): { ok: true; keys: StoredZoneKey[]; undone: string[] } | { ok: false; error: string } {
  const zone = nameToText(o.zone);
  const recovery = recoverKeyChange(o.keysDir, o.zone, o.now);
  if (!recovery.ok) return recovery;
  const undone = recovery.undone ? [recovery.undone] : [];
  const { keys, problems } = loadZoneKeys(o.keysDir, o.zone);
  if (problems.length > 0)
    return {
      ok: false,
      error: `${zone}: key files that do not load (${problems.join('; ')}); fix or remove them before a rollover`,
    };
  if (keys.length === 0)
    return { ok: false, error: `${zone}: no DNSSEC keys in ${o.keysDir} (the server creates them on its first start)` };
  return { ok: true, keys, undone };
}

const files = (k: { zone: Name; tag: number }): string[] => [
  `${keyFileBase(k.zone, k.tag)}.private`,
  `${keyFileBase(k.zone, k.tag)}.key`,
];

/**
 * Runs `write` as one journaled change: the journal first, the journal removed after the last write. A failure
 * undoes what was written (a KeyError or errno error is rethrown for the caller's message).
 */
function asOneChange(
  o: RolloverOptions,
  change: KeyChange,
  created: string[],
  rewritten: string[],
  write: () => void,
): void {
  beginKeyChange(o.keysDir, o.zone, change, created, rewritten, o.now);
  try {
    write();
  } catch (e) {
    recoverKeyChange(o.keysDir, o.zone, o.now);
    throw e;
  }
  endKeyChange(o.keysDir, o.zone);
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
  const warnings: string[] = [...have.undone];
  try {
    asOneChange(
      o,
      'rollover',
      files(created),
      plan.retire.flatMap((r) => files(r.key)),
      () => {
        writeKeyFiles(o.keysDir, created);
        retire(o.keysDir, plan.retire);
      },
    );
  } catch (e) {
    return failure(o.zone, e);
  }
  // Recorded once the change is complete (a crash before this is caught at the next start, which records every
  // key it loads).
  const w = recordKeyTags(o.stateDir, o.zone, [created.tag], o.now);
  if (w) warnings.push(w);
  return { ok: true, plan, created, warnings };
}

/** Ends a KSK or CSK rollover once the parent publishes the new DS: sets the old keys' end times. */
export function dsPublished(o: RolloverOptions): Done<{ plan: DsPublishedPlan }> {
  const have = keysOf(o);
  if (!have.ok) return have;
  const planned = planDsPublished(have.keys, o.mode, o.timing, o.now);
  if (!planned.ok) return { ok: false, error: `${nameToText(o.zone)}: ${planned.error}` };
  try {
    const rewritten = planned.plan.retire.flatMap((r) => files(r.key));
    asOneChange(o, 'ds-published', [], rewritten, () => retire(o.keysDir, planned.plan.retire));
  } catch (e) {
    return failure(o.zone, e);
  }
  return {
    ok: true,
    plan: planned.plan,
    warnings: [...have.undone, ...(planned.plan.warning ? [planned.plan.warning] : [])],
  };
}
