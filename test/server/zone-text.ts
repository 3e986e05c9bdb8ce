/** Small zones for the server unit tests, built from YAML text in memory. */
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';

/** Zone file text for `origin` with a fixed serial and one A record for www. */
export const zoneText = (origin: string, serial: number, a = '192.0.2.1', extra = ''): string => `origin: ${origin}
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: ${serial}, minimum: 60 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: ${a} }
${extra}`;

/** The zone built from zoneText (throws on any problem). */
export function makeZone(origin: string, serial: number, a?: string): Zone {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml(`${origin}yaml`, zoneText(origin, serial, a), problems);
  const zone = buildZone(src, { defaultOrigin: origin }, problems);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return zone;
}
