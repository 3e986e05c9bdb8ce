/**
 * The IXFR journal (src/server/journal.ts, RFC 1995 §4): the difference between consecutive versions, and its
 * condensation from a client's serial to the newest, over a table of version sequences. The check of each:
 * applying the condensed difference (delete, then add) to the client's version gives exactly the newest one.
 * The journal in the state directory (src/server/journal-store.ts): taken up after a restart, damage ignored.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { fileJournalStore, JOURNAL_DIR } from '../../src/server/journal-store.js';
import type { ZoneVersion } from '../../src/server/publisher.js';
import { condense, Journal, MAX_VERSIONS } from '../../src/server/journal.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';

/** Records every version has: the zone is larger than its differences, as most zones are. */
const PAD = Array.from({ length: 30 }, (_, i) => `  p${i}: { TXT: "${'p'.repeat(40)} ${i}" }\n`).join('');

/** A version of example.com. with these `records:` lines. */
function version(serial: number, records: string): ZoneVersion {
  const problems: ZoneProblem[] = [];
  const text = `origin: example.com.\nsoa: { mname: ns1, rname: h, serial: ${serial} }\ndnssec: { enabled: false }\ntransfer: { allow: [{ address: 127.0.0.1 }] }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n${PAD}${records}`;
  const zone = buildZone(parseZoneYaml('example.com.yaml', text, problems), { defaultOrigin: 'example.com' }, problems);
  expect(problems).toEqual([]);
  return { origin: 'example.com.', serial, zone, signed: undefined, at: 0 };
}

const A = '  a: { A: 192.0.2.1 }\n';
const A2 = '  a: { A: 192.0.2.2 }\n';
const B = '  b: { TXT: hello }\n';
const B_TTL = '  b: { TXT: { ttl: 60, value: hello } }\n';
const C = '  c: { AAAA: 2001:db8::1 }\n';

/** Sequences of versions: [name, records of version 1, 2, ...]. */
const TABLE: [string, string[]][] = [
  ['one change', [A, A2]],
  ['an addition then a deletion of it cancel out', ['', B, '']],
  ['a deletion then the same record added back cancel out', [A, '', A]],
  ['changes on different owners accumulate', [A, A + B, A2 + B + C]],
  ['a TTL change is a deletion and an addition', [B, B_TTL, B]],
  ['a long run of flips', [A, A2, A, A2, A, A2 + C, C]],
];

describe('journal condensation (RFC 1995 §4)', () => {
  it.each(TABLE)('%s: applying the condensed difference from each serial gives the newest version', (_, seq) => {
    const j = new Journal();
    const versions = seq.map((r, i) => version(100 + i, r));
    for (const v of versions) j.published(v);
    const chain = j.differences('example.com.');
    expect(chain.map((d) => [d.from, d.to])).toEqual(versions.slice(1).map((v, i) => [100 + i, v.serial]));
    // Every version's full record set, rebuilt by applying each single difference in turn from the first.
    const full: Set<string>[] = [contents(versions[0]!)];
    for (const d of chain) full.push(apply(full.at(-1)!, d.deleted, d.added));
    expect(full.at(-1)).toEqual(contents(versions.at(-1)!));
    for (let i = 0; i < chain.length; i++) {
      const c = condense(chain, 100 + i)!;
      expect([c.from, c.to]).toEqual([100 + i, 100 + chain.length]);
      expect(apply(full[i]!, c.deleted, c.added)).toEqual(full.at(-1));
      // Condensed: nothing both deleted and added, nothing deleted that the old version lacked.
      expect(c.deleted.filter((r) => c.added.includes(r))).toEqual([]);
      expect(c.deleted.every((r) => full[i]!.has(r))).toBe(true);
      expect(c.added.every((r) => !full[i]!.has(r))).toBe(true);
    }
    expect(condense(chain, 99)).toBeNull();
  });

  it('cancelling changes condense to nothing but the two SOAs', () => {
    const j = new Journal();
    for (const [i, r] of ['', B, ''].entries()) j.published(version(1 + i, r));
    const c = condense(j.differences('example.com.'), 1)!;
    expect([c.deleted, c.added]).toEqual([[], []]);
  });

  it(`keeps the last ${MAX_VERSIONS} differences and no more than about the zone's size`, () => {
    const j = new Journal();
    for (let i = 0; i < MAX_VERSIONS + 5; i++) j.published(version(1 + i, i % 2 ? A : A2));
    const chain = j.differences('example.com.');
    expect(chain).toHaveLength(MAX_VERSIONS);
    expect(chain[0]!.from).toBe(5);
    expect(j.since('example.com.', 5, MAX_VERSIONS + 5)).not.toBeNull();
    expect(j.since('example.com.', 4, MAX_VERSIONS + 5)).toBeNull();
    // The snapshot moved on past the journal: it cannot answer.
    expect(j.since('example.com.', 5, MAX_VERSIONS + 6)).toBeNull();
    // The whole zone replaced each time: a difference twice the zone's size, kept by no journal.
    const k = new Journal();
    const big = (n: number): string =>
      Array.from({ length: 200 }, (_, i) => `  h${i}: { TXT: "${n} ${'y'.repeat(100)}" }\n`).join('');
    for (let i = 0; i < 3; i++) k.published(version(1 + i, big(i)));
    expect(k.differences('example.com.')).toEqual([]);
    expect(k.since('example.com.', 2, 3)).toBeNull();
  });

  it('a serial that does not rise starts the journal over; a withdrawn zone has none', () => {
    const j = new Journal();
    j.published(version(5, A));
    j.published(version(6, A2));
    j.published(version(3, A));
    expect(j.differences('example.com.')).toEqual([]);
    j.published(version(4, B));
    j.withdrawn('example.com.');
    expect(j.differences('example.com.')).toEqual([]);
  });
});

