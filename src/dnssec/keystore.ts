/**
 * A zone's signing keys at start-up: load them from the keys directory, pick
 * the set to sign with, generate a new set only on a true first start, and refuse to generate when keys existed
 * before and are now lost.
 *
 * Why the refusal matters: the parent zone publishes a DS for the zone's KSK (or CSK). New keys would have a
 * different DS, so every validating resolver would see the zone as bogus and SMTP DANE senders would defer the
 * mail. So the state directory remembers, in `<state>/keys.json`, which key tags each zone had:
 *
 *   { "example.com.": { "tags": [12345, 23456], "created": "2025-01-01T00:00:00.000Z" } }
 *
 * Keys are generated only when the zone has no key files at all (not even broken ones) AND keys.json has no
 * entry for it (and keys.json itself is readable). Any other way of ending up without a usable set is an error
 * that names the cause and the way out.
 *
 * Keys are created as a set (keyjournal.ts): a journal naming the new files is written before the first of them and
 * removed after the last, before keys.json records the tags. A crash in between leaves the journal, and the next
 * start removes the incomplete set and generates a whole one: that set was never served (the zone is served only
 * once ensureZoneKeys returns a complete set) and `dane-ns ds` refuses a zone with a journal, so no DS for it can
 * have gone to the parent. keys.json has no entry for it either, so this is still a first start.
 *
 * Warnings and errors carry paths, key tags and the loader's reasons, which never contain private key material
 * (keyfile.ts guarantees that for its problems; nothing here reads key text).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { FileReadError, readRegularFile, STATE_FILE_MAX } from '../state/readfile.js';
import { nameToText, toLower, type Name } from '../wire/name.js';
import { FLAGS_KSK, FLAGS_ZSK, generateKey, KeyError, type ZoneKey } from './keys.js';
import { keyFileBase, loadZoneKeys, writeKeyFiles, type StoredZoneKey } from './keyfile.js';
import { beginKeyChange, endKeyChange, recoverKeyChange } from './keyjournal.js';
import { keyState, selectKeys, type KeyMode } from './lifecycle.js';

export type { KeyMode } from './lifecycle.js';

interface EnsureZoneKeysOptions {
  zone: Name;
  keysDir: string;
  stateDir: string;
  /** `ksk-zsk` (default of the zone format): a 257 key signs the DNSKEY RRset, a 256 key the rest. `csk`: one 257 key. */
  mode: KeyMode;
  /** The clock: decides which keys are active, and the timing of generated keys. */
  now: Date;
}

export type KeySetResult =
  | {
      ok: true;
      /** The newest active 257 key: signs the DNSKEY RRset (role 'csk' in csk mode). */
      ksk: ZoneKey;
      /** Signs every other RRset; the same object as `ksk` in csk mode. */
      zsk: ZoneKey;
      /** Every key that signs the DNSKEY RRset (two during a KSK or CSK rollover), `ksk` first. */
      dnskeySigners: readonly ZoneKey[];
      /** The DNSKEY RRset: the signing keys plus keys published ahead of use or kept after it (lifecycle.ts). */
      published: readonly ZoneKey[];
      /** When the key set changes next (a key is published, starts or stops signing, or is removed). */
      nextEvent: Date | undefined;
      /**
       * Why keys.json could not be read or written in this call (also in `warnings`), for the server's state
       * faults; absent when it was read and, if needed, written.
       */
      keysFileProblem?: string;
      /** True when this call created the keys (first start): the operator must now publish the DS. */
      generated: boolean;
      /** One line each; never private key material. */
      warnings: string[];
    }
  | { ok: false; error: string; /** key files the process may not read (not lost keys) */ denied?: true };

/** The state file, relative to the state directory. */
export const KEYS_STATE_FILE = 'keys.json';

interface ZoneRecord {
  tags: number[];
  created: string;
}

type KeyRecords = Record<string, ZoneRecord>;

/** keys.json as read: the records, or why it could not be read (a missing file is an empty record set). */
type StateRead = { ok: true; records: KeyRecords } | { ok: false; reason: string };

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? 'error';
}

