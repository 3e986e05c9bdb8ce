/**
 * Facing the internet, with the real server and real clients on distinct loopback networks (127.X.Y.0/24: the
 * whole of 127.0.0.0/8 is local on Linux, so a client socket bound to 127.X.Y.Z is a client of its own /24):
 * response rate limiting of a UDP flood (answered, slipped, dropped; TCP after a slip), DNS cookies with
 * `dig +cookie` and `kdig +cookie` (and the rate limiting they exempt from), and `--allow-query`.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeQuery } from '../../src/wire/message.js';
import { FLAG_TC } from '../../src/wire/header.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { dig, kdig, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = `origin: rrl.example.
soa: { mname: ns1, rname: hostmaster }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: 192.0.2.80 }
  "*.w": { A: 192.0.2.81 }
`;

/** A random loopback /24 other than 127.0.0.0/24, as `127.X.Y.` (each test draws its own). */
function loopbackNet(): string {
  return `127.${10 + Math.floor(Math.random() * 240)}.${Math.floor(Math.random() * 256)}.`;
}

const WWW = (id: number): Uint8Array => encodeQuery(parseName('www.rrl.example.', ROOT), T.A, { id, edns: {} });

interface Tally {
  sent: number;
  full: number;
  truncated: number;
}

/**
 * Sends `rate` queries a second for `ms` from `source` (at most one burst every 10 ms), never more than `max` in all,
 * and waits 300 ms for the last answers: how many were sent, answered in full, and answered truncated. `query(n)`
 * is the n-th query sent (default: www A).
 */
async function flood(
  port: number,
  source: string,
  rate: number,
  ms: number,
  max = Infinity,
  query: (n: number) => Uint8Array = WWW,
): Promise<Tally> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind({ address: source, port: 0 }, resolve));
  const t: Tally = { sent: 0, full: 0, truncated: 0 };
  sock.on('message', (m) => {
    if (decodeMessage(m).flags & FLAG_TC) t.truncated++;
    else t.full++;
  });
  // Every 10 ms a burst, or below 100 q/s one query every 1000/rate ms.
  const tick = Math.max(10, 1000 / rate);
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  const end = Date.now() + ms;
  while (Date.now() < end && t.sent < max) {
    for (let i = 0; i < perTick && t.sent < max; i++) sock.send(query(t.sent++ & 0xffff), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, tick));
  }
  await new Promise((r) => setTimeout(r, 300));
  sock.close();
  return t;
}

/** One query over TCP from `source`; the answer's flags and answer count. */
function tcpQuery(port: number, source: string): Promise<{ flags: number; answers: number }> {
  return new Promise((resolve, reject) => {
    const q = WWW(4242);
    const s = connect({ host: '127.0.0.1', port, localAddress: source });
    let buf = Buffer.alloc(0);
    s.setTimeout(3000, () => s.destroy(new Error('TCP query timed out')));
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        s.end();
        resolve({ flags: m.flags, answers: m.answer.length });
      }
    });
    s.on('error', reject);
  });
}

async function metric(httpPort: number, line: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  if (found === undefined) throw new Error(`no ${line} in /metrics`);
  return Number(found.slice(line.length + 1));
}

