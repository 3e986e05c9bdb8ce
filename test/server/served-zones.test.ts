import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { AutoTlsa } from '../../src/tlsa/augment.js';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { ServedZones } from '../../src/server/served-zones.js';
import { ZoneFiles } from '../../src/server/zone-files.js';
import { zoneText } from './zone-text.js';

const HASH = 'ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789';
const MAIL = `tlsa:
  - host: mail
    cert: mail.pem
`;

describe('ServedZones', () => {
  let dir: string;
  let sets: AutoTlsa[];
  let log: string[];
  const setup = (): { files: ZoneFiles; served: ServedZones } => {
    const logger = createLogger({ write: (l) => log.push(JSON.parse(l).event) });
    const files = new ZoneFiles({ dir, logger, autoSerial: () => 1 });
    files.loadAll();
    return { files, served: new ServedZones({ logger, setsFor: () => sets, autoSerial: () => 1 }) };
  };
  /** The number of TLSA records at _25._tcp.mail of the served m.example. (undefined: none). */
  const tlsaAt = (zones: ReturnType<ServedZones['zones']>): number | undefined =>
    zones
      .find((z) => z.origin.key === parseName('m.example.').key)!
      .nodes.get(parseName('_25._tcp.mail.m.example.').key)
      ?.rrsets.get(T.TLSA)?.rdatas.length;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-served-'));
    log = [];
    sets = [];
    writeFileSync(join(dir, 'p.yaml'), zoneText('p.example.', 1));
    writeFileSync(join(dir, 'm.yaml'), zoneText('m.example.', 1, '192.0.2.1', '  mail: { A: 192.0.2.25 }\n' + MAIL));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a zone without automatic TLSA is served as loaded (the same object)', () => {
    const { files, served } = setup();
    const p = files.loaded.get(join(dir, 'p.yaml'))!.plain;
    expect(served.zones(files.loaded)).toContain(p);
  });

  it('a zone with automatic TLSA gets the published records, and keeps its object until the sets change', () => {
    const { files, served } = setup();
    sets = [{ host: 'mail', ports: [25], ttl: 300, rdatas: [`3 1 1 ${HASH}`], line: 9 }];
    const first = served.zones(files.loaded);
    expect(tlsaAt(first)).toBe(1);
    expect(log.filter((e) => e === 'zone-tlsa-applied')).toHaveLength(1);
    const again = served.zones(files.loaded);
    expect(again.find((z) => z.origin.key === parseName('m.example.').key)).toBe(
      first.find((z) => z.origin.key === parseName('m.example.').key),
    );
    expect(log.filter((e) => e === 'zone-tlsa-applied')).toHaveLength(1);
    sets = [];
    expect(tlsaAt(served.zones(files.loaded))).toBeUndefined();
    expect(log.filter((e) => e === 'zone-tlsa-applied')).toHaveLength(2);
  });
});
