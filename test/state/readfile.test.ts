import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileReadError, readRegularFile, readRegularFileSteps } from '../../src/state/readfile.js';
import { tempDirs } from '../support/tmp.js';

const tmp = tempDirs('dane-ns-readfile');

function refused(path: string, cap = 1024): FileReadError {
  try {
    readRegularFile(path, cap);
  } catch (e) {
    expect(e).toBeInstanceOf(FileReadError);
    return e as FileReadError;
  }
  throw new Error(`${path} was read`);
}

describe('readRegularFile', () => {
  it('reads a regular file and a symlink to one', () => {
    const d = tmp();
    writeFileSync(join(d, 'a.yaml'), 'origin: example.com.\n');
    symlinkSync(join(d, 'a.yaml'), join(d, 'link.yaml'));
    expect(readRegularFile(join(d, 'a.yaml'), 1024).toString()).toBe('origin: example.com.\n');
    expect(readRegularFile(join(d, 'link.yaml'), 1024).toString()).toBe('origin: example.com.\n');
    writeFileSync(join(d, 'empty'), '');
    expect(readRegularFile(join(d, 'empty'), 1024).length).toBe(0);
  });

  it('refuses a FIFO without blocking (open is non-blocking, fstat sees the FIFO)', () => {
    const d = tmp();
    const fifo = join(d, 'x.yaml');
    execFileSync('mkfifo', [fifo]);
    const e = refused(fifo);
    expect(e.message).toBe(`${fifo}: not a regular file (FIFO)`);
    expect(e.missing).toBe(false);
  });

  it('refuses a symlink to /dev/zero as a character device (nothing is read)', () => {
    const d = tmp();
    symlinkSync('/dev/zero', join(d, 'zero.yaml'));
    expect(refused(join(d, 'zero.yaml')).message).toBe(`${join(d, 'zero.yaml')}: not a regular file (character device)`);
  });

  it('refuses a directory', () => {
    const d = tmp();
    mkdirSync(join(d, 'dir.yaml'));
    expect(refused(join(d, 'dir.yaml')).reason).toBe('not a regular file (directory)');
  });

  it('refuses a Unix socket', async () => {
    const d = tmp();
    const sock = join(d, 'sock.pem');
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(sock, resolve));
    try {
      expect(refused(sock).reason).toBe('not a regular file (socket)');
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('reads a file of exactly the cap and refuses one byte more', () => {
    const d = tmp();
    writeFileSync(join(d, 'at'), Buffer.alloc(100, 0x61));
    writeFileSync(join(d, 'over'), Buffer.alloc(101, 0x61));
    expect(readRegularFile(join(d, 'at'), 100).length).toBe(100);
    expect(refused(join(d, 'over'), 100).reason).toBe('101 bytes is too large (the limit is 100 bytes)');
  });

  it('says a missing file is missing', () => {
    const e = refused(join(tmp(), 'nothing'));
    expect(e.missing).toBe(true);
    expect(e.reason).toBe('no such file');
  });
});

describe('readRegularFileSteps', () => {
  it('yields after each piece and reads the same octets; the cap holds as in readRegularFile', () => {
    const d = tmp();
    const f = join(d, 'big');
    const content = Buffer.alloc(10_000, 7);
    content.write('head', 0);
    writeFileSync(f, content);
    const steps = readRegularFileSteps(f, 1 << 20, 3000);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(yields).toBe(4); // 3000 + 3000 + 3000 + 1000, then the read that finds the end
    expect(Buffer.compare(r.value, content)).toBe(0);
    const capped = readRegularFileSteps(f, 9999, 3000);
    expect(() => capped.next()).toThrow(/10000 bytes is too large \(the limit is 9999 bytes\)/);
  });
});
