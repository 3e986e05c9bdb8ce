/**
 * Unbound as a validating resolver in front of a test server, on loopback only.
 *
 * Written against Unbound 1.17 (Debian 12). Each instance gets a private directory holding unbound.conf, the
 * trust-anchor file, the pid file and the log. Every zone under test is a stub zone pointing at the test server;
 * nothing reaches beyond loopback:
 *  - the root is a stub zone too (pointing at the first stub's server, which refuses names it does not serve), so
 *    names outside the zones under test never go to the real root servers;
 *  - every IPv4 address outside 127.0.0.0/8 is a `do-not-query-address` and IPv6 is off, so a delegation inside a
 *    served zone to addresses such as 192.0.2.60 (the oracle's sub.example.com) fails fast instead of sending
 *    packets off the machine.
 * Unbound's own answers for special-use names (`test.`, `invalid.`, `onion.` ...) are switched off
 * (`local-zone: ... nodefault`) for the stub zones that lie under them.
 *
 * `flush()` runs `unbound-control reload`, which empties every cache (message, RRset, key, infra, aggressive NSEC),
 * and waits until Unbound answers again. The caches are otherwise normal-sized (msg 4m): the point of asking twice
 * without a flush is that Unbound then answers from what it learned, aggressive NSEC (RFC 8198) included; a tiny
 * cache would hide that. `stats()` reads the counters (`num.query.aggressive.NXDOMAIN` ...; a reload resets them).
 *
 * With `netns` (helpers/netns.ts) Unbound runs inside that network namespace, typically on port 53 as the
 * namespace's system resolver for programs such as Postfix; readiness probes (kdig) and unbound-control run there
 * too, and stub addresses are the namespace's own loopback, or an IPv4 address of the namespace's other links
 * (a secondary across a veth pair, helpers/netns.ts linkNetns()): the namespace itself keeps every packet on the
 * machine, and the `do-not-query-address` block holding a stub's address is left out so Unbound may ask it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './dig.js';
import { execInNetns } from './netns.js';
import { freePort } from './ports.js';
import { delay } from '../../support/time.js';
import { lowerAbsoluteName } from '../../support/names.js';

export interface UnboundStub {
  /** Zone name, e.g. `example.com.` (trailing dot optional). */
  zone: string;
  /** Server address in Unbound syntax: `127.0.0.1@PORT` (with `netns`, any IPv4 address: `10.53.0.2@53`). */
  addr: string;
}

export interface UnboundOptions {
  /** Loopback port Unbound listens on (UDP and TCP). */
  port: number;
  stubs: UnboundStub[];
  /** Trust anchors: DS or DNSKEY lines in zone-file syntax (`example.com. IN DS 1234 13 2 ABCD...`). */
  trustAnchors: string[];
  /** Directory for config, anchors, pid file and log (default: a new temp dir, removed on stop). */
  dir?: string;
  /**
   * Zones Unbound serves to its own iterator (`auth-zone`, for-upstream only, never to clients directly), e.g. the
   * out-of-zone target of a CNAME under test, so that it resolves without leaving loopback. Unsigned and outside
   * every trust anchor, so data from them is insecure. Zone text in RFC 1035 syntax (`$ORIGIN` is prepended).
   */
  authZones?: { zone: string; text: string }[];
  /** Message cache size (default `4m`; the RRset cache gets twice that). Keep it large enough for the aggressive
   *  NSEC cache to matter when questions are asked twice without a flush. */
  msgCacheSize?: string;
  /** Unbound `verbosity` (default 1). */
  verbosity?: number;
  /** Milliseconds to wait until Unbound answers (default 15 s). */
  startTimeoutMs?: number;
  /**
   * Run inside this network namespace (a name from createNetns(), helpers/netns.ts), e.g. on port 53 so that the
   * namespace's system resolver (resolv.conf `nameserver 127.0.0.1`) is this validating Unbound. Readiness
   * probes and unbound-control then run inside the namespace too.
   */
  netns?: string;
}

