/**
 * `dane-ns serve` exits (code 1, one line) when it cannot bind its address, also when a zone has automatic TLSA
 * and the certificate watcher is already running. Before the fix the watcher kept the process alive after the
 * error: as a container's PID 1 without capabilities for port 53 it logged `bind EACCES` and then hung (found by
 * scripts/container-test.sh). Here the port is taken instead (EADDRINUSE), which the same code path handles.
 * The addresses are bound before the zones are loaded: a bind failure (EACCES as an unprivileged user on a port
 * below 1024, EADDRINUSE) names the address and the fix and leaves the state and keys directories byte for byte
 * and mtime for mtime as they were; so does a second server refused by the state directory's lock. While the
 * zones are signed, queries get SERVFAIL and the control socket answers `starting`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from './helpers/certs.js';
import { freePort } from './helpers/ports.js';
import { requireTool } from './helpers/dig.js';
import { CLI, startDaneNs } from './helpers/server.js';

/**
 * Runs `dane-ns serve ARGS` until it exits; after 8 s it is killed and `code` says so. `prefix` runs it under
 * another program (setpriv).
 */
async function serveUntilExit(
  args: string[],
  prefix: string[] = [],
): Promise<{ code: number | string; stderr: string }> {
  const argv = [...prefix, process.execPath, ...args];
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
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
      expect(stderr).toContain(`another process listens on 127.0.0.1:${port} (ss -lunp / ss -ltnp)`);
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
      expect(stderr).toContain(`another process listens on 127.0.0.1:${httpPort} (ss -lunp / ss -ltnp)`);
    } finally {
      taken.close();
    }
  });
});

/** Every file under `dirs` (recursively) with its content hash and mtime; the control socket is not a file. */
function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile())
        out[p] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mtimeMs}`;
    }
  };
  for (const d of dirs) walk(d);
  return out;
}

/** A random address in 127.0.0.0/8 (not 127.0.0.1), so that a fixed port collides with no other test. */
const randomLoopback = (): string =>
  `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 250)}`;

const ZONE = `origin: example.net.
ttl: 300
soa: { mname: ns1, rname: hostmaster@example.net, serial: auto, minimum: 60 }
records:
  "@": { NS: ns1 }
  ns1: { A: 127.0.0.1 }
`;

describe('serve: the addresses are bound before the zones are loaded, and nothing is written when they cannot be', () => {
  let dir: string;
  let zones: string;
  let keys: string;
  let state: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-ns-bindfirst-'));
    [zones, keys, state] = [join(dir, 'zones'), join(dir, 'keys'), join(dir, 'state')];
    await mkdir(zones);
    await writeFile(join(zones, 'example.net.yaml'), ZONE);
    // One run leaves keys, serials.json and the signatures: what the refused starts below must not touch.
    const inst = await startDaneNs({ zonesDir: zones, keysDir: keys, stateDir: state, port: await freePort() });
    await inst.stop();
    expect(readdirSync(state)).toContain('serials.json');
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const dirArgs = (): string[] => ['--zones', zones, '--keys', keys, '--state', state];

  it('a taken address: exit 1, and every state and key file byte-identical with its mtime unchanged', async () => {
    const before = snapshot([state, keys]);
    expect(Object.keys(before).length).toBeGreaterThan(3);
    const port = await freePort();
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(port, '127.0.0.1', resolve));
    try {
      const { code, stderr } = await serveUntilExit([CLI, 'serve', ...dirArgs(), '--listen', `127.0.0.1:${port}`]);
      expect(code, stderr).toBe(1);
      expect(stderr).toContain(`another process listens on 127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
    expect(snapshot([state, keys])).toEqual(before);
  });

  it('a second server on the same state directory is refused by the lock and changes no file', async () => {
    const inst = await startDaneNs({ zonesDir: zones, keysDir: keys, stateDir: state, port: await freePort() });
    try {
      const before = snapshot([state, keys]);
      const other = await freePort();
      const { code, stderr } = await serveUntilExit([CLI, 'serve', ...dirArgs(), '--listen', `127.0.0.1:${other}`]);
      expect(code, stderr).toBe(1);
      expect(stderr).toContain(`another dane-ns is running with state directory ${state} (pid ${inst.proc.pid})`);
      expect(snapshot([state, keys])).toEqual(before);
    } finally {
      await inst.stop();
    }
  }, 60_000);

  it('EACCES on a port below 1024 as an unprivileged user: the address and the three fixes, nothing written', async () => {
    const setpriv = requireTool('setpriv');
    expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).toBe('1024');
    // The unprivileged user's own copy of the directories (it may read and write them, as its server would).
    const own = await mkdtemp(join(tmpdir(), 'dane-ns-eacces-'));
    try {
      await mkdir(join(own, 'zones'));
      await writeFile(join(own, 'zones', 'example.net.yaml'), ZONE);
      for (const p of [own, join(own, 'zones'), join(own, 'zones', 'example.net.yaml')]) await chown(p, 65534, 65534);
      await chmod(own, 0o755);
      const host = randomLoopback();
      const port = 1 + Math.floor(Math.random() * 1023);
      const args = [CLI, 'serve', '--zones', join(own, 'zones'), '--keys', join(own, 'keys')];
      const { code, stderr } = await serveUntilExit(
        [...args, '--state', join(own, 'state'), '--listen', `${host}:${port}`],
        [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups'],
      );
      expect(code, stderr).toBe(1);
      expect(stderr).toContain(
        `EACCES ${host}:${port} (udp): port ${port} is privileged: run as root, give the binary CAP_NET_BIND_SERVICE, or lower net.ipv4.ip_unprivileged_port_start`,
      );
      // Bound before anything was loaded: no keys generated, no serials or signatures written.
      expect(readdirSync(own).sort()).toEqual(['state', 'zones']);
      expect(readdirSync(join(own, 'state'))).toEqual([]);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});

/** One line to the control socket, the JSON answer back. */
function control(stateDir: string, request: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect({ path: join(stateDir, 'control.sock') });
    let text = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(JSON.stringify(request) + '\n'));
    s.on('data', (c: string) => (text += c));
    s.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
    s.on('error', reject);
  });
}

