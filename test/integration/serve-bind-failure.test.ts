/**
 * `dane-ns serve` exits (code 1, one line) when it cannot bind its address, also when a zone has automatic TLSA
 * and the certificate watcher is already running. Before the fix the watcher kept the process alive after the
 * error: as a container's PID 1 without capabilities for port 53 it logged `bind EACCES` and then hung (found by
 * scripts/container-test.sh). Here the port is taken instead (EADDRINUSE), which the same code path handles.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from './helpers/certs.js';
import { freePort } from './helpers/ports.js';
import { CLI } from './helpers/server.js';

/** Runs `dane-ns serve ARGS` until it exits; after 8 s it is killed and `code` says so. */
async function serveUntilExit(args: string[]): Promise<{ code: number | string; stderr: string }> {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  p.stdout.resume();
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      resolve('still running after 8 s');
    }, 8000);
    p.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c ?? -1);
    });
  });
  return { code, stderr };
}

describe('serve: a bind failure ends the process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-ns-bindfail-'));
    await mkdir(join(dir, 'zones'));
    const cert = await makeCert(join(dir, 'certs'), { cn: 'mail.example.net' });
    await writeFile(
      join(dir, 'zones', 'example.net.yaml'),
      `origin: example.net.
ttl: 300
soa: { mname: ns1, rname: hostmaster@example.net, serial: auto, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 127.0.0.1 }
  mail: { A: 127.0.0.1 }
tlsa:
  - host: mail
    cert: ${cert.certPath}
`,
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 with the bind error within seconds while watching a certificate', async () => {
    const port = await freePort();
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(port, '127.0.0.1', resolve));
    try {
      const args = [
        CLI,
        'serve',
        '--zones',
        join(dir, 'zones'),
        '--keys',
        join(dir, 'keys'),
        '--state',
        join(dir, 'state'),
        '--listen',
        `127.0.0.1:${port}`,
      ];
      const { code, stderr } = await serveUntilExit(args);
      expect(code, stderr).toBe(1);
      expect(stderr).toMatch(/^dane-ns: bind EADDRINUSE/m);
    } finally {
      taken.close();
    }
  });

  it('exits 1 when the --http address is taken, after the DNS listeners and both watchers started', async () => {
    const [dnsPort, httpPort] = [await freePort(), await freePort()];
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(httpPort, '127.0.0.1', resolve));
    try {
      const args = [
        CLI,
        'serve',
        '--zones',
        join(dir, 'zones'),
        '--keys',
        join(dir, 'keys'),
        '--state',
        join(dir, 'state'),
        '--listen',
        `127.0.0.1:${dnsPort}`,
        '--http',
        `127.0.0.1:${httpPort}`,
      ];
      const { code, stderr } = await serveUntilExit(args);
      expect(code, stderr).toBe(1);
      expect(stderr).toMatch(/^dane-ns: listen EADDRINUSE/m);
    } finally {
      taken.close();
    }
  });
});
