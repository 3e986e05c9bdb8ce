import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamicStore, dynamicFile, readDynamicFile } from '../../src/state/dynamic.js';

/** The records of dynamic update in the state directory: one file per zone, written atomically. */
describe('DynamicStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dane-ns-dynstate-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const rec = { name: '_acme-challenge.example.com.', type: 'TXT', ttl: 60, data: '"tok"' };

  it('a zone without a file has no records; save writes the file and bumps the version', () => {
    const store = new DynamicStore(dir);
    expect(store.records('Example.COM.')).toEqual([]);
    expect(store.version('example.com.')).toBe(0);
    store.save('Example.com.', [rec]);
    expect(dynamicFile(dir, 'example.com')).toBe(join(dir, 'dynamic', 'example.com.json'));
    expect(JSON.parse(readFileSync(dynamicFile(dir, 'example.com.'), 'utf8'))).toEqual({
      zone: 'example.com.',
      records: [rec],
    });
    expect(store.version('example.com.')).toBe(1);
    // A new store (a restart) reads what was written.
    expect(new DynamicStore(dir).records('example.com.')).toEqual([rec]);
  });

  it('a malformed file is an error, not an empty zone', () => {
    mkdirSync(join(dir, 'dynamic'));
    writeFileSync(dynamicFile(dir, 'example.com.'), '{"records": [{"name": 1}]}');
    expect(() => readDynamicFile(dynamicFile(dir, 'example.com.'))).toThrow(/not a dynamic records file/);
    writeFileSync(dynamicFile(dir, 'example.com.'), '{"records": [');
    expect(() => new DynamicStore(dir).records('example.com.')).toThrow();
  });
});
