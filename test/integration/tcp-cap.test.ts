/**
 * The TCP connection cap of the running server (src/server/tcp-admission.ts) against real clients: the cap
 * (512) filled with idle connections from 127.0.0.2, a secondary allowed by `transfer.allow` (address 127.0.0.5
 * and a TSIG key) still gets its AXFR from kdig (`-b 127.0.0.5`) through the reserve, without closing anyone;
 * a client that is no secondary gets in by closing the connection idle the longest. One address opening 5,000
 * connections gets 64 (`--tcp-per-source` default) and another address is still answered over TCP, also with a
 * smaller `--tcp-per-source`; in a network namespace, two addresses of one IPv6 /64 count as one source. kdig is
 * required.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay } from '../support/time.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { runTool } from './helpers/tsigpeer.js';
import { requireTool } from './helpers/dig.js';
import { createNetns } from './helpers/netns.js';

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const ZONE = 'example.com';
/** The server's cap (tcp.ts DEFAULT_MAX_CONNECTIONS). */
const CAP = 512;
const SECONDARY = '127.0.0.5';

const bulk = Array.from({ length: 200 }, (_, i) => `  host${i}:\n    TXT: "${'x'.repeat(60)} ${i}"\n`).join('');
const ZONE_TEXT = `soa: { mname: ns1, rname: hostmaster }
transfer:
  allow:
    - { key: cap-xfr, address: ${SECONDARY} }
records:
  "@":
    NS: ns1
  ns1:
    A: 192.0.2.53
${bulk}`;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-tcp-cap-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
let server: DaneNsInstance;

beforeAll(async () => {
  mkdirSync(zones, { recursive: true });
  mkdirSync(join(keys, 'tsig'), { recursive: true });
  writeFileSync(join(zones, `${ZONE}.yaml`), ZONE_TEXT);
  writeFileSync(
    join(keys, 'tsig', 'cap-xfr.key'),
    `key "cap-xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`,
  );
  server = await startDaneNs({ zonesDir: zones, keysDir: keys, stateDir: join(base, 'state'), port: await freePort() });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** A connection from `local` that sends nothing; `closed` turns true when the server closes it. */
interface Idle {
  readonly socket: Socket;
  closed: boolean;
}

function openIdle(local: string): Promise<Idle> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, localAddress: local });
    const c: Idle = { socket, closed: false };
    socket.on('error', () => {});
    socket.on('close', () => (c.closed = true));
    socket.once('connect', () => resolve(c));
    socket.once('error', reject);
  });
}

describe('TCP connection cap', () => {
  it('full of idle connections: a secondary still gets its AXFR, and anyone gets in by closing the longest idle', async () => {
    const fillers: Idle[] = [];
    try {
      // From 16 addresses: one address may hold only 64 connections (--tcp-per-source).
      for (let i = 0; i < CAP; i++) fillers.push(await openIdle(`127.0.2.${1 + (i % 16)}`));
      await delay(300);
      // All taken by the server (a refused one would be closed at once); the idle timeout (10 s) is far off.
      expect(fillers.filter((c) => c.closed)).toHaveLength(0);

      const xfr = await runTool('kdig', [
        '@127.0.0.1',
        '-p',
        String(server.port),
        '-b',
        SECONDARY,
        '+time=5',
        '+retry=0',
        '-y',
        `hmac-sha256:cap-xfr:${SECRET}`,
        ZONE,
        'AXFR',
      ]);
      expect(xfr.code, xfr.stdout + xfr.stderr).toBe(0);
      expect(xfr.stdout + xfr.stderr).not.toMatch(/failed|;; ERROR|REFUSED/i);
      const soas = xfr.stdout.split('\n').filter((l) => /^example\.com\.\s+\d+\s+IN\s+SOA\s/.test(l));
      expect(soas).toHaveLength(2); // the whole zone: opening and closing SOA
      expect(xfr.stdout).toMatch(/host199\.example\.com\./);
      // Through the reserve: no idle connection was closed for it.
      await delay(100);
      expect(fillers.filter((c) => c.closed)).toHaveLength(0);

      // Not a secondary: a query over TCP from 127.0.0.3 is answered, and the first filler (idle the longest)
      // made room for it.
      const q = await runTool('kdig', [
        '@127.0.0.1',
        '-p',
        String(server.port),
        '-b',
        '127.0.0.3',
        '+tcp',
        '+time=5',
        '+retry=0',
        ZONE,
        'SOA',
      ]);
      expect(q.stdout).toMatch(/status: NOERROR/);
      await delay(100);
      expect(fillers[0]!.closed).toBe(true);
      expect(fillers.slice(1).filter((c) => c.closed)).toHaveLength(0);
    } finally {
      for (const c of fillers) c.socket.destroy();
    }
  }, 60_000);
});