describe('facing the internet', () => {
  const servers: DaneNsInstance[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dane-ns-guard-'));
  writeFileSync(join(dir, 'rrl.example.yaml'), ZONE);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ port: number; httpPort: number; stateDir: string }> {
    const port = await freePort();
    const httpPort = await freePort();
    const s = await startDaneNs({ zonesDir: dir, port, env, extraArgs: ['--http', `127.0.0.1:${httpPort}`, ...args] });
    servers.push(s);
    return { port, httpPort, stateDir: s.stateDir };
  }

  it.each([['batch'], ['dgram']])(
    '%s engine: a UDP flood from one /24 is limited to the rate with every 2nd limited answer slipped; another /24 is answered; TCP after a slip answers',
    async (engine) => {
      const { port, httpPort } = await start([
        '--udp-engine',
        engine!,
        '--rrl',
        '50',
        '--rrl-slip',
        '2',
        '--rrl-exempt',
        'none',
      ]);
      const flooder = loopbackNet() + '10';
      let other = loopbackNet() + '20';
      while (other.split('.').slice(0, 3).join('.') === flooder.split('.').slice(0, 3).join('.'))
        other = loopbackNet() + '20';
      // 2 s at 2000 q/s from the flooder; meanwhile 20 q/s from another /24 (below the rate: all answered in full).
      const [f, o] = await Promise.all([flood(port, flooder, 2000, 2000), flood(port, other, 20, 2000)]);
      expect(f.sent).toBeGreaterThan(500);
      // One second's worth at once, then 50 a second: 150 in 2 s (timer slack on a busy machine: 100..220).
      expect(f.full).toBeGreaterThanOrEqual(100);
      expect(f.full).toBeLessThanOrEqual(220);
      const limited = f.sent - f.full;
      // Every 2nd limited answer is slipped (TC, no records), the others dropped.
      expect(Math.abs(f.truncated - limited / 2)).toBeLessThanOrEqual(limited * 0.05 + 5);
      expect(o.full).toBe(o.sent);
      expect(o.truncated).toBe(0);
      const dropped = await metric(httpPort, 'dane_ns_rrl_total{action="dropped"}');
      const slipped = await metric(httpPort, 'dane_ns_rrl_total{action="slipped"}');
      expect(slipped).toBe(f.truncated);
      expect(dropped).toBe(f.sent - f.full - f.truncated);
      // A client told to retry over TCP gets the whole answer from the same address: TCP is never limited.
      const tcp = await tcpQuery(port, flooder);
      expect(tcp.flags & FLAG_TC).toBe(0);
      expect(tcp.answers).toBe(1);
    },
    30_000,
  );

  it('--rrl-ipv4-prefix 32 makes each address a client network of its own', async () => {
    const { port } = await start(['--rrl', '5', '--rrl-exempt', 'none', '--rrl-ipv4-prefix', '32']);
    const net = loopbackNet();
    const flooded = await flood(port, net + '10', 4000, 10);
    expect(flooded.full).toBeLessThan(flooded.sent);
    // The neighbour in the same /24 has a bucket of its own: 5 at once are all answered in full. (Exactly 5: a timer
    // may fire a millisecond early, which would let a time-bounded loop send a second burst.)
    const neighbour = await flood(port, net + '11', 500, 1000, 5);
    expect(neighbour.sent).toBe(5);
    expect(neighbour.full).toBe(5);
  });

  it('random names under a wildcard share the bucket of the wildcard (answers and NODATA); exact names keep their own', async () => {
    const { port, httpPort } = await start(['--rrl', '20', '--rrl-slip', '2', '--rrl-exempt', 'none']);
    const net = loopbackNet();
    const tag = Math.random().toString(36).slice(2, 8);
    const random = (qtype: number) => (n: number) =>
      encodeQuery(parseName(`r${n}-${tag}.w.rrl.example.`, ROOT), qtype, { id: n, edns: {} });
    const name = (owner: string) => () => encodeQuery(parseName(owner, ROOT), T.A, { id: 7, edns: {} });
    // 100 distinct names at once from one /24, for A (wildcard answers) and AAAA (wildcard NODATA): each a bucket
    // of 20 (the rate), and every 2nd limited answer slipped.
    for (const qtype of [T.A, T.AAAA]) {
      const f = await flood(port, net + '10', 10_000, 10, 100, random(qtype));
      expect(f.sent).toBe(100);
      expect(f.full).toBeGreaterThanOrEqual(20);
      expect(f.full).toBeLessThanOrEqual(24);
      expect(Math.abs(f.truncated - (f.sent - f.full) / 2)).toBeLessThanOrEqual(1);
    }
    // Exact names from the same /24 right after: a bucket each, 15 at once all answered in full.
    for (const owner of ['www.rrl.example.', 'ns1.rrl.example.']) {
      const e = await flood(port, net + '11', 10_000, 10, 15, name(owner));
      expect(e.full).toBe(15);
    }
    // Without the wildcard's bucket 200 distinct names would have been answered in full: all limited ones counted.
    const slipped = await metric(httpPort, 'dane_ns_rrl_total{action="slipped"}');
    const dropped = await metric(httpPort, 'dane_ns_rrl_total{action="dropped"}');
    expect(slipped + dropped).toBeGreaterThanOrEqual(2 * 76);
  });

  it('dig +cookie and kdig +cookie get a server cookie that verifies on the next query', async () => {
    const { port, httpPort } = await start([]);
    const valid = (): Promise<number> => metric(httpPort, 'dane_ns_cookies_total{result="valid"}');
    // dig: `; COOKIE: <client><server> (good)`; the second query sends both back.
    const out = await dig(['+cookie', '-p', String(port), '@127.0.0.1', 'www.rrl.example.', 'A']);
    const cookie = /^; COOKIE: ([0-9a-f]{48}) \(good\)$/m.exec(out)?.[1];
    expect(cookie, out).toBeDefined();
    expect(cookie!.slice(16, 18)).toBe('01'); // RFC 9018 version 1
    const again = await dig([`+cookie=${cookie}`, '-p', String(port), '@127.0.0.1', 'www.rrl.example.', 'A']);
    expect(again).toMatch(/status: NOERROR/);
    expect(again).toContain(`; COOKIE: ${cookie} (good)`); // fresh: echoed as sent (RFC 9018 §4.3)
    expect(await valid()).toBe(1);
    // kdig: `;; COOKIE: <CLIENT><SERVER>`
    const k = await kdig(['+cookie', '-p', String(port), '@127.0.0.1', 'www.rrl.example.', 'A']);
    const kc = /^;; COOKIE: ([0-9A-F]{48})/m.exec(k)?.[1];
    expect(kc, k).toBeDefined();
    const k2 = await kdig([`+cookie=${kc}`, '-p', String(port), '@127.0.0.1', 'www.rrl.example.', 'A']);
    expect(k2).toContain(`;; COOKIE: ${kc}`);
    expect(await valid()).toBe(2);
  });

  it('servers given one --cookie-secret (flag, or a file in the environment) accept the server cookies of each other', async () => {
    const secret = randomBytes(16).toString('hex');
    const file = join(dir, 'cookie.secret');
    writeFileSync(file, secret + '\n', { mode: 0o600 });
    const a = await start(['--cookie-secret', secret]);
    const b = await start([], { DANE_NS_COOKIE_SECRET_FILE: file });
    const own = await start([]);
    const ask = (port: number, cookie: string): Promise<string> =>
      dig([`+cookie=${cookie}`, '-p', String(port), '@127.0.0.1', 'www.rrl.example.', 'A']);
    const first = await ask(a.port, '0102030405060708');
    const cookie = /^; COOKIE: ([0-9a-f]{48}) \(good\)$/m.exec(first)?.[1];
    expect(cookie, first).toBeDefined();
    // The second server verifies the first one's cookie: echoed as sent (fresh) and counted valid.
    const other = await ask(b.port, cookie!);
    expect(other).toContain(`; COOKIE: ${cookie} (good)`);
    expect(await metric(b.httpPort, 'dane_ns_cookies_total{result="valid"}')).toBe(1);
    // A server with its own secret does not: a new server cookie, counted invalid.
    const foreign = await ask(own.port, cookie!);
    const renewed = /^; COOKIE: ([0-9a-f]{48}) \(good\)$/m.exec(foreign)?.[1];
    expect(renewed, foreign).toBeDefined();
    expect(renewed).not.toBe(cookie);
    expect(renewed!.slice(0, 16)).toBe(cookie!.slice(0, 16)); // the client cookie, with a server cookie of its own
    expect(await metric(own.httpPort, 'dane_ns_cookies_total{result="invalid"}')).toBe(1);
    expect(await metric(own.httpPort, 'dane_ns_cookies_total{result="valid"}')).toBe(0);
    // With the shared secret the state file is not made; without it, it is.
    expect(existsSync(join(a.stateDir, 'cookie-secret.json'))).toBe(false);
    expect(existsSync(join(b.stateDir, 'cookie-secret.json'))).toBe(false);
    expect(existsSync(join(own.stateDir, 'cookie-secret.json'))).toBe(true);
  });

  it('rate limiting spares a client whose server cookie verifies, and loopback by default', async () => {
    requireTool('kdig');
    const { port } = await start(['--rrl', '3', '--rrl-exempt', 'none']);
    const source = loopbackNet() + '30';
    const ask = (cookie: string): Promise<string> =>
      kdig([
        '-b',
        source,
        '+retry=0',
        '+time=1',
        '+notcp',
        `+cookie=${cookie}`,
        '-p',
        String(port),
        '@127.0.0.1',
        'www.rrl.example.',
        'A',
      ]).catch((e: Error) => e.message);
    const first = await ask('0102030405060708');
    const cookie = /^;; COOKIE: ([0-9A-F]{48})/m.exec(first)?.[1];
    expect(cookie, first).toBeDefined();
    // 12 queries at once: well over 3 a second, every one answered in full with the cookie.
    const withCookie = await Promise.all(Array.from({ length: 12 }, () => ask(cookie!)));
    for (const r of withCookie) expect(r).toMatch(/Flags: qr aa rd;/);
    // The same with a client cookie only: limited (slipped TC answers or none).
    const without = await Promise.all(Array.from({ length: 12 }, () => ask('0102030405060709')));
    expect(without.filter((r) => /Flags: qr aa rd;/.test(r)).length).toBeLessThan(12);
    // Without --rrl-exempt, loopback is exempt: 100 queries at once from 127.X.Y.Z at --rrl 3, all answered in full.
    const dflt = await start(['--rrl', '3']);
    const burst = await flood(dflt.port, loopbackNet() + '40', 10_000, 10);
    expect(burst.sent).toBe(100);
    expect(burst.full).toBe(burst.sent);
  }, 30_000);

  it('--allow-query answers the listed networks and refuses the rest; TCP too', async () => {
    const net = loopbackNet();
    let outside = loopbackNet();
    while (outside === net) outside = loopbackNet();
    const { port, httpPort } = await start(['--allow-query', `${net}0/24`]);
    const ask = (source: string, tcp = false): Promise<string> =>
      kdig(['-b', source, tcp ? '+tcp' : '+notcp', '-p', String(port), '@127.0.0.1', 'www.rrl.example.', 'A']);
    expect(await ask(net + '5')).toMatch(/status: NOERROR/);
    expect(await ask(net + '6', true)).toMatch(/status: NOERROR/);
    expect(await ask(outside + '5')).toMatch(/status: REFUSED/);
    expect(await ask(outside + '5', true)).toMatch(/status: REFUSED/);
    expect(await ask('127.0.0.1')).toMatch(/status: REFUSED/);
    expect(await metric(httpPort, 'dane_ns_query_acl_refused_total')).toBe(3);
  });
});