export interface UnboundInstance {
  port: number;
  dir: string;
  /** Path of unbound.conf (for unbound-control -c). */
  conf: string;
  proc: ChildProcess;
  /** Empties every cache (`unbound-control reload`) and resolves once Unbound answers again. */
  flush(): Promise<void>;
  /** Runs `unbound-control -c CONF ARGS...` (e.g. `stats_noreset`) and returns its output. */
  control(...args: string[]): Promise<string>;
  /** Extended statistics (`stats_noreset`) as numbers, e.g. `num.query.aggressive.NXDOMAIN`, `num.answer.secure`. */
  stats(): Promise<Record<string, number>>;
  /** The log file's content plus anything Unbound wrote to stdout/stderr. */
  logs(): string;
  stop(): Promise<void>;
}

/** Default local zones of Unbound 1.17 that would shadow a stub zone under them (answered locally otherwise). */
const SPECIAL_USE = ['localhost.', 'test.', 'invalid.', 'onion.', 'home.arpa.', 'resolver.arpa.', 'service.arpa.'];

/** IPv4 blocks that together cover every address outside 127.0.0.0/8. */
const NON_LOOPBACK_V4 = [
  '0.0.0.0/2',
  '64.0.0.0/3',
  '96.0.0.0/4',
  '112.0.0.0/5',
  '120.0.0.0/6',
  '124.0.0.0/7',
  '126.0.0.0/8',
  '128.0.0.0/1',
];

/** True when the IPv4 address lies in the block `a.b.c.d/len`. */
function inBlock(address: string, block: string): boolean {
  const num = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const [base, len] = block.split('/') as [string, string];
  const size = 2 ** (32 - Number(len));
  return Math.floor(num(address) / size) === Math.floor(num(base) / size);
}

function isUnder(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

const q = (s: string): string => `"${s}"`;

export function unboundConfig(dir: string, port: number, controlPort: number, opts: UnboundOptions): string {
  if (opts.stubs.length === 0) throw new Error('startUnbound: no stub zones');
  for (const s of opts.stubs) {
    if (!/^127\.\d+\.\d+\.\d+@\d+$/.test(s.addr) && (opts.netns === undefined || !/^[\d.]+@\d+$/.test(s.addr)))
      throw new Error(`startUnbound: stub address ${s.addr} is not 127.x.x.x@PORT (or IPv4@PORT with netns)`);
  }
  const stubHosts = opts.stubs.map((s) => s.addr.slice(0, s.addr.indexOf('@')));
  const blocked = NON_LOOPBACK_V4.filter((b) => !stubHosts.some((h) => inBlock(h, b)));
  const msg = opts.msgCacheSize ?? '4m';
  const rrset = /^(\d+)([kmg]?)$/i.exec(msg);
  const rrsetSize = rrset !== null ? `${Number(rrset[1]) * 2}${rrset[2] ?? ''}` : msg;
  const zones = opts.stubs.map((s) => lowerAbsoluteName(s.zone));
  const lines: string[] = [
    'server:',
    `  interface: 127.0.0.1@${port}`,
    '  port: ' + String(port),
    '  do-ip4: yes',
    '  do-ip6: no',
    '  do-udp: yes',
    '  do-tcp: yes',
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    ...blocked.map((b) => `  do-not-query-address: ${b}`),
    `  directory: ${q(dir)}`,
    '  chroot: ""',
    '  username: ""',
    `  pidfile: ${q(join(dir, 'unbound.pid'))}`,
    '  use-syslog: no',
    `  logfile: ${q(join(dir, 'unbound.log'))}`,
    '  log-time-ascii: yes',
    `  verbosity: ${opts.verbosity ?? 1}`,
    '  log-servfail: yes',
    '  val-log-level: 2',
    '  ede: yes',
    '  num-threads: 1',
    '  so-reuseport: no',
    '  outgoing-range: 64',
    `  msg-cache-size: ${msg}`,
    '  msg-cache-slabs: 1',
    `  rrset-cache-size: ${rrsetSize}`,
    '  rrset-cache-slabs: 1',
    `  key-cache-size: ${msg}`,
    '  key-cache-slabs: 1',
    '  neg-cache-size: 1m',
    '  infra-cache-slabs: 1',
    '  infra-cache-numhosts: 100',
    '  aggressive-nsec: yes',
    // Counters such as num.query.aggressive.NXDOMAIN for control('stats_noreset').
    '  extended-statistics: yes',
    '  statistics-cumulative: yes',
    '  prefetch: no',
    '  serve-expired: no',
    '  module-config: "validator iterator"',
    `  trust-anchor-file: ${q(join(dir, 'anchors.txt'))}`,
    // No root anchor: names outside the anchored zones are insecure, not bogus.
    '  trust-anchor-signaling: no',
    '  root-key-sentinel: no',
    '  val-permissive-mode: no',
    '  harden-dnssec-stripped: yes',
    // Answer within the test's patience when something is unreachable.
    '  infra-host-ttl: 60',
    '  hide-identity: yes',
    '  hide-version: yes',
  ];
  for (const special of SPECIAL_USE) {
    if (zones.some((z) => isUnder(z, special))) lines.push(`  local-zone: ${q(special)} nodefault`);
  }
  lines.push(
    '',
    'remote-control:',
    '  control-enable: yes',
    '  control-interface: 127.0.0.1',
    `  control-port: ${controlPort}`,
    '  control-use-cert: no',
  );
  for (const s of opts.stubs) {
    lines.push(
      '',
      'stub-zone:',
      `  name: ${q(lowerAbsoluteName(s.zone))}`,
      `  stub-addr: ${s.addr}`,
      '  stub-first: no',
      '  stub-prime: no',
    );
  }
  for (const a of opts.authZones ?? []) {
    const name = lowerAbsoluteName(a.zone);
    lines.push(
      '',
      'auth-zone:',
      `  name: ${q(name)}`,
      `  zonefile: ${q(join(dir, `auth-${name.replace(/\.$/, '') || 'root'}.zone`))}`,
      '  for-downstream: no',
      '  for-upstream: yes',
      '  fallback-enabled: no',
    );
  }
  if (!zones.includes('.')) {
    // Keep everything else on loopback: the test server refuses names it does not serve.
    lines.push(
      '',
      'stub-zone:',
      '  name: "."',
      `  stub-addr: ${(opts.stubs[0] as UnboundStub).addr}`,
      '  stub-first: no',
      '  stub-prime: no',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One UDP query for `localhost. A` (answered by Unbound itself, no upstream traffic); true on any response. */
function probe(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 0xffff);
    // header: id, flags RD, 1 question; question localhost. A IN
    const msg = Buffer.from([
      id >> 8,
      id & 0xff,
      0x01,
      0x00,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      9,
      ...Buffer.from('localhost'),
      0,
      0,
      1,
      0,
      1,
    ]);
    const timer = setTimeout(() => {
      sock.close();
      resolve(false);
    }, timeoutMs);
    sock.once('error', () => {
      clearTimeout(timer);
      sock.close();
      resolve(false);
    });
    sock.once('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m.length >= 12 && m.readUInt16BE(0) === id);
    });
    sock.send(msg, port, '127.0.0.1');
  });
}

