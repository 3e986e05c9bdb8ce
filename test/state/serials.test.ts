/**
 * The serial decision (RFC 1982) as a table with an injected clock, and the serials file: proposals at build
 * time write nothing, record() writes atomically and is read back by a new store.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextSerial, SerialStore } from '../../src/state/serials.js';
import { tempDirs } from '../support/tmp.js';

const tmp = tempDirs('dane-ns-serials');
/** 2026-01-01T00:00:00Z: the Unix time an `auto` serial takes. */
const NOW_MS = Date.UTC(2026, 0, 1);
const UNIX = NOW_MS / 1000;

describe('nextSerial', () => {
  const cases: [string, number | undefined, boolean, number | 'auto', number][] = [
    // what, previous, changed, file, expected
    ['first auto version: the Unix time', undefined, true, 'auto', UNIX],
    ['first numbered version: the file number', undefined, true, 2024010101, 2024010101],
    ['unchanged content keeps the serial (auto)', 7, false, 'auto', 7],
    ['unchanged content keeps the serial (number below it)', UNIX + 5, false, 3, UNIX + 5],
    ['unchanged content, the file number raised: the file number', 5, false, 10, 10],
    ['re-signed, auto, serial behind the clock: the Unix time', 5, true, 'auto', UNIX],
    ['re-signed, auto, serial ahead of the clock: previous + 1', UNIX + 100, true, 'auto', UNIX + 101],
    ['re-signed, file number as floor: previous + 1', 10, true, 10, 11],
    ['changed, file number above previous + 1: the file number', 10, true, 50, 50],
    ['RFC 1982 wrap: 2^32 - 1 + 1 is 0', 0xffff_ffff, true, 0xffff_fff0, 0],
    ['RFC 1982 wrap: a file number of 3 is greater than the wrapped 0', 0xffff_ffff, true, 3, 3],
    ['RFC 1982: a number far below is not greater (unchanged keeps it)', 0xffff_fff0, false, 5, 5],
    ['RFC 1982 wrap past the clock: a serial 2^31 - 1 ahead rises by one', (UNIX + 0x7fff_ffff) >>> 0, true, 'auto', (UNIX + 0x8000_0000) >>> 0],
  ];
  it.each(cases)('%s', (_what, previous, changed, file, expected) => {
    expect(nextSerial({ previous, changed, file, nowMs: NOW_MS })).toBe(expected);
  });
});

describe('SerialStore', () => {
  it('proposes without writing; record() writes what a new store reads back', () => {
    const dir = tmp();
    const store = new SerialStore(dir, () => NOW_MS);
    expect(store.serialFor('a.example.', 'h1')).toBe(UNIX);
    expect(() => readFileSync(join(dir, 'serials.json'))).toThrow();
    store.record('a.example.', { serial: 42, hash: 'h1', signed: 'd1' });
    const again = new SerialStore(dir, () => NOW_MS + 1000);
    expect(again.previous('a.example.')).toEqual({ serial: 42, hash: 'h1', signed: 'd1' });
    expect(again.serialFor('a.example.', 'h1')).toBe(42); // same content: the served serial
    expect(again.serialFor('a.example.', 'h2')).toBe(UNIX + 1); // other content: the clock, ahead of 42
  });

  it('reads a file written before the signed digests were kept', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'serials.json'), JSON.stringify({ 'a.example.': { serial: 3_000_000_000, hash: 'x' } }));
    const store = new SerialStore(dir, () => NOW_MS);
    expect(store.previous('a.example.')).toEqual({ serial: 3_000_000_000, hash: 'x' });
    expect(store.serialFor('a.example.', 'y')).toBe(3_000_000_001);
  });

  it('a read-only store records nothing', () => {
    const dir = tmp();
    new SerialStore(dir, () => NOW_MS, true).record('a.example.', { serial: 1, hash: 'h' });
    expect(() => readFileSync(join(dir, 'serials.json'))).toThrow();
  });

  it('a failed write keeps the serial in memory and writes it on the next flush()', () => {
    const dir = tmp();
    const state = join(dir, 'state');
    const store = new SerialStore(state, () => NOW_MS);
    writeFileSync(state, 'not a directory'); // every write fails (EEXIST/ENOTDIR)
    expect(() => store.record('a.example.', { serial: UNIX + 100, hash: 'h1' })).toThrow();
    expect(store.previous('a.example.')).toEqual({ serial: UNIX + 100, hash: 'h1' });
    expect(store.serialFor('a.example.', 'h2')).toBe(UNIX + 101); // follows the served serial, not the file
    rmSync(state);
    store.flush();
    expect(new SerialStore(state, () => NOW_MS).previous('a.example.')).toEqual({ serial: UNIX + 100, hash: 'h1' });
  });

  it('an unreadable file is never written over; once it reads again, the higher serial of each zone is kept', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'serials.json')); // not a regular file: cannot be read
    const store = new SerialStore(dir, () => NOW_MS);
    expect(store.problem).toMatch(/regular file/);
    expect(() => store.record('a.example.', { serial: UNIX, hash: 'h1' })).toThrow(/cannot read/);
    expect(statSync(join(dir, 'serials.json')).isDirectory()).toBe(true);
    rmSync(join(dir, 'serials.json'), { recursive: true });
    const kept = { 'a.example.': { serial: 5, hash: 'old' }, 'b.example.': { serial: UNIX + 9, hash: 'b' } };
    writeFileSync(join(dir, 'serials.json'), JSON.stringify(kept));
    store.flush();
    expect(JSON.parse(readFileSync(join(dir, 'serials.json'), 'utf8'))).toEqual({
      'a.example.': { serial: UNIX, hash: 'h1' },
      'b.example.': { serial: UNIX + 9, hash: 'b' },
    });
  });

  it('a file that is not JSON is moved aside and reported', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'serials.json'), '{ torn');
    const store = new SerialStore(dir, () => NOW_MS);
    expect(store.problem).toMatch(/not JSON.*moved to .*serials\.json\.bad-/);
    expect(readFileSync(join(dir, `serials.json.bad-${NOW_MS}`), 'utf8')).toBe('{ torn');
    store.record('a.example.', { serial: 7, hash: 'h' });
    expect(new SerialStore(dir, () => NOW_MS).previous('a.example.')).toEqual({ serial: 7, hash: 'h' });
  });
});