/** Every record of a version, SOA apart (what the journal diffs), read through a one-step journal. */
function contents(v: ZoneVersion): Set<string> {
  const j = new Journal();
  j.published({ ...version(v.serial - 1, ''), zone: emptyLike(v) });
  j.published(v);
  const d = j.differences('example.com.')[0]!;
  // From an empty version (SOA only) every record of `v` is an addition.
  expect(d.deleted).toEqual([]);
  return new Set(d.added);
}

/** A version holding nothing but a SOA at the same origin (so every record of the other is an addition). */
function emptyLike(v: ZoneVersion): ZoneVersion['zone'] {
  return { ...v.zone, ordered: [] } as ZoneVersion['zone'];
}

function apply(from: Set<string>, deleted: readonly string[], added: readonly string[]): Set<string> {
  const out = new Set(from);
  for (const r of deleted) expect(out.delete(r)).toBe(true);
  for (const r of added) {
    expect(out.has(r)).toBe(false);
    out.add(r);
  }
  return out;
}

describe('the journal in the state directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dane-ns-journal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a restart at the same serial takes the differences up again; a damaged file is ignored with a log line', () => {
    const lines: string[] = [];
    const store = fileJournalStore(dir, createLogger({ write: (l) => lines.push(l) }));
    const j = new Journal(store);
    for (const [i, r] of [A, A2, A2 + B].entries()) j.published(version(1 + i, r));
    expect(j.since('example.com.', 1, 3)).not.toBeNull();
    const again = new Journal(store);
    again.published(version(3, A2 + B));
    expect(again.differences('example.com.')).toEqual(j.differences('example.com.'));
    expect(again.since('example.com.', 1, 3)).toEqual(j.since('example.com.', 1, 3));
    // Another serial after the restart: the stored differences do not lead to it.
    const other = new Journal(fileJournalStore(dir, createLogger({ write: () => {} })));
    other.published(version(4, A));
    expect(other.differences('example.com.')).toEqual([]);
    // Damaged: not JSON, then JSON whose differences do not follow one another.
    const file = join(dir, JOURNAL_DIR, 'example.com.json');
    writeFileSync(file, '{"origin": "example.com.", "ch');
    const damaged = new Journal(store);
    damaged.published(version(4, A));
    expect(damaged.differences('example.com.')).toEqual([]);
    expect(lines.filter((l) => l.includes('ixfr-journal-ignored'))).toHaveLength(1);
    j.published(version(4, A));
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { chain: { to: number }[] };
    stored.chain[0]!.to = 99;
    writeFileSync(file, JSON.stringify(stored));
    const broken = new Journal(store);
    broken.published(version(4, A));
    expect(broken.differences('example.com.')).toEqual([]);
    expect(lines.filter((l) => l.includes('ixfr-journal-ignored'))).toHaveLength(2);
  });
});

describe('a zone nobody may transfer', () => {
  it('keeps no journal: it would hold every record of the zone once more', () => {
    const j = new Journal();
    const closed = (v: ZoneVersion): ZoneVersion => ({
      ...v,
      zone: { ...v.zone, transfer: { ...v.zone.transfer, allow: [] } },
    });
    j.published(closed(version(1, A)));
    j.published(closed(version(2, A2)));
    expect(j.differences('example.com.')).toEqual([]);
    expect(j.since('example.com.', 1, 2)).toBeNull();
    j.published(version(3, A));
    j.published(version(4, A2));
    expect(j.differences('example.com.')).toHaveLength(1);
  });
});

describe('journal files that cannot be read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dane-ns-journal-unreadable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = createLogger({ write: () => {} });

  it('are reported, and not written over until they read; a damaged one is reported and written over', () => {
    const file = join(dir, JOURNAL_DIR, 'a.example.json');
    mkdirSync(file, { recursive: true }); // a directory in its place: not a regular file
    const reported: string[] = [];
    const writes: (() => void)[] = [];
    const store = fileJournalStore(
      dir,
      quiet,
      (_path, write) => writes.push(write),
      (path, reason) => reported.push(`${path}: ${reason}`),
    );
    expect(store.load('a.example.')).toBeNull();
    expect(reported).toEqual([`${file}: read: not a regular file (directory)`]);
    store.save('a.example.', { serial: 7, chain: [] });
    expect(() => writes[0]!()).toThrow(/cannot read: not a regular file \(directory\); not written over/);
    expect(statSync(file).isDirectory()).toBe(true);
    rmSync(file, { recursive: true });
    writes[0]!(); // gone now: written
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ origin: 'a.example.', serial: 7 });

    const damaged = join(dir, JOURNAL_DIR, 'b.example.json');
    writeFileSync(damaged, '{');
    expect(store.load('b.example.')).toBeNull();
    expect(reported[1]).toMatch(/^.*b\.example\.json: read: .*JSON/);
    store.save('b.example.', { serial: 8, chain: [] });
    writes[1]!();
    expect(JSON.parse(readFileSync(damaged, 'utf8'))).toMatchObject({ origin: 'b.example.', serial: 8 });
  });
});
