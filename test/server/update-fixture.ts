/** A zone with an `update:` policy and UPDATE records for the dynamic update unit tests (RFC 2136). */
import type { DynamicRecord } from '../../src/state/dynamic.js';
import type { RR } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { CLASS_IN, typeFromText } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import { withDynamicRecords } from '../../src/zone/dynamic.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';

export const ZONE_TEXT = `origin: example.com.
soa: { mname: ns1, rname: hostmaster, serial: 1 }
records:
  "@": { NS: ns1, TXT: "apex text" }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
update:
  - key: acme
    names: [_acme-challenge, _acme-challenge.mail]
  - key: other
    names: [other]
    types: [TXT, A]
`;

/** The zone with these dynamic records (throws on any problem). */
export function updZone(records: readonly DynamicRecord[] = []): Zone {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('example.com.yaml', ZONE_TEXT, problems);
  const f = withDynamicRecords({ src, problems, defaultOrigin: 'example.com' }, records);
  const zone = buildZone(f.src, { defaultOrigin: 'example.com' }, problems);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return zone;
}

/** One dynamic TXT record at `owner` (relative to example.com.). */
export const txt = (owner: string, text: string, ttl = 60): DynamicRecord => ({
  name: `${owner}.example.com.`,
  type: 'TXT',
  ttl,
  data: `"${text}"`,
});

/** An RR of an UPDATE message: `owner` relative to example.com. (or `@`), rdata in presentation form or empty. */
export function rr(owner: string, type: string, cls = CLASS_IN, ttl = 0, data = ''): RR {
  const t = typeFromText(type);
  const origin = parseName('example.com.');
  return {
    name: owner === '@' ? origin : parseName(owner, origin),
    type: t,
    class: cls,
    ttl,
    rdata: data === '' ? new Uint8Array(0) : rdataFromText(t, data, origin),
  };
}
