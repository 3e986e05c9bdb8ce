/**
 * Finds the zone a command names (ZONE) in the zones directory: `<ZONE>.yaml` first (its errors are reported),
 * then any other file whose origin is ZONE. Loaded either as the server serves it (`serial: auto` and the
 * automatic TLSA from the state directory and the certificate files) or as written, for a command that needs
 * only the zone's origin and its `tlsa:` entries.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildZoneSource, listZoneFiles, readZoneSource } from '../zone/files.js';
import { ZoneError } from '../zone/errors.js';
import type { Zone } from '../zone/zone.js';
import type { Name } from '../wire/name.js';
import { loadZoneAsServed, tlsaEntryProblems } from '../tlsa/zone.js';

/** Loads one zone file (throws ZoneError). */
export type ZoneLoader = (file: string) => Zone;

/**
 * As the server serves it, reading (never writing) `stateDir`; the certificate problems, which do not stop the
 * command, go to `tlsaErrors`.
 */
export function asServed(stateDir: string, tlsaErrors: string[] = []): ZoneLoader {
  return (file) => {
    const r = loadZoneAsServed(file, stateDir);
    tlsaErrors.push(...r.tlsaErrors);
    return r.zone;
  };
}

/** As written: no state read, no certificate read; the `tlsa:` entries are checked as the server checks them. */
export const asWritten: ZoneLoader = (file) => {
  const source = readZoneSource(file);
  const zone = buildZoneSource(source);
  const problems = tlsaEntryProblems(source, zone);
  if (problems.length > 0) throw new ZoneError([...problems]);
  return zone;
};

/** The zone whose origin is `want` (`zone` as the user wrote it, for file names and messages). */
export function findZone(zonesDir: string, zone: string, want: Name, load: ZoneLoader): Zone {
  const direct = join(zonesDir, `${want.key.length > 1 ? zone.replace(/\.$/, '') : 'root'}.yaml`);
  const build = (file: string): Zone | null => {
    const z = load(file);
    return z.origin.key === want.key ? z : null;
  };
  if (existsSync(direct)) {
    const z = build(direct);
    if (z) return z;
  }
  for (const file of listZoneFiles(zonesDir)) {
    if (file === direct) continue;
    try {
      const z = build(file);
      if (z) return z;
    } catch {
      /* another zone's broken file is not this command's business */
    }
  }
  throw new Error(`no zone ${zone} in ${zonesDir}`);
}
