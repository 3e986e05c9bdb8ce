/**
 * src/state/catalog.ts: catalog.json round-trips the members and their removal times; a missing file is an empty
 * state without a problem; a file of another catalog, of another version or not JSON is not used and says why.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOG_FILE, readCatalogState, saveCatalogState } from '../../src/state/catalog.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-catalog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('catalog.json', () => {
  it('no file: no members, nothing removed, no problem', () => {
    expect(readCatalogState(dir, 'catalog.invalid.')).toEqual({ state: { members: [], removed: {} } });
  });

  it('round-trips members and removal times (as ISO 8601 in the file), leaving no temporary file', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    saveCatalogState(dir, 'catalog.invalid.', { members: ['a.example.', 'b.example.'], removed: { 'b.example.': at } });
    expect(readdirSync(dir)).toEqual([CATALOG_FILE]);
    expect(JSON.parse(readFileSync(join(dir, CATALOG_FILE), 'utf8')).removed).toEqual({
      'b.example.': '2026-01-02T03:04:05.000Z',
    });
    expect(readCatalogState(dir, 'catalog.invalid.')).toEqual({
      state: { members: ['a.example.', 'b.example.'], removed: { 'b.example.': at } },
      kept: {},
    });
  });

  it('round-trips the kept transfer settings of zones without a file; malformed parts are left out', () => {
    const kept = {
      'b.example.': { allow: [{ key: 'xfr.', address: null }], notify: [{ address: '192.0.2.7', port: 53, key: null }] },
      'c.example.': { allow: [{ key: null, address: '198.51.100.0/24' }], notify: [], until: 5000 },
    };
    saveCatalogState(dir, 'catalog.invalid.', { members: ['b.example.'], removed: { 'b.example.': 1000 } }, kept);
    expect(readCatalogState(dir, 'catalog.invalid.').kept).toEqual(kept);
    writeFileSync(
      join(dir, CATALOG_FILE),
      JSON.stringify({ version: 1, catalog: 'catalog.invalid.', kept: { 'd.': { allow: 'x', notify: [{ port: 1 }] } } }),
    );
    expect(readCatalogState(dir, 'catalog.invalid.').kept).toEqual({ 'd.': { allow: [], notify: [] } });
  });

  it("another catalog's file is not used", () => {
    saveCatalogState(dir, 'old.invalid.', { members: ['a.example.'], removed: {} });
    const r = readCatalogState(dir, 'catalog.invalid.');
    expect(r.state).toEqual({ members: [], removed: {} });
    expect(r.problem).toMatch(/is the state of catalog old\.invalid\.$/);
  });

  it.each([
    ['{"version":2}', /not a version 1 catalog file/],
    ['{', /catalog\.json: /],
  ])('%s is not used, with the reason', (text, reason) => {
    writeFileSync(join(dir, CATALOG_FILE), text);
    const r = readCatalogState(dir, 'catalog.invalid.');
    expect(r.state.members).toEqual([]);
    expect(r.problem).toMatch(reason);
  });
});