function readState(file: string): StateRead {
  let text: string;
  try {
    text = readRegularFile(file, STATE_FILE_MAX).toString('utf8');
  } catch (e) {
    if (errCode(e) === 'ENOENT') return { ok: true, records: {} };
    // Refused by the reader (not a regular file, too large): its reason; else the errno code.
    if (e instanceof FileReadError && e.code === undefined)
      return { ok: false, reason: `cannot be read (${e.reason})` };
    return { ok: false, reason: `cannot be read (${errCode(e)})` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, reason: 'is not a JSON object' };
  const records: KeyRecords = {};
  for (const [zone, v] of Object.entries(data as Record<string, unknown>)) {
    // An entry in an unexpected shape still says "this zone had keys": keep it, with whatever tags it lists.
    const raw = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
    const tags = Array.isArray(raw.tags)
      ? raw.tags.filter((t): t is number => Number.isInteger(t) && t >= 0 && t <= 0xffff)
      : [];
    const created = typeof raw.created === 'string' ? raw.created : '';
    records[zone] = { tags, created };
  }
  return { ok: true, records };
}

function writeState(file: string, records: KeyRecords): void {
  const sorted: KeyRecords = {};
  for (const zone of Object.keys(records).sort()) sorted[zone] = records[zone]!;
  writeFileAtomic(file, JSON.stringify(sorted, null, 2) + '\n');
}

/**
 * Adds `tags` to the zone's record in keys.json (re-read just before writing). Returns a warning line when the
 * record could not be written, else null. Never overwrites a keys.json it cannot read.
 */
function record(file: string, zoneKey: string, tags: readonly number[], now: Date): string | null {
  const st = readState(file);
  if (!st.ok)
    return `${zoneKey}: ${file} ${st.reason}; the key tags ${tags.join(', ')} are not recorded, so a later loss of the key files cannot be detected`;
  const prev = st.records[zoneKey];
  const merged = [...new Set([...(prev?.tags ?? []), ...tags])].sort((a, b) => a - b);
  if (prev && merged.length === prev.tags.length && prev.created !== '') return null;
  st.records[zoneKey] = { tags: merged, created: prev?.created || now.toISOString() };
  try {
    writeState(file, st.records);
  } catch (e) {
    return `${zoneKey}: cannot write ${file} (${errCode(e)}); the key tags ${tags.join(', ')} are not recorded, so a later loss of the key files cannot be detected`;
  }
  return null;
}

/**
 * Records `tags` as keys of `zone` in `<stateDir>/keys.json` (a rollover's new key: losing it later is then
 * detected). Returns a warning line when the record could not be written, else null.
 */
export function recordKeyTags(stateDir: string, zone: Name, tags: readonly number[], now: Date): string | null {
  return record(join(stateDir, KEYS_STATE_FILE), nameToText(toLower(zone)), tags, now);
}

/** Active at `now`: published, activated, and neither inactive nor deleted yet (BIND timing metadata). */
export function isActive(key: StoredZoneKey, now: Date): boolean {
  return keyState(key, now) === 'active';
}

function tagList(tags: readonly number[]): string {
  return tags.length > 0 ? `tags ${tags.join(', ')}` : 'no readable tags';
}

const RESTORE_ADVICE =
  "Restore the key files, or remove the zone's entry from keys.json to start over with new keys (and a new DS).";

/**
 * The keys to sign `zone` with. Loads the zone's keys from `keysDir`; picks the newest active 257 key and (in
 * ksk-zsk mode) the newest active 256 key. Generates a new set, writes it with 0600 .private files and records
 * it in `<stateDir>/keys.json`, only when the zone has no key files at all and keys.json has no entry for it.
 * Keys that were already there (e.g. made by the operator with dnssec-keygen) are recorded the first time they
 * are seen. Files that fail to load are warnings when a usable set remains, part of the error when not.
 * Never throws for file problems; the error is one line.
 */
export function ensureZoneKeys(opts: EnsureZoneKeysOptions): KeySetResult {
  const { zone, keysDir, stateDir, mode, now } = opts;
  const zoneKey = nameToText(toLower(zone));
  const stateFile = join(stateDir, KEYS_STATE_FILE);
  // An interrupted key change (generation or rollover) is undone before the keys are read.
  const recovery = recoverKeyChange(keysDir, zone, now);
  if (!recovery.ok) return { ok: false, error: recovery.error };
  const undone = recovery.undone ? [recovery.undone] : [];
  const state = readState(stateFile);
  const remembered = state.ok ? state.records[zoneKey] : undefined;

  const loaded = loadZoneKeys(keysDir, zone);
  const warnings: string[] = [...undone];

  // ---- nothing on disk: first start, or lost keys --------------------------------------------------------
  if (loaded.keys.length === 0 && loaded.problems.length === 0) {
    if (remembered) {
      return {
        ok: false,
        error:
          `${zoneKey}: the DNSSEC keys recorded in ${stateFile} (${tagList(remembered.tags)}) are missing from ${keysDir}; ` +
          `not generating new ones, because that would break the DS at the parent. ${RESTORE_ADVICE}`,
      };
    }
    if (!state.ok) {
      return {
        ok: false,
        error:
          `${zoneKey}: no DNSSEC keys in ${keysDir}, and ${stateFile} ${state.reason}, so it cannot tell whether this zone had keys; ` +
          `not generating new ones, because replacing keys whose DS is at the parent breaks the zone. Repair ${stateFile} (or remove it if no zone had keys before).`,
      };
    }
    const made = generate(zone, zoneKey, keysDir, stateFile, mode, now);
    if (made.ok) made.warnings.unshift(...undone);
    return made;
  }

  // ---- keys (or broken key files) on disk: pick the set ----------------------------------------------------
  const sel = selectKeys(loaded.keys, mode, now);
  const ksk = sel.ksk;
  const zsk = mode === 'ksk-zsk' ? sel.zsk : undefined;
  const missing: string[] = [];
  if (!ksk) missing.push(mode === 'csk' ? 'no active CSK (flags 257)' : 'no active KSK (flags 257)');
  if (mode === 'ksk-zsk' && !zsk) missing.push('no active ZSK (flags 256)');
  // A key-signing key alone (a legacy set, or one whose ZSK files were lost) is not a CSK: with keys: ksk-zsk it
  // would sign the zone with a key the parent's DS was not made for as a combined key, so the set is incomplete.
  if (mode === 'ksk-zsk' && ksk && !loaded.keys.some((k) => k.flags === FLAGS_ZSK))
    missing.push(loneKskNote(zone, keysDir, loaded.keys));

  if (missing.length > 0 || !ksk) {
    const why = [...missing, ...loaded.problems].join('; ');
    // Key files the process may not read are not lost keys: the fix is their ownership, never new keys or a DS.
    if (loaded.denied)
      return {
        ok: false,
        denied: true,
        error: `${zoneKey}: the key files in ${keysDir} cannot be read by this process (${loaded.problems.join('; ')}); not generating new keys: the keys exist, fix their ownership`,
      };
    if (remembered) {
      const present = new Set(loaded.keys.map((k) => k.tag));
      const lost = remembered.tags.filter((t) => !present.has(t));
      const what =
        lost.length === remembered.tags.length && loaded.keys.length === 0
          ? `are missing or unreadable in ${keysDir}`
          : `no longer form a usable set in ${keysDir}`;
      return {
        ok: false,
        error:
          `${zoneKey}: the DNSSEC keys recorded in ${stateFile} (${tagList(remembered.tags)}) ${what} (${why}); ` +
          `not generating new ones, because that would break the DS at the parent. ${RESTORE_ADVICE}`,
      };
    }
    return {
      ok: false,
      error:
        `${zoneKey}: the key files in ${keysDir} do not give a usable ${mode === 'csk' ? 'CSK' : 'KSK and ZSK'} (${why}); ` +
        `not generating new ones while key files for the zone exist. Fix or remove them.`,
    };
  }

  warnings.push(...loaded.problems.map((p) => `${zoneKey}: ${p}`));
  if (mode === 'csk') {
    const zsks = loaded.keys.filter((k) => k.flags === FLAGS_ZSK);
    if (zsks.length > 0)
      warnings.push(
        `${zoneKey}: keys: csk, so the 256 (ZSK) keys with ${tagList(zsks.map((k) => k.tag))} in ${keysDir} are ignored`,
      );
  }
  if (remembered) {
    const present = new Set(loaded.keys.map((k) => k.tag));
    const lost = remembered.tags.filter((t) => !present.has(t));
    if (lost.length > 0)
      warnings.push(
        `${zoneKey}: keys recorded in ${stateFile} with ${tagList(lost)} are no longer in ${keysDir}; if the parent's DS refers to one of them, ` +
          `validation of the zone fails. If they were retired on purpose, remove their tags from keys.json.`,
      );
  }
  let keysFileProblem: string | undefined;
  if (!state.ok) {
    keysFileProblem = `read: ${state.reason}`;
    warnings.push(
      `${zoneKey}: ${stateFile} ${state.reason}; the zone's key tags are not recorded, so a later loss of the key files cannot be detected`,
    );
  } else {
    const w = record(
      stateFile,
      zoneKey,
      loaded.keys.map((k) => k.tag),
      now,
    );
    if (w) warnings.push((keysFileProblem = w));
  }

  const timing = {
    nextEvent: sel.nextEvent,
    generated: false,
    warnings,
    ...(keysFileProblem !== undefined ? { keysFileProblem } : {}),
  };
  if (mode === 'csk') {
    // One object per key (csk mode publishes only 257 keys), with the role the zone gives it.
    const asCsk = new Map(sel.published.map((k) => [k, Object.freeze({ ...k, role: 'csk' as const })]));
    const csk = asCsk.get(ksk)!;
    return {
      ok: true,
      ksk: csk,
      zsk: csk,
      dnskeySigners: sel.dnskeySigners.map((k) => asCsk.get(k)!),
      published: sel.published.map((k) => asCsk.get(k)!),
      ...timing,
    };
  }
  return { ok: true, ksk, zsk: zsk!, dnskeySigners: sel.dnskeySigners, published: sel.published, ...timing };
}

/**
 * Why key-signing keys alone are not a usable set for a zone with `keys: ksk-zsk` (server and `ds` alike): the
 * files, and the two ways out.
 */
export function loneKskNote(zone: Name, keysDir: string, keys: readonly { tag: number; flags: number }[]): string {
  const files = keys
    .filter((k) => k.flags === FLAGS_KSK)
    .map((k) => join(keysDir, `${keyFileBase(zone, k.tag)}.key`))
    .join(', ');
  return (
    `only key-signing keys (flags 257) and no zone-signing key (flags 256) in ${keysDir} (${files}); with keys: ksk-zsk ` +
    `they are not taken for a CSK: restore the ZSK's .key and .private files, or set dnssec: { keys: csk } in the ` +
    `zone file if the key is a combined signing key`
  );
}

/**
 * First start: new keys, written as a set (a journal first, then each key's .private and .key, atomically, the
 * .private 0600; the journal removed last) before they are recorded in keys.json.
 */
function generate(
  zone: Name,
  zoneKey: string,
  keysDir: string,
  stateFile: string,
  mode: KeyMode,
  now: Date,
): KeySetResult {
  const ksk = generateKey(zone, mode === 'csk' ? 'csk' : 'ksk', now);
  let zsk = mode === 'csk' ? ksk : generateKey(zone, 'zsk', now);
  // Two fresh keys with the same tag (about 1 in 65536) would share a file name: draw the ZSK again.
  while (zsk !== ksk && zsk.tag === ksk.tag) zsk = generateKey(zone, 'zsk', now);
  const keys = zsk === ksk ? [ksk] : [ksk, zsk];

  let journal = false;
  try {
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    const names = keys.flatMap((k) => [`${keyFileBase(zone, k.tag)}.private`, `${keyFileBase(zone, k.tag)}.key`]);
    beginKeyChange(keysDir, zone, 'generate', names, [], now);
    journal = true;
    for (const k of keys) writeKeyFiles(keysDir, k);
    endKeyChange(keysDir, zone);
    journal = false;
  } catch (e) {
    // The keys are brand new and nobody has seen their DS: undo the half-written set (the journal names its
    // files) so the next start can generate a whole one instead of finding (say) a KSK without a ZSK. If even
    // that fails, the journal stays and the next start undoes it.
    if (journal) recoverKeyChange(keysDir, zone, now);
    const why = e instanceof KeyError ? e.message : `${keysDir}: cannot create or write (${errCode(e)})`;
    return { ok: false, error: `${zoneKey}: cannot write new DNSSEC keys (${why})` };
  }

  const warnings: string[] = [];
  const w = record(
    stateFile,
    zoneKey,
    keys.map((k) => k.tag),
    now,
  );
  if (w) warnings.push(w);
  return {
    ok: true,
    ksk,
    zsk,
    dnskeySigners: [ksk],
    published: keys,
    nextEvent: undefined,
    generated: true,
    warnings,
    ...(w ? { keysFileProblem: w } : {}),
  };
}
