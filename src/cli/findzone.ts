/**
 * Finds the zone a command names (ZONE) in the zones directory, loaded as the server serves it: `serial: auto`
 * from the state directory and the automatic TLSA the certificate files and the rollover state give (both read,
 * never written).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listZoneFiles } from '../zone/files.js';
import type { Zone } from '../zone/zone.js';
import type { Name } from '../wire/name.js';
import { loadZoneAsServed } from '../tlsa/zone.js';

/**
 * The zone whose origin is `want` (`zone` as the user wrote it): `<ZONE>.yaml` first (its errors are reported),
 * then any other file. `tlsaErrors` collects the certificate problems, which do not stop the command.
 */
export function findZone(
  zonesDir: string,
  zone: string,
  want: Name,
  stateDir: string,
  tlsaErrors: string[] = [],
): Zone {
  const direct = join(zonesDir, `${want.key.length > 1 ? zone.replace(/\.$/, '') : 'root'}.yaml`);
  const build = (file: string): Zone | null => {
    const r = loadZoneAsServed(file, stateDir);
    if (r.zone.origin.key !== want.key) return null;
    tlsaErrors.push(...r.tlsaErrors);
    return r.zone;
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
