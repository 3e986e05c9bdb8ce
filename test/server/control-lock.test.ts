/**
 * The state directory's lock (src/server/control-lock.ts): the socket is bound with mode 0600, a second lock
 * of the same directory fails naming the directory and the holder's pid, a stale socket file is replaced, and
 * release removes the socket.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveControl } from '../../src/server/control.js';
import {
  ControlSocketUnavailable,
  controlSocketPath,
  lockStateDirectory,
  probe,
} from '../../src/server/control-lock.js';

describe('control-lock: one server per state directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('binds control.sock with mode 0600 and removes it on release', async () => {
    const lock = await lockStateDirectory(dir);
    const path = controlSocketPath(dir);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('a second lock of the same directory fails with the directory and the pid of the first', async () => {
    const lock = await lockStateDirectory(dir);
    serveControl(lock.server, () => undefined); // starting: ping still answers with the pid
    await expect(lockStateDirectory(dir)).rejects.toThrow(
      `another dane-ns is running with state directory ${dir} (pid ${process.pid})`,
    );
    expect(existsSync(controlSocketPath(dir))).toBe(true);
    await lock.release();
  });

  it('replaces a stale socket (a file nobody listens on)', async () => {
    const path = controlSocketPath(dir);
    // A socket file left behind: a process that bound it and was killed (SIGKILL leaves the file).
    const child = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(process.argv[1], () => console.log('up'))`,
      path,
    ]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    expect(existsSync(path)).toBe(true);
    expect(await probe(path)).toEqual({ state: 'stale' });
    const lock = await lockStateDirectory(dir);
    // Bound anew (binding over the old file would have failed with EADDRINUSE): it answers now.
    expect(await probe(path)).toMatchObject({ state: 'running' });
    await lock.release();
  });

  it('probe says absent when there is no socket', async () => {
    expect(await probe(join(dir, 'control.sock'))).toEqual({ state: 'absent' });
  });
});

describe('control-lock: a socket that cannot be made', () => {
  it('is ControlSocketUnavailable (the server runs without it), not a lock held by another server', async () => {
    const base = mkdtempSync(join(tmpdir(), 'dane-ns-lock-'));
    // Longer than a Unix socket path may be (108 bytes on Linux).
    const deep = join(base, 'd'.repeat(120));
    mkdirSync(deep);
    try {
      await expect(lockStateDirectory(deep)).rejects.toBeInstanceOf(ControlSocketUnavailable);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
