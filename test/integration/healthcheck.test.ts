/**
 * `dane-ns healthcheck` against the real server (dist/cli.js serve on loopback): healthy with two signed zones and
 * an unsigned one; one line and exit 1 when a zone file names a zone the server does not serve, when the
 * signatures are not current (the library call with a clock 60 days ahead), and when nothing listens; --help and
 * the usage-error exit code.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck } from '../../src/check/health.js';
import { freePort } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js healthcheck ARGS` with the given DANE_NS_* environment (never rejects). */
function healthcheck(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DANE_NS_')) e[k] = v;
  Object.assign(e, env);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'healthcheck', ...args],
      { cwd: tmpdir(), env: e, timeout: 15_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const UNSIGNED = `origin: unsigned.test.
ttl: 300
soa: { mname: ns1, rname: hostmaster@unsigned.test, serial: 7, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }
dnssec: { enabled: false }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

const SECOND = `origin: second.test.
ttl: 300
soa: { mname: ns1, rname: hostmaster@second.test, serial: auto, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

describe('dane-ns healthcheck', () => {
  let dir: string;
  let zones: string;
  let server: DaneNsInstance;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-ns-health-'));
    zones = join(dir, 'zones');
    await mkdir(zones);
    await copyFile(join(REPO_ROOT, 'zones', 'example.com.yaml'), join(zones, 'example.com.yaml'));
    await writeFile(join(zones, 'second.test.yaml'), SECOND);
    await writeFile(join(zones, 'unsigned.test.yaml'), UNSIGNED);
    port = await freePort();
    server = await startDaneNs({ zonesDir: zones, port });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is healthy when every zone answers a current signed SOA (unsigned zones: the SOA alone)', async () => {
    const r = await healthcheck(['--server', `127.0.0.1:${port}`, '--zones', zones]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^healthy: 3 zone\(s\) answered with current signatures: example\.com\. serial \d+, second\.test\. serial \d+, unsigned\.test\. serial 7 \(unsigned\)\n$/,
    );
  });

  it('takes the server and the zones from DANE_NS_LISTEN (0.0.0.0 means loopback) and DANE_NS_ZONES', async () => {
    const r = await healthcheck([], { DANE_NS_LISTEN: `0.0.0.0:${port},[::]:${port}`, DANE_NS_ZONES: zones });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^healthy: 3 zone/);
  });

  it('fails with one line when a zone file names a zone the server does not serve', async () => {
    const extra = join(dir, 'extra');
    await mkdir(extra);
    await copyFile(join(zones, 'second.test.yaml'), join(extra, 'second.test.yaml'));
    await writeFile(join(extra, 'other.test.yaml'), SECOND.replaceAll('second.test', 'other.test'));
    const r = await healthcheck(['--server', `127.0.0.1:${port}`, '--zones', extra]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^unhealthy: other\.test\. DNSKEY: none from 127\.0\.0\.1:\d+ \(rcode 5\)\n$/);
  });

  it('fails when the signatures are not current (clock 60 days ahead)', async () => {
    const r = await healthCheck({
      zonesDir: zones,
      server: { host: '127.0.0.1', port },
      now: Date.now() + 60 * 86400_000,
    });
    expect(r).toEqual({ ok: false, line: 'example.com. SOA: signature expired' });
  });

  it('fails with one line when nothing answers, within a few seconds', async () => {
    const dead = await freePort();
    const t0 = Date.now();
    const r = await healthcheck(['--server', `127.0.0.1:${dead}`, '--zones', zones]);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^unhealthy: example\.com\.: 127\.0\.0\.1:\d+: no answer from 127\.0\.0\.1:\d+ within 1000 ms\n$/,
    );
  });

  it('fails when the zones directory is missing or empty', async () => {
    const r = await healthcheck(['--server', `127.0.0.1:${port}`, '--zones', join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^unhealthy: zones directory .*nope: ENOENT/);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const r2 = await healthcheck(['--server', `127.0.0.1:${port}`, '--zones', empty]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toBe(`unhealthy: no zone files (*.yaml) in ${empty}\n`);
  });

  it('has --help and exits 2 on usage errors', async () => {
    const h = await healthcheck(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: dane-ns healthcheck \[--server ADDR:PORT\] \[--zones DIR\]/);
    const u = await healthcheck(['--server', 'nonsense']);
    expect(u.code).toBe(2);
    const x = await healthcheck(['extra']);
    expect(x.code).toBe(2);
  });
});
