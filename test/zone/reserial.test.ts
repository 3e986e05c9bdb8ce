/**
 * A zone under another SOA serial (src/zone/reserial.ts): everything but the apex shared, the name map and the
 * ordered names copied in steps that yield for a large zone, the same result whether run in steps or at once.
 */
import { describe, expect, it } from 'vitest';
import { soaSerial } from '../../src/zone/build.js';
import { zoneWithSerial, zoneWithSerialSteps } from '../../src/zone/reserial.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { buildZone } from '../../src/zone/build.js';
import type { Zone } from '../../src/zone/zone.js';
import { T } from '../../src/wire/types.js';

function zone(hosts: number): Zone {
  let body = '';
  for (let i = 0; i < hosts; i++) body += `  h${i}:\n    A: 192.0.2.${i % 250}\n`;
  const text = `origin: example.com.\nsoa: { mname: ns1, rname: hostmaster, serial: 7 }\nrecords:\n  "@":\n    NS: ns1\n  ns1:\n    A: 192.0.2.1\n${body}`;
  const problems: never[] = [];
  const z = buildZone(parseZoneYaml('example.com.yaml', text, problems), { defaultOrigin: 'example.com' });
  expect(problems).toEqual([]);
  return z;
}

describe('zoneWithSerialSteps', () => {
  it('the zone itself when the serial is already its own', () => {
    const z = zone(3);
    const steps = zoneWithSerialSteps(z, 7);
    const r = steps.next();
    expect(r.done && r.value).toBe(z);
  });

  it('a large zone: yields while copying, a new apex with the serial, every other name shared', () => {
    const z = zone(20_000);
    const steps = zoneWithSerialSteps(z, 42);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(yields).toBeGreaterThanOrEqual(4); // 20,002 names, twice (map and order), 8,192 per step
    const next = r.value;
    expect(soaSerial(next.soa.rdatas[0]!)).toBe(42);
    expect(soaSerial(next.apex.rrsets.get(T.SOA)!.rdatas[0]!)).toBe(42);
    expect(soaSerial(z.soa.rdatas[0]!)).toBe(7); // the zone given is untouched
    expect(next.nodes.size).toBe(z.nodes.size);
    expect(next.ordered).toHaveLength(z.ordered.length);
    expect(next.nodes.get(z.apex.name.key)).toBe(next.apex);
    expect(next.ordered[0]).toBe(next.apex);
    expect(next.ordered[5]).toBe(z.ordered[5]);
    expect([...next.nodes.keys()]).toEqual([...z.nodes.keys()]);
    // At once: the same result.
    const once = zoneWithSerial(z, 42);
    expect(once.ordered.map((n) => n.name.key)).toEqual(next.ordered.map((n) => n.name.key));
    expect(once.soa).toEqual(next.soa);
  });
});
