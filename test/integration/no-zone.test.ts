/**
 * A server with nothing to serve: a start with an empty zones directory exits 1 with one line saying why (a
 * start with zone files that all fail says each file's error, serve-bind-failure and cli tests); a running
 * server whose last zone file is removed keeps running, logs `no-zone-served` as an error, answers REFUSED and
 * /healthz is 503 with the reason until a zone file loads again.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { freePort, freePorts } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs } from './helpers/server.js';

const ZONE = `origin: last.example.
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 60 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

const work = mkdtempSync(join(tmpdir(), 'dane-ns-nozone-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Waits (50 ms steps, at most `ms`) for `test`. */
async function until(test: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (await test()) return true;
  return test();
}

describe('no zone to serve', () => {
  it('a start with an empty zones directory exits 1 with one line naming the directory', async () => {
    const zones = mkdtempSync(join(work, 'empty-'));
    const args = ['serve', '--zones', zones, '--state', join(work, 'state-empty'), '--keys', join(work, 'keys')];
    const r = spawnSync(process.execPath, [CLI, ...args, '--listen', `127.0.0.1:${await freePort()}`], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toBe(`dane-ns: no zone to serve: ${zones} has no zone files (<zone>.yaml or <zone>.yml)\n`);
  });

  it('a running server that loses its last zone keeps running, logs it as an error and /healthz says 503', async () => {
    requireTool('kdig');
    const zones = mkdtempSync(join(work, 'zones-'));
    writeFileSync(join(zones, 'last.example.yaml'), ZONE);
    const [port, http] = (await freePorts(2)) as [number, number];
    const server = await startDaneNs({ zonesDir: zones, port, extraArgs: ['--http', `127.0.0.1:${http}`] });
    try {
      expect((await fetch(`http://127.0.0.1:${http}/healthz`)).status).toBe(200);
      unlinkSync(join(zones, 'last.example.yaml'));
      server.proc.kill('SIGHUP');
      expect(await until(() => server.logs().includes('"event":"no-zone-served"'), 10_000), server.logs()).toBe(true);
      const line = server
        .logs()
        .split('\n')
        .find((l) => l.includes('"event":"no-zone-served"'))!;
      expect(JSON.parse(line)).toMatchObject({ level: 'error', dir: zones });
      const h = await fetch(`http://127.0.0.1:${http}/healthz`);
      expect(h.status).toBe(503);
      expect(await h.text()).toContain('no zone is served');
      expect(server.proc.exitCode).toBeNull();
      expect((await query({ host: '127.0.0.1', port }, 'last.example.', 'SOA')).rcode).toBe('REFUSED');
      // The file back: served again, healthy.
      writeFileSync(join(zones, 'last.example.yaml'), ZONE);
      server.proc.kill('SIGHUP');
      expect(await until(async () => (await fetch(`http://127.0.0.1:${http}/healthz`)).status === 200, 10_000)).toBe(
        true,
      );
    } finally {
      await server.stop();
    }
  }, 60_000);
});
