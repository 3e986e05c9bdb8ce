import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZoneError } from '../../src/zone/errors.js';
import { readZoneSource, ZoneReadError } from '../../src/zone/files.js';
import { tempDirs } from '../support/tmp.js';

const tmp = tempDirs('dane-ns-zone-files');

function thrown(path: string): ZoneError {
  try {
    readZoneSource(path);
  } catch (e) {
    expect(e).toBeInstanceOf(ZoneError);
    return e as ZoneError;
  }
  throw new Error(`${path} was read`);
}

describe('readZoneSource: files that are not zone files', () => {
  it('a FIFO is refused for what it is (a ZoneError that is not worth retrying while unchanged)', () => {
    const f = join(tmp(), 'x.yaml');
    execFileSync('mkfifo', [f]);
    const e = thrown(f);
    expect(e).not.toBeInstanceOf(ZoneReadError);
    expect(e.problems).toEqual([{ file: f, line: 0, reason: 'cannot read: not a regular file (FIFO)' }]);
  });

  it('a system refusal (here ENOENT behind a dangling link) is a ZoneReadError: tried again on reload', () => {
    const d = tmp();
    symlinkSync(join(d, 'gone.yaml'), join(d, 'a.yaml'));
    const e = thrown(join(d, 'a.yaml'));
    expect(e).toBeInstanceOf(ZoneReadError);
    expect(e.problems[0]!.reason).toBe('cannot read: no such file');
  });

  it('a regular file is read and parsed', () => {
    const f = join(tmp(), 'a.example.yaml');
    writeFileSync(f, 'soa: { mname: ns1, rname: hostmaster }\nrecords: {}\n');
    expect(readZoneSource(f).defaultOrigin).toBe('a.example');
  });
});