/** An SOA query for big.example. with the given ID. */
function soaQuery(id: number): Buffer {
  const name = Buffer.from([3, ...Buffer.from('big'), 7, ...Buffer.from('example'), 0]);
  const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, name, Buffer.from([0, 6, 0, 1])]);
}

describe('serve: while the zones are signed', () => {
  it('queries get SERVFAIL with the question, the control socket answers `starting`, then the zone is answered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dane-ns-starting-'));
    const p = { proc: undefined as ReturnType<typeof spawn> | undefined };
    const sock = createSocket('udp4');
    try {
      await mkdir(join(dir, 'zones'));
      // Big enough that its first signing takes a while on a shared machine (several thousand signatures).
      const names = Array.from({ length: 4000 }, (_, i) => `  h${i}: { A: 192.0.2.${(i % 250) + 1} }\n`).join('');
      await writeFile(
        join(dir, 'zones', 'big.example.yaml'),
        `origin: big.example.\nttl: 300\nsoa: { mname: ns1, rname: h, serial: 1, minimum: 300 }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n${names}`,
      );
      const port = await freePort();
      const state = join(dir, 'state');
      const args = ['serve', '--zones', join(dir, 'zones'), '--keys', join(dir, 'keys'), '--state', state];
      p.proc = spawn(process.execPath, [CLI, ...args, '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
      const rcodes: number[] = [];
      let sawStarting = false;
      let firstQuestions = -1;
      sock.on('message', (m) => {
        if (rcodes.length === 0) firstQuestions = m.readUInt16BE(4);
        rcodes.push(m[3]! & 0xf);
      });
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
      const deadline = Date.now() + 60_000;
      for (let id = 1; !rcodes.includes(0) && Date.now() < deadline; id++) {
        sock.send(soaQuery(id & 0xffff), port, '127.0.0.1');
        if (rcodes.length > 0 && !rcodes.includes(0) && !sawStarting) {
          const answer = await control(state, { command: 'status' }).catch(() => undefined);
          if (answer?.ok === false && /^starting/.test(String(answer.error))) sawStarting = true;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(rcodes[0], 'the first answer, while signing').toBe(2);
      expect(firstQuestions).toBe(1);
      expect(rcodes).toContain(0);
      // SERVFAIL until the zone is answered, never after.
      expect(rcodes.slice(rcodes.indexOf(0)).filter((r) => r !== 0)).toEqual([]);
      expect(sawStarting).toBe(true);
      expect(await control(state, { command: 'ping' })).toMatchObject({ ok: true, ready: true });
    } finally {
      sock.close();
      p.proc?.kill('SIGTERM');
      if (p.proc && p.proc.exitCode === null) await new Promise((r) => p.proc!.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
