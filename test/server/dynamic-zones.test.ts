import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DynamicZones } from '../../src/server/dynamic-zones.js';
import { UpdateRejected } from '../../src/server/update.js';
import { ZoneFiles } from '../../src/server/zone-files.js';
import { DynamicStore, dynamicFile } from '../../src/state/dynamic.js';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { exportZone } from '../../src/zone/export.js';
import { zoneText } from './zone-text.js';

/** The records of dynamic update merged into the served zone (RFC 2136), kept apart from the zone file. */
const POLICY = `update:
  - { key: acme, names: [_acme-challenge, _acme-challenge.www], types: [TXT, CNAME] }
`;
const NARROWED = `update:
  - { key: acme, names: [_acme-challenge] }
`;
const rec = (owner: string, type: string, data: string) => ({ name: `${owner}.d.example.`, type, ttl: 60, data });

describe('DynamicZones', () => {
  let dir: string;
  let state: string;
  let events: { event: string; record?: string }[];
  const file = (): string => join(dir, 'zones', 'd.yaml');
  const setup = () => {
    const logger = createLogger({ write: (l) => events.push(JSON.parse(l)) });
    const files = new ZoneFiles({ dir: join(dir, 'zones'), logger, autoSerial: () => 1 });
    files.loadAll();
    const store = new DynamicStore(state);
    return { files, store, dynamic: new DynamicZones(store, logger, () => 1) };
  };
  const txtAt = (
    z: { nodes: ReadonlyMap<string, { rrsets: ReadonlyMap<number, { rdatas: readonly Uint8Array[] }> }> },
    owner: string,
  ) => z.nodes.get(parseName(`${owner}.d.example.`).key)?.rrsets.get(T.TXT)?.rdatas.length;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-dynamic-'));
    state = join(dir, 'state');
    mkdirSync(join(dir, 'zones'));
    writeFileSync(file(), zoneText('d.example.', 1, '192.0.2.1', POLICY));
    events = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('commit writes the records to the state directory, then publishes; the merged zone has them, marked on export', () => {
    const { files, store, dynamic } = setup();
    const zone = [...files.loaded.values()][0]!.plain;
    let published = 0;
    dynamic.commit(files.loaded, zone, [rec('_acme-challenge', 'TXT', '"tok"')], () => {
      // Stable storage first (RFC 2136 §3.5): the file is there when the version is published.
      expect(readFileSync(dynamicFile(state, 'd.example.'), 'utf8')).toContain('"\\"tok\\""');
      published++;
    });
    expect(published).toBe(1);
    const merged = dynamic.merged(file(), [...files.loaded.values()][0]!);
    expect(txtAt(merged.plain, '_acme-challenge')).toBe(1);
    expect(exportZone(merged.plain)).toMatch(
      /; dynamic update \(RFC 2136\)[^\n]*\n_acme-challenge\.d\.example\.\t60\tIN\tTXT\t"tok"/,
    );
    // A second merge of unchanged input is the same object (not signed again).
    expect(dynamic.merged(file(), [...files.loaded.values()][0]!)).toBe(merged);
    expect(store.records('d.example.')).toHaveLength(1);
  });

  it('a change the zone would not build with is UpdateRejected, and nothing is written', () => {
    const { files, dynamic } = setup();
    const zone = [...files.loaded.values()][0]!.plain;
    dynamic.commit(files.loaded, zone, [rec('_acme-challenge.www', 'TXT', '"t"')], () => {});
    const before = readFileSync(dynamicFile(state, 'd.example.'), 'utf8');
    // RFC 1034 §3.6.2: a CNAME beside other data.
    const clash = [rec('_acme-challenge.www', 'TXT', '"t"'), rec('_acme-challenge.www', 'CNAME', 'www.d.example.')];
    expect(() => dynamic.commit(files.loaded, zone, clash, () => {})).toThrow(UpdateRejected);
    expect(readFileSync(dynamicFile(state, 'd.example.'), 'utf8')).toBe(before);
  });

  it('records a narrowed update: no longer allows are dropped, with a log line, and the file rewritten', () => {
    const { files, dynamic } = setup();
    const zone = [...files.loaded.values()][0]!.plain;
    const both = [rec('_acme-challenge', 'TXT', '"keep"'), rec('_acme-challenge.www', 'TXT', '"drop"')];
    dynamic.commit(files.loaded, zone, both, () => {});
    writeFileSync(file(), zoneText('d.example.', 1, '192.0.2.1', NARROWED));
    files.reload();
    const merged = dynamic.merged(file(), [...files.loaded.values()][0]!);
    expect(txtAt(merged.plain, '_acme-challenge')).toBe(1);
    expect(txtAt(merged.plain, '_acme-challenge.www')).toBeUndefined();
    expect(events.filter((e) => e.event === 'dynamic-record-dropped').map((e) => e.record)).toEqual([
      '_acme-challenge.www.d.example. 60 TXT "drop"',
    ]);
    expect(readFileSync(dynamicFile(state, 'd.example.'), 'utf8')).not.toContain('drop');
  });

  it('a records file that cannot be read or written is said to stateFile, and cleared once it works', () => {
    const logger = createLogger({ write: (l) => events.push(JSON.parse(l)) });
    const files = new ZoneFiles({ dir: join(dir, 'zones'), logger, autoSerial: () => 1 });
    files.loadAll();
    const said: [string, string | undefined][] = [];
    const dynamic = new DynamicZones(
      new DynamicStore(state),
      logger,
      () => 1,
      (o, p) => said.push([o, p]),
    );
    const lf = [...files.loaded.values()][0]!;
    const path = dynamicFile(state, 'd.example.');
    mkdirSync(join(path, 'in-the-way'), { recursive: true }); // a directory: neither read nor written over
    expect(dynamic.merged(file(), lf)).toBe(lf);
    expect(said).toEqual([['d.example.', `read: ${path}: not a regular file (directory)`]]);
    expect(() => dynamic.commit(files.loaded, lf.plain, [rec('_acme-challenge', 'TXT', '"t"')], () => {})).toThrow();
    expect(said[1]![1]).toMatch(/^write: /);
    rmSync(path, { recursive: true });
    dynamic.commit(files.loaded, lf.plain, [rec('_acme-challenge', 'TXT', '"t"')], () => {});
    expect(said[2]).toEqual(['d.example.', undefined]);
  });
});
