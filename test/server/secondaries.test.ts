/**
 * src/server/secondaries.ts: the addresses of the zones' secondaries (`transfer.allow` prefixes and
 * `transfer.notify` targets), which the TCP listener lets use its reserve beyond the connection cap.
 */
import { describe, expect, it } from 'vitest';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';
import { SecondaryAddresses } from '../../src/server/secondaries.js';
import { zoneText } from './zone-text.js';

function zoneWith(origin: string, transfer: string): Zone {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml(`${origin}yaml`, `${zoneText(origin, 1)}transfer:\n${transfer}`, problems);
  const zone = buildZone(src, { defaultOrigin: origin }, problems);
  expect(problems).toEqual([]);
  return zone;
}

const a = zoneWith(
  'a.example.',
  `  allow:
    - { key: xfr, address: 192.0.2.0/24 }
    - key: xfr
    - address: 2001:db8:1::/48
  notify:
    - address: 198.51.100.7
`,
);
const b = zoneWith('b.example.', `  notify:\n    - { address: 2001:db8::53, port: 5300 }\n`);

describe('SecondaryAddresses', () => {
  it('holds the allow prefixes and notify targets of every zone, IPv4-mapped clients included', () => {
    const s = new SecondaryAddresses();
    s.update([a, b]);
    expect(s.size).toBe(4);
    for (const yes of [
      '192.0.2.1',
      '192.0.2.255',
      '::ffff:192.0.2.9',
      '2001:db8:1:ff::1',
      '198.51.100.7',
      '2001:db8::53',
    ])
      expect(s.has(yes), yes).toBe(true);
    for (const no of ['192.0.3.1', '198.51.100.8', '2001:db8::54', '2001:db8:2::1', '127.0.0.1', 'not an address'])
      expect(s.has(no), no).toBe(false);
  });

  it('is replaced by each update: a secondary removed from the zones is one no more', () => {
    const s = new SecondaryAddresses();
    expect(s.has('192.0.2.1')).toBe(false);
    s.update([a, b]);
    expect(s.has('192.0.2.1')).toBe(true);
    s.update([b]);
    expect(s.has('192.0.2.1')).toBe(false);
    expect(s.has('2001:db8::53')).toBe(true);
    s.update([]);
    expect(s.size).toBe(0);
  });
});
