import { describe, expect, it } from 'vitest';
import { buildZone } from '../../src/zone/build.js';
import { ZoneError, formatProblem, type ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';

/**
 * Every key of the zone file (docs/zone-format.md): an accepted value has an effect on the built Zone, and a
 * refused value is an error that names the key, with the line of the value.
 */

const NS = `records:\n  "@":\n    NS: ns1\n  ns1:\n    A: 192.0.2.53\n`;
const SOA = `soa: { mname: ns1, rname: hostmaster }\n`;

function load(text: string): Zone {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('z.yaml', text, problems);
  return buildZone(src, { defaultOrigin: 'example.com' }, problems);
}

function problemsOf(text: string): string[] {
  try {
    load(text);
  } catch (e) {
    if (e instanceof ZoneError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

describe('dnssec.denial', () => {
  it('compact (RFC 9824) is refused until the signer implements it, with the line of the value', () => {
    expect(problemsOf(`${SOA}dnssec:\n  enabled: true\n  denial: compact\n${NS}`)).toEqual([
      'z.yaml:4: dnssec.denial: compact is not supported yet',
    ]);
  });

  it('nsec builds the zone with the NSEC chain denial', () => {
    expect(load(`${SOA}dnssec:\n  denial: nsec\n${NS}`).dnssec.denial).toBe('nsec');
  });
});
