import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { soaSerial } from '../../src/zone/build.js';
import { LISTED_PROBLEMS_MAX, LISTED_REASON_MAX, ZoneError } from '../../src/zone/errors.js';
import { ZoneFiles } from '../../src/server/zone-files.js';
import { notAZoneFile } from '../../src/zone/files.js';
import { zoneText } from './zone-text.js';

describe('ZoneFiles', () => {
  let dir: string;
  let lines: { event: string; [k: string]: unknown }[];
  let failures: number;
  const events = (): string[] => lines.map((l) => l.event);
  const files = (): ZoneFiles =>
    new ZoneFiles({
      dir,
      logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }),
      autoSerial: () => 1,
      onLoadFailed: () => failures++,
    });
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text);
  const serialOf = (zf: ZoneFiles, name: string): number =>
    soaSerial(zf.loaded.get(join(dir, name))!.plain.soa.rdatas[0]!);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-zone-files-'));
    lines = [];
    failures = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads every file at start and logs zone-loaded for each', () => {
    write('a.yaml', zoneText('a.example.', 1));
    write('b.yaml', zoneText('b.example.', 2));
    const zf = files();
    zf.loadAll();
    expect([...zf.loaded.keys()].sort()).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
    expect(lines.filter((l) => l.event === 'zone-loaded').map((l) => [l.zone, l.serial])).toEqual([
      ['a.example.', 1],
      ['b.example.', 2],
    ]);
  });

  it('refuses to start when two files serve the same origin, and keeps nothing', () => {
    write('a.yaml', zoneText('a.example.', 1));
    write('a-again.yaml', zoneText('a.example.', 2));
    const zf = files();
    expect(() => zf.loadAll()).toThrow(ZoneError);
    expect(() => zf.loadAll()).toThrow(/zone a\.example\. is already served from a(-again)?\.yaml/);
    expect(zf.loaded.size).toBe(0);
  });

  it('a failing reload keeps the last good version, shows in failing and counts; fixing it clears both', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    const good = zf.loaded.get(join(dir, 'a.yaml'))!.plain;
    write('a.yaml', 'origin: a.example.\nrecords: [not a map\n');
    expect(zf.reload()).toBe(true);
    expect(zf.loaded.get(join(dir, 'a.yaml'))!.plain).toBe(good);
    expect([...zf.failing.keys()]).toEqual([join(dir, 'a.yaml')]);
    expect(zf.failing.get(join(dir, 'a.yaml'))![0]).toMatch(/a\.yaml:\d+:\d+: YAML: /);
    expect(failures).toBe(1);
    expect(lines.find((l) => l.event === 'zone-load-failed')).toMatchObject({ keeping: 'last good version' });
    write('a.yaml', zoneText('a.example.', 5, '192.0.2.5'));
    zf.reload();
    expect(zf.failing.size).toBe(0);
    expect(serialOf(zf, 'a.yaml')).toBe(5);
  });

  it('reload(only) reads that file alone: a broken or removed other file is not read, logged or dropped', () => {
    write('a.yaml', zoneText('a.example.', 1));
    write('b.yaml', zoneText('b.example.', 2));
    const zf = files();
    zf.loadAll();
    write('a.yaml', zoneText('a.example.', 3, '192.0.2.3'));
    write('b.yaml', 'origin: b.example.\nrecords: [not a map\n');
    lines = [];
    expect(zf.reload(join(dir, 'a.yaml'))).toBe(true);
    expect(serialOf(zf, 'a.yaml')).toBe(3);
    expect(zf.failing.size).toBe(0);
    expect(serialOf(zf, 'b.yaml')).toBe(2);
    expect(events()).toEqual(['zone-loaded']);
    unlinkSync(join(dir, 'b.yaml'));
    zf.reload(join(dir, 'a.yaml'));
    expect(zf.loaded.has(join(dir, 'b.yaml'))).toBe(true);
    zf.reload();
    expect(zf.loaded.has(join(dir, 'b.yaml'))).toBe(false);
  });

  it('an unchanged file is not parsed again: the zone stays the same object and is not logged again', () => {
    write('a.yaml', zoneText('a.example.', 1));
    write('b.yaml', zoneText('b.example.', 1));
    const zf = files();
    zf.loadAll();
    const a = zf.loaded.get(join(dir, 'a.yaml'))!.plain;
    lines = [];
    write('b.yaml', zoneText('b.example.', 2, '192.0.2.2'));
    zf.reload();
    expect(zf.loaded.get(join(dir, 'a.yaml'))!.plain).toBe(a);
    expect(lines.filter((l) => l.event === 'zone-loaded').map((l) => l.zone)).toEqual(['b.example.']);
  });

  it('a removed file is dropped and logged; a removed failing file leaves failing', () => {
    write('a.yaml', zoneText('a.example.', 1));
    write('b.yaml', zoneText('b.example.', 1));
    const zf = files();
    zf.loadAll();
    write('c.yaml', 'not: [a zone');
    zf.reload();
    expect(zf.failing.has(join(dir, 'c.yaml'))).toBe(true);
    unlinkSync(join(dir, 'b.yaml'));
    unlinkSync(join(dir, 'c.yaml'));
    zf.reload();
    expect([...zf.loaded.keys()]).toEqual([join(dir, 'a.yaml')]);
    expect(zf.failing.size).toBe(0);
    expect(lines.filter((l) => l.event === 'zone-removed').map((l) => l.file)).toEqual(['b.yaml']);
  });

  it('on reload, a new file taking an origin already served fails and the first file keeps serving', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    write('z.yaml', zoneText('a.example.', 9));
    zf.reload();
    expect(zf.loaded.has(join(dir, 'z.yaml'))).toBe(false);
    expect(serialOf(zf, 'a.yaml')).toBe(1);
    expect(zf.failing.get(join(dir, 'z.yaml'))![0]).toMatch(/already served from a\.yaml/);
  });

  it('an unreadable directory keeps every zone and reports reload-failed', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    rmSync(dir, { recursive: true, force: true });
    expect(zf.reload()).toBe(false);
    expect(zf.loaded.size).toBe(1);
    expect(events()).toContain('reload-failed');
  });
  it('a failed file is not parsed again until it changes (its stamp: inode, size, times)', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    write('b.yaml', 'origin: b.example.\nrecords: [not a map\n');
    zf.reload();
    zf.reload();
    zf.reload();
    expect(failures).toBe(1);
    expect(lines.filter((l) => l.event === 'zone-load-failed')).toHaveLength(1);
    expect(zf.failing.has(join(dir, 'b.yaml'))).toBe(true);
    write('b.yaml', zoneText('b.example.', 3));
    zf.reload();
    expect(zf.failing.size).toBe(0);
    expect(serialOf(zf, 'b.yaml')).toBe(3);
  });

  // An errno from open() (EACCES, EMFILE, ELOOP) may pass without the file changing. A link to itself fails with
  // ELOOP for every user, root included (CI runs as root, which opens any file: no EACCES to see there).
  it('a file the system would not open (ELOOP, like EACCES) is tried again on each reload', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    symlinkSync('b.yaml', join(dir, 'b.yaml'));
    zf.reload();
    zf.reload();
    expect(failures).toBe(2);
    expect(zf.failing.get(join(dir, 'b.yaml'))![0]).toMatch(/cannot read: cannot open \(ELOOP\)$/);
  });

  it('a file of many long bad lines is logged as a bounded list: the first problems, clipped, then a count', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    const bad = Array.from({ length: 500 }, (_, i) => `  w${i}: { A: "${'9'.repeat(5000)}" }`).join('\n');
    write('a.yaml', zoneText('a.example.', 2, '192.0.2.1', bad));
    zf.reload();
    const logged = lines.find((l) => l.event === 'zone-load-failed')!.problems as string[];
    expect(logged).toHaveLength(LISTED_PROBLEMS_MAX + 1);
    expect(logged.at(-1)).toBe(`... and ${500 - LISTED_PROBLEMS_MAX} more`);
    expect(logged[0]).toMatch(/…$/);
    for (const p of logged) expect(p.length).toBeLessThanOrEqual(join(dir, 'a.yaml').length + 12 + LISTED_REASON_MAX);
    expect(zf.failing.get(join(dir, 'a.yaml'))).toEqual(logged);
    expect(JSON.stringify(lines).length).toBeLessThan(20_000);
  });

  it('a served zone file replaced by a link to /dev/zero keeps serving its last good version', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    const good = zf.loaded.get(join(dir, 'a.yaml'))!.plain;
    unlinkSync(join(dir, 'a.yaml'));
    symlinkSync('/dev/zero', join(dir, 'a.yaml'));
    zf.reload();
    expect(zf.loaded.get(join(dir, 'a.yaml'))!.plain).toBe(good);
    expect(lines.find((l) => l.event === 'zone-load-failed')).toMatchObject({
      file: 'a.yaml',
      problems: [`${join(dir, 'a.yaml')}:0: cannot read: not a regular file (character device)`],
      keeping: 'last good version',
    });
  });

  it('a FIFO or a link to /dev/zero named like a zone file fails at once with its reason; the others load', () => {
    write('a.yaml', zoneText('a.example.', 1));
    const zf = files();
    zf.loadAll();
    execFileSync('mkfifo', [join(dir, 'x.yaml')]);
    symlinkSync('/dev/zero', join(dir, 'z.yaml'));
    write('b.yaml', zoneText('b.example.', 2));
    zf.reload();
    expect(zf.failing.get(join(dir, 'x.yaml'))).toEqual([
      `${join(dir, 'x.yaml')}:0: cannot read: not a regular file (FIFO)`,
    ]);
    expect(zf.failing.get(join(dir, 'z.yaml'))).toEqual([
      `${join(dir, 'z.yaml')}:0: cannot read: not a regular file (character device)`,
    ]);
    expect(serialOf(zf, 'b.yaml')).toBe(2);
    expect(serialOf(zf, 'a.yaml')).toBe(1);
  });

  it("logs each file that is not a zone file once, by name, with the reason; editors' files and hidden files never", () => {
    write('a.yaml', zoneText('a.example.', 1));
    write('example.org.yaml.good', 'x');
    write('notes.txt', 'x');
    for (const quiet of ['.hidden.yaml', '.a.yaml.swp', 'a.yaml~', '#a.yaml#', '4913', 'a.yaml___jb_tmp___'])
      write(quiet, 'x');
    mkdirSync(join(dir, 'archive'));
    const zf = files();
    zf.loadAll();
    const ignored = (): unknown[] =>
      lines.filter((l) => l.event === 'zone-file-ignored').map((l) => [l.level, l.file, l.reason]);
    const reason = 'not a zone file: zone files must be named <zone>.yaml or <zone>.yml';
    expect(ignored()).toEqual([
      ['warn', 'example.org.yaml.good', reason],
      ['warn', 'notes.txt', reason],
    ]);
    expect([...zf.loaded.keys()]).toEqual([join(dir, 'a.yaml')]);
    // Said once: not again on reload; a new stray file is said when it appears.
    write('a.yaml.bak', 'x');
    zf.reload();
    zf.reload();
    expect(ignored()).toEqual([
      ['warn', 'example.org.yaml.good', reason],
      ['warn', 'notes.txt', reason],
      ['warn', 'a.yaml.bak', reason],
    ]);
  });

  it('notAZoneFile: zone files, files said to be ignored, files ignored silently', () => {
    for (const zone of ['example.com.yaml', 'example.com.yml', 'root.yaml']) expect(notAZoneFile(zone)).toBeUndefined();
    for (const stray of ['example.org.yaml.good', 'notes.txt', 'example.com.yaml.bak', 'example.com', 'x.YAML'])
      expect(notAZoneFile(stray)).toMatch(/^not a zone file: zone files must be named <zone>\.yaml or <zone>\.yml$/);
    for (const quiet of [
      '.hidden',
      '.example.com.yaml.swp',
      'example.com.yaml~',
      '#example.com.yaml#',
      'x.swo',
      '4913',
    ])
      expect(notAZoneFile(quiet)).toBe('');
  });
});
