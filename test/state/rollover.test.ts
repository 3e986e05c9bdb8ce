import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloverStore, type StoredHost } from '../../src/state/rollover.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HOSTS: Record<string, StoredHost> = {
  'example.com.|mail.example.com.': {
    ttl: 300,
    records: [
      { rdata: '3 1 1 AA', roles: [], since: 1, retiredAt: 5, until: 605 },
      { rdata: '3 1 1 BB', roles: ['current', 'next'], since: 5 },
    ],
  },
  'example.com.|a.example.com.': { ttl: 60, records: [{ rdata: '2 1 1 CC', roles: ['issuer'], since: 9 }] },
};

describe('RolloverStore', () => {
  it('no file: no hosts, no problem, nothing written by load', () => {
    const s = new RolloverStore(dir);
    expect(s.file).toBe(join(dir, 'tlsa.json'));
    expect(s.load(0)).toEqual({ hosts: {} });
    expect(existsSync(s.file)).toBe(false);
  });

  it('round trip: what is saved loads back equal in a new store (a restart)', () => {
    const s = new RolloverStore(dir);
    expect(s.save(HOSTS)).toBe(true);
    const doc = JSON.parse(readFileSync(s.file, 'utf8')) as { version: number; hosts: Record<string, unknown> };
    expect(doc.version).toBe(1);
    // hosts sorted by key, so equal content gives an equal file
    expect(Object.keys(doc.hosts)).toEqual(['example.com.|a.example.com.', 'example.com.|mail.example.com.']);
    expect(new RolloverStore(dir).load(0)).toEqual({ hosts: HOSTS });
    // no temporary files left behind
    expect(readdirSync(dir)).toEqual(['tlsa.json']);
  });

  it('save writes only when the content changed (also right after a load)', () => {
    const s = new RolloverStore(dir);
    expect(s.save(HOSTS)).toBe(true);
    const m1 = statSync(s.file).mtimeMs;
    const ino = statSync(s.file).ino;
    expect(s.save(JSON.parse(JSON.stringify(HOSTS)) as Record<string, StoredHost>)).toBe(false);
    // the key order does not matter
    expect(s.save(Object.fromEntries(Object.entries(HOSTS).reverse()))).toBe(false);
    expect(statSync(s.file).ino).toBe(ino);
    expect(statSync(s.file).mtimeMs).toBe(m1);

    const t = new RolloverStore(dir);
    t.load(0);
    expect(t.save(HOSTS)).toBe(false);
    const changed = { ...HOSTS, 'example.com.|b.example.com.': { ttl: 1, records: [] } };
    expect(t.save(changed)).toBe(true);
    expect(new RolloverStore(dir).load(0).hosts).toEqual(changed);
    expect(t.save(changed)).toBe(false);
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"version": 1, "hosts": {', /not JSON/],
    ['truncated to nothing', '', /not JSON/],
    ['wrong version', JSON.stringify({ version: 2, hosts: {} }), /not a version 1 TLSA state file/],
    ['hosts missing', JSON.stringify({ version: 1 }), /not a version 1 TLSA state file/],
    ['a JSON array', '[]', /not a version 1 TLSA state file/],
    ['host without ttl', JSON.stringify({ version: 1, hosts: { h: { records: [] } } }), /host h: malformed entry/],
    ['records not a list', JSON.stringify({ version: 1, hosts: { h: { ttl: 1, records: {} } } }), /host h: malformed entry/],
    ['record without rdata', JSON.stringify({ version: 1, hosts: { h: { ttl: 1, records: [{ roles: [], since: 1 }] } } }), /host h: malformed entry/],
    ['until a string', JSON.stringify({ version: 1, hosts: { h: { ttl: 1, records: [{ rdata: 'x', roles: [], since: 1, until: 'soon' }] } } }), /host h: malformed entry/],
    ['record null', JSON.stringify({ version: 1, hosts: { h: { ttl: 1, records: [null] } } }), /host h: malformed entry/],
  ];
  for (const [why, text, reason] of bad) {
    it(`${why}: moved aside to tlsa.json.bad-<time> and reported; never overwritten`, () => {
      const s = new RolloverStore(dir);
      writeFileSync(s.file, text);
      const r = s.load(1234567);
      expect(r.hosts).toEqual({});
      const aside = `${s.file}.bad-1234567`;
      expect(r.problem).toMatch(reason);
      expect(r.problem).toContain(s.file);
      expect(r.problem).toContain(`moved to ${aside}`);
      expect(existsSync(s.file)).toBe(false);
      expect(readFileSync(aside, 'utf8')).toBe(text);
      // the next save writes a fresh, valid file and leaves the bad copy alone
      expect(s.save(HOSTS)).toBe(true);
      expect(new RolloverStore(dir).load(0)).toEqual({ hosts: HOSTS });
      expect(readFileSync(aside, 'utf8')).toBe(text);
    });
  }

  it('a partially bad file loads nothing from it (no half state)', () => {
    const s = new RolloverStore(dir);
    writeFileSync(s.file, JSON.stringify({ version: 1, hosts: { good: HOSTS['example.com.|a.example.com.'], bad: { ttl: 'x', records: [] } } }));
    const r = s.load(5);
    expect(r.hosts).toEqual({});
    expect(r.problem).toMatch(/host bad: malformed entry/);
  });

  it('an unreadable path (a directory) is reported and not moved', () => {
    const s = new RolloverStore(dir);
    rmSync(dir, { recursive: true });
    // tlsa.json as a directory: EISDIR
    mkdirSync(s.file, { recursive: true });
    const r = s.load(1);
    expect(r.hosts).toEqual({});
    expect(r.problem).toMatch(/cannot read/);
    expect(statSync(s.file).isDirectory()).toBe(true);
  });

  it('a FIFO in place of tlsa.json is reported at once (not read forever) and not moved', () => {
    const s = new RolloverStore(dir);
    execFileSync('mkfifo', [s.file]);
    expect(s.load(1)).toEqual({ hosts: {}, problem: `${s.file}: cannot read: not a regular file (FIFO)` });
    expect(statSync(s.file).isFIFO()).toBe(true);
  });

  it('save creates a missing state directory', () => {
    const sub = join(dir, 'deeper', 'state');
    const s = new RolloverStore(sub);
    expect(s.save(HOSTS)).toBe(true);
    expect(new RolloverStore(sub).load(0).hosts).toEqual(HOSTS);
  });
});

describe('a history file that cannot be read', () => {
  it('is never written over; reread() takes it up once it reads', () => {
    const file = join(dir, 'tlsa.json');
    mkdirSync(file); // not a regular file
    const store = new RolloverStore(dir);
    const r = store.load();
    expect(r.problem).toBe(`${file}: cannot read: not a regular file (directory)`);
    expect(store.unreadable).toBe('not a regular file (directory)');
    expect(() => store.save(HOSTS)).toThrow(/cannot read: not a regular file \(directory\); not written over/);
    expect(() => store.reread()).toThrow(/cannot read/);
    expect(statSync(file).isDirectory()).toBe(true);
    rmSync(file, { recursive: true });
    writeFileSync(file, JSON.stringify({ version: 1, hosts: HOSTS }));
    expect(store.reread()).toEqual(HOSTS);
    expect(store.unreadable).toBeUndefined();
    expect(store.save({})).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, hosts: {} });
  });
});
