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

  it('a binary file (a NUL octet, or octets that are not UTF-8) is refused before any parse', () => {
    const d = tmp();
    const nul = join(d, 'nul.yaml');
    writeFileSync(nul, Buffer.concat([Buffer.from('soa: x\n'), Buffer.from([0, 1, 2])]));
    const e1 = thrown(nul);
    expect(e1).not.toBeInstanceOf(ZoneReadError);
    expect(e1.problems).toEqual([
      { file: nul, line: 0, reason: 'cannot read: not a text file (a NUL octet at offset 7)' },
    ]);
    const latin1 = join(d, 'latin1.yaml');
    writeFileSync(
      latin1,
      Buffer.from('soa: { mname: ns1, rname: hostmaster }\nrecords:\n  "@": { TXT: "caf\xe9" }\n', 'latin1'),
    );
    expect(thrown(latin1).problems).toEqual([
      { file: latin1, line: 0, reason: 'cannot read: not a text file (not UTF-8)' },
    ]);
    // UTF-8 text beyond ASCII is text.
    const utf8 = join(d, 'utf8.example.yaml');
    writeFileSync(utf8, 'soa: { mname: ns1, rname: hostmaster }\nrecords:\n  "@": { TXT: "café" }\n');
    expect(readZoneSource(utf8).src.records[0]!.value).toBe('café');
  });
});