/** Opens `n` connections from `local`, at most 200 at a time; resolves with those the server kept open. */
async function flood(port: number, local: string, n: number, sockets: Socket[]): Promise<void> {
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, () => {
      const s = connect({ host: '127.0.0.1', port, localAddress: local });
      s.on('error', () => {});
      sockets.push(s);
      return new Promise<void>((done) => {
        s.once('connect', () => done());
        s.once('close', () => done());
      });
    });
    await Promise.all(batch);
  }
}

async function tcpSoa(port: number, local: string): Promise<string> {
  const q = await runTool('kdig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '-b',
    local,
    '+tcp',
    '+time=5',
    '+retry=0',
    ZONE,
    'SOA',
  ]);
  return q.stdout;
}

describe('TCP connections per source', () => {
  it('one source opening 5,000 connections keeps 64; another source is still answered over TCP', async () => {
    const sockets: Socket[] = [];
    try {
      await flood(server.port, '127.0.0.2', 5000, sockets);
      await delay(300);
      const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open');
      expect(open).toHaveLength(64);
      expect(await tcpSoa(server.port, '127.0.0.3')).toMatch(/status: NOERROR/);
      // The flood's own connections were not what made room: they are still the 64 it got.
      expect(sockets.filter((s) => !s.destroyed && s.readyState === 'open')).toHaveLength(64);
    } finally {
      for (const s of sockets) s.destroy();
    }
  }, 120_000);

  it('--tcp-per-source takes effect', async () => {
    const own = mkdtempSync(join(tmpdir(), 'dane-ns-tcp-per-source-'));
    const small = await startDaneNs({
      zonesDir: zones,
      keysDir: keys,
      stateDir: join(own, 'state'),
      port: await freePort(),
      extraArgs: ['--tcp-per-source', '3'],
    });
    const sockets: Socket[] = [];
    try {
      await flood(small.port, '127.0.0.2', 10, sockets);
      await delay(300);
      expect(sockets.filter((s) => !s.destroyed && s.readyState === 'open')).toHaveLength(3);
      expect(await tcpSoa(small.port, '127.0.0.3')).toMatch(/status: NOERROR/);
    } finally {
      for (const s of sockets) s.destroy();
      await small.stop();
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);

  it('an IPv6 /64 is one source: its other addresses are refused once it holds --tcp-per-source, the next /64 is not', async () => {
    const ns = await createNetns();
    const own = mkdtempSync(join(tmpdir(), 'dane-ns-tcp-per-64-'));
    let small: DaneNsInstance | undefined;
    try {
      // Addresses on the namespace's own loopback (nodad: usable at once), two in one /64 and one in the next.
      for (const a of ['2001:db8:1:2::10', '2001:db8:1:2::11', '2001:db8:1:3::10'])
        execFileSync(requireTool('ip'), ['-n', ns.name, 'addr', 'add', `${a}/64`, 'dev', 'lo', 'nodad']);
      small = await startDaneNs({
        zonesDir: zones,
        keysDir: keys,
        stateDir: join(own, 'state'),
        port: await freePort(),
        ipv6: true,
        netns: ns.name,
        extraArgs: ['--tcp-per-source', '3'],
      });
      // Inside the namespace: 3 idle connections from ::10, then 3 from ::11 (same /64), then 1 from the next /64;
      // 300 ms later, how many of each are still open.
      const script = `
        const { connect } = require('node:net');
        const open = (local) => new Promise((resolve) => {
          const s = connect({ host: '::1', port: ${small.port}, localAddress: local });
          s.on('error', () => {});
          s.once('connect', () => resolve(s));
          s.once('close', () => resolve(s));
        });
        (async () => {
          const groups = {};
          for (const [local, n] of [['2001:db8:1:2::10', 3], ['2001:db8:1:2::11', 3], ['2001:db8:1:3::10', 1]])
            for (let i = 0; i < n; i++) (groups[local] ??= []).push(await open(local));
          await new Promise((r) => setTimeout(r, 300));
          const out = {};
          for (const [k, v] of Object.entries(groups)) out[k] = v.filter((s) => !s.destroyed && s.readyState === 'open').length;
          console.log(JSON.stringify(out));
          process.exit(0);
        })();`;
      const r = await ns.exec(process.execPath, ['-e', script], { timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ '2001:db8:1:2::10': 3, '2001:db8:1:2::11': 0, '2001:db8:1:3::10': 1 });
    } finally {
      await small?.stop();
      await ns.destroy();
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);
});