/** probe() inside a namespace: kdig exits 0 once it got any response. */
async function probeInNetns(netns: string, port: number, timeoutMs: number): Promise<boolean> {
  const kdig = requireTool('kdig');
  const r = await execInNetns(
    netns,
    kdig,
    [`@127.0.0.1`, '-p', String(port), '+timeout=1', '+retry=0', 'localhost.', 'A'],
    { timeoutMs: Math.max(timeoutMs, 1500) },
  );
  return r.code === 0;
}

async function runControl(conf: string, args: string[], netns?: string): Promise<string> {
  const bin = requireTool('unbound-control');
  if (netns !== undefined) {
    const r = await execInNetns(netns, bin, ['-c', conf, ...args], { timeoutMs: 15_000 });
    if (r.code !== 0)
      throw new Error(
        `unbound-control ${args.join(' ')} (netns ${netns}): exit ${String(r.code)}\n${r.stdout}${r.stderr}`,
      );
    return r.stdout;
  }
  return new Promise((resolve, reject) => {
    execFile(bin, ['-c', conf, ...args], { timeout: 15_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`unbound-control ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Writes the config and trust anchors, checks them with unbound-checkconf, starts `unbound -d` and resolves once
 * it answers on the port and `unbound-control status` works. Rejects (with config and log) if it exits or does not
 * get ready in time.
 */
export async function startUnbound(opts: UnboundOptions): Promise<UnboundInstance> {
  const unbound = requireTool('unbound');
  const checkconf = requireTool('unbound-checkconf');
  requireTool('unbound-control');
  if (opts.netns !== undefined) {
    requireTool('ip');
    requireTool('kdig');
  }
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'dane-ns-unbound-')));
  await mkdir(dir, { recursive: true });
  const controlPort = await freePort();
  const conf = join(dir, 'unbound.conf');
  const config = unboundConfig(dir, opts.port, controlPort, opts);
  await writeFile(join(dir, 'anchors.txt'), opts.trustAnchors.map((l) => `${l.trim()}\n`).join(''));
  await writeFile(conf, config);
  for (const a of opts.authZones ?? []) {
    const name = lowerAbsoluteName(a.zone);
    await writeFile(
      join(dir, `auth-${name.replace(/\.$/, '') || 'root'}.zone`),
      `$ORIGIN ${name}\n${a.text.endsWith('\n') ? a.text : `${a.text}\n`}`,
    );
  }
  const logFile = join(dir, 'unbound.log');
  await writeFile(logFile, '');

  await new Promise<void>((resolve, reject) => {
    execFile(checkconf, [conf], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err !== null)
        reject(new Error(`unbound-checkconf ${conf}: ${err.message}\n${stdout}${stderr}\nconfig:\n${config}`));
      else resolve();
    });
  });

  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  let fileLog = '';
  const readLog = async (): Promise<void> => {
    try {
      fileLog = await readFile(logFile, 'utf8');
    } catch {
      // not yet there
    }
  };
  let stopped = false;
  const proc =
    opts.netns === undefined
      ? spawn(unbound, ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(requireTool('ip'), ['netns', 'exec', opts.netns, unbound, '-d', '-c', conf], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
      resolve();
    });
    proc.once('error', (err) => {
      exited = `spawn error: ${err.message}`;
      resolve();
    });
  });
  // Keep a copy of the log file, so logs() stays synchronous and still works after stop() removed the directory.
  const poll = setInterval(() => void readLog(), 250);
  const logs = (): string => {
    if (!stopped) {
      try {
        fileLog = readFileSync(logFile, 'utf8');
      } catch {
        // keep the last copy
      }
    }
    return `${fileLog}${out === '' ? '' : `\n--- stdout/stderr ---\n${out}`}`;
  };

  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (exited === null && proc.pid !== undefined) {
        proc.kill('SIGTERM');
        const killTimer = setTimeout(() => {
          if (exited === null) proc.kill('SIGKILL');
        }, 3000);
        await exitPromise;
        clearTimeout(killTimer);
      }
      clearInterval(poll);
      await readLog();
    }
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  const waitReady = async (timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited !== null) throw new Error(`unbound exited (${exited as string}) ${what}`);
      if (opts.netns === undefined ? await probe(opts.port, 200) : await probeInNetns(opts.netns, opts.port, 1500)) {
        try {
          await runControl(conf, ['status'], opts.netns);
          return;
        } catch {
          // control port not up yet
        }
      }
      if (Date.now() > deadline)
        throw new Error(`unbound did not answer on 127.0.0.1@${opts.port} within ${timeoutMs} ms ${what}`);
      await delay(50);
    }
  };

  try {
    await waitReady(opts.startTimeoutMs ?? 15_000, 'after start');
  } catch (e) {
    await readLog();
    await stop();
    throw new Error(`${(e as Error).message}\nconfig ${conf}:\n${config}\nlog:\n${logs()}`);
  }

  const flush = async (): Promise<void> => {
    const res = await runControl(conf, ['reload'], opts.netns);
    if (!/^ok\b/m.test(res)) throw new Error(`unbound-control reload: ${res}`);
    try {
      await waitReady(15_000, 'after reload');
    } catch (e) {
      await readLog();
      throw new Error(`${(e as Error).message}\nlog:\n${logs()}`);
    }
  };

  const control = (...args: string[]): Promise<string> => runControl(conf, args, opts.netns);
  const stats = async (): Promise<Record<string, number>> => {
    const res: Record<string, number> = {};
    for (const line of (await control('stats_noreset')).split('\n')) {
      const m = /^([^=\s]+)=(\S+)$/.exec(line.trim());
      if (m !== null) res[m[1] as string] = Number(m[2]);
    }
    return res;
  };

  return { port: opts.port, dir, conf, proc, flush, control, stats, logs, stop };
}
