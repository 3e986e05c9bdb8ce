/**
 * SIGTERM stops the real server within a second in every state measured: while a 100k-name zone (the signing
 * benchmark's, bench/gen-zone.mjs) is parsed and while it is signed (the default action: no handler is
 * installed before the server runs), when idle (exit code 0, a `stopping` line), and while a zone transfer to a
 * client that reads nothing is open (the stop does not wait for it longer than STOP_DEADLINE_MS), and while a large
 * file that is not a zone is parsed on the worker thread (server/yaml-aside.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs } from './helpers/server.js';

/** Milliseconds from SIGTERM until the process is gone (rejects after 10 s), and how it ended. */
function termAndTime(proc: ChildProcess): Promise<{ ms: number; code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => reject(new Error('still running 10 s after SIGTERM')), 10_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code, signal });
    });
    proc.kill('SIGTERM');
  });
}

/** Spawns `serve` and resolves once a stdout line matches `event` (with the output so far). */
function serveUntil(args: string[], event: RegExp): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (event.test(out)) resolve({ proc, out: () => out });
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`exited (${code}) before ${event}: ${out}`)));
  });
}

describe('SIGTERM stops the server within a second', () => {
  let dir: string;
  let bigZones: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-stop-'));
    execFileSync(process.execPath, [join(REPO_ROOT, 'bench', 'gen-zone.mjs'), '--out', join(dir, 'gen')], {
      stdio: 'ignore',
    });
    bigZones = join(dir, 'gen', 'yaml');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bigArgs = async (name: string): Promise<string[]> => [
    '--zones',
    bigZones,
    '--keys',
    join(dir, `keys-${name}`),
    '--state',
    join(dir, `state-${name}`),
    '--listen',
    `127.0.0.1:${await freePort()}`,
  ];

  it('while a 100k-name zone is being signed', async () => {
    const { proc, out } = await serveUntil(await bigArgs('sign'), /"event":"zone-keys-generated"/);
    await new Promise((r) => setTimeout(r, 500)); // well inside the signing (tens of seconds for this zone)
    const { ms } = await termAndTime(proc);
    expect(out()).not.toMatch(/"event":"zone-signed"/);
    expect(ms).toBeLessThan(1000);
  }, 60_000);

  it('while a 100k-name zone is being parsed', async () => {
    const proc = spawn(process.execPath, [CLI, 'serve', ...(await bigArgs('parse'))], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 700)); // node is up, the 5 MB zone file is being read and parsed
    const { ms } = await termAndTime(proc);
    expect(ms).toBeLessThan(1000);
  }, 30_000);

  it('when running: exit code 0 and a stopping line, also while a zone transfer to a client that reads nothing is open', async () => {
    const gen = join(dir, 'small');
    execFileSync(process.execPath, [join(REPO_ROOT, 'bench', 'gen-zone.mjs'), '--names', '3000', '--out', gen], {
      stdio: 'ignore',
    });
    const zones = join(gen, 'yaml');
    appendFileSync(join(zones, 'bench.example.yaml'), 'transfer: { allow: [{ address: 127.0.0.1 }] }\n');
    const port = await freePort();
    const keysDir = join(dir, 'keys-small');
    const stateDir = join(dir, 'state-small');
    for (const transfer of [false, true]) {
      const s = await startDaneNs({ zonesDir: zones, port, keysDir, stateDir, startTimeoutMs: 120_000 });
      // `listening` is logged as the sockets open, just before the stop handlers are installed.
      await new Promise((r) => setTimeout(r, 500));
      let client: Socket | undefined;
      if (transfer) {
        // An AXFR whose answer (about 1 MB) is never read: the server's writes wait on the client.
        const c = connect({ host: '127.0.0.1', port });
        client = c;
        c.on('error', () => undefined);
        await new Promise((r) => c.once('connect', r));
        c.pause();
        const q = Buffer.from('1234000000010000000000000562656e6368076578616d706c650000fc0001', 'hex');
        c.write(Buffer.concat([Buffer.from([0, q.length]), q]));
        await new Promise((r) => setTimeout(r, 1000));
        expect(s.logs()).toMatch(/"event":"transfer"/);
      }
      const { ms, code } = await termAndTime(s.proc);
      client?.destroy();
      expect(ms).toBeLessThan(1000);
      expect(code).toBe(0);
      expect(s.logs()).toMatch(/"event":"stopping","signal":"SIGTERM"/);
      await s.stop();
    }
  }, 240_000);

  it('when running, while a 60 MB file that is not a zone is parsed on the worker thread', async () => {
    const zones = join(dir, 'aside');
    mkdirSync(zones);
    writeFileSync(
      join(zones, 'small.example.yaml'),
      'soa: { mname: ns1, rname: h }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n',
    );
    const s = await startDaneNs({
      zonesDir: zones,
      port: await freePort(),
      keysDir: join(dir, 'keys-aside'),
      stateDir: join(dir, 'state-aside'),
    });
    await new Promise((r) => setTimeout(r, 500)); // the stop handlers are installed
    // Base64 lines: text, nothing to split, so the whole file is parsed as one document (seconds for 60 MB).
    const text = (
      randomBytes(45_000_000)
        .toString('base64')
        .match(/.{1,76}/g) ?? []
    ).join('\n');
    writeFileSync(join(dir, 'aside.tmp'), text);
    renameSync(join(dir, 'aside.tmp'), join(zones, 'text.yaml'));
    await new Promise((r) => setTimeout(r, 700)); // read, checked and handed to the worker
    const before = s.logs();
    const { ms, code } = await termAndTime(s.proc);
    expect(before).not.toMatch(/"event":"zone-load-failed"/); // the parse was still under way
    expect(ms).toBeLessThan(1000);
    expect(code).toBe(0);
    await s.stop();
  }, 60_000);
});
