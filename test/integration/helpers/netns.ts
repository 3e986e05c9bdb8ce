/**
 * Named network namespaces for tests that need real port numbers (53 for a resolver, 25 for SMTP) and a system
 * resolver of their own (programs such as Postfix's posttls-finger read /etc/resolv.conf).
 *
 * createNetns() makes `ip netns add NAME` with only `lo` (up, plus any extra 127.x addresses) and
 * `/etc/netns/NAME/resolv.conf` (by default `nameserver 127.0.0.1` + `options trust-ad`: without trust-ad glibc
 * clears the AD bit, and Postfix then treats every answer as insecure). `ip netns exec` bind-mounts that file over
 * /etc/resolv.conf for the command it runs. Nothing inside can reach beyond the namespace's loopback.
 *
 * Names are `dane-ns-t<pid>-<thread>-<n>` (pid and worker thread of the test process), so parallel vitest workers
 * (forks or threads) never collide. destroy()
 * stops every process still inside the namespace (by PID, as listed by `ip netns pids`: only processes the test
 * started can be there), deletes the namespace and /etc/netns/NAME. It is idempotent, and also runs from a
 * process 'exit' hook, so a failing test cannot leave a namespace behind; namespaces left by a test process that
 * was killed outright are cleaned by the next createNetns() (their pid no longer exists).
 *
 * linkNetns() joins two of these namespaces with a veth pair, an address on each end, so that a test can run a
 * primary in one and a secondary in the other and drop the path between them (setUp(end, false)). Both ends are
 * created inside their namespaces (`ip -n A link add ... peer ... netns B`), never in the host's, and a veth
 * end is deleted with its namespace (and its peer with it), so destroy() cleans them up too.
 *
 * Needs root and `ip` (Debian package iproute2).
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { requireTool } from './dig.js';

export const NETNS_PREFIX = 'dane-ns-t';
const NETNS_ETC = '/etc/netns';
const NETNS_RUN = '/run/netns';

export interface NetnsOptions {
  /** Extra loopback addresses for `lo`, e.g. `['127.0.0.2']` (added as /8 like 127.0.0.1). */
  addresses?: string[];
  /** Content of the namespace's resolv.conf (default `nameserver 127.0.0.1\noptions trust-ad\n`); null: none. */
  resolvConf?: string | null;
}

export interface ExecOptions {
  /** Milliseconds before the command is killed with SIGKILL (default 30 s). */
  timeoutMs?: number;
  /** Environment for the command (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, which is then closed (default: stdin closed at once). */
  input?: string;
  cwd?: string;
}

export interface ExecResult {
  /** Exit code, or null when killed by a signal (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the timeout killed it. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** The command line, for failure messages. */
  command: string;
}

export interface Netns {
  /** The namespace name (`dane-ns-t<pid>-<thread>-<n>`). */
  name: string;
  /** `[ip, ['netns', 'exec', NAME, cmd, ...args]]`: the command line that runs cmd inside the namespace. */
  wrap(cmd: string, args: readonly string[]): [string, string[]];
  /** Spawns cmd inside the namespace (`ip netns exec` execs in place, so the child's pid is cmd's own pid). */
  spawn(cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Runs cmd inside the namespace to completion; never rejects for a non-zero exit or timeout (see the result). */
  exec(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Like exec(), but rejects (with stdout/stderr) unless the exit code is 0. Resolves with stdout. */
  run(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** True when a TCP connection to host:port inside the namespace succeeds within timeoutMs (default 2 s). */
  tcpOpen(host: string, port: number, timeoutMs?: number): Promise<boolean>;
  /** Resolves once host:port inside the namespace accepts TCP; rejects after timeoutMs (default 15 s). */
  waitTcp(host: string, port: number, timeoutMs?: number): Promise<void>;
  /** PIDs of the processes inside the namespace (`ip netns pids`). */
  pids(): number[];
  /** Kills what is still inside, deletes the namespace and /etc/netns/NAME. Idempotent. */
  destroy(): Promise<void>;
}

let counter = 0;
const live = new Set<string>();
let exitHookInstalled = false;

function ipBin(): string {
  return requireTool('ip');
}

function nsPids(name: string): number[] {
  try {
    const out = execFileSync(ipBin(), ['netns', 'pids', name], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Synchronous teardown (usable from an 'exit' hook): SIGTERM to every process inside, up to 3 s for them to go,
 * SIGKILL to the rest, then `ip netns delete` and removal of /etc/netns/NAME.
 */
function destroySync(name: string): void {
  let pids = nsPids(name);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  // Exited processes leave the namespace at once (even before their parent reaps them), so poll `ip netns pids`.
  const deadline = Date.now() + 3000;
  while (pids.length > 0 && Date.now() < deadline) {
    sleepSync(50);
    pids = nsPids(name);
  }
  for (const pid of nsPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    execFileSync(ipBin(), ['netns', 'delete', name], { timeout: 10_000, stdio: 'ignore' });
  } catch {
    // not there (any more)
  }
  rmSync(join(NETNS_ETC, name), { recursive: true, force: true });
  live.delete(name);
}

/** Removes namespaces (and /etc/netns dirs) of this harness whose creating test process no longer exists. */
export function cleanStaleNetns(): string[] {
  const names = new Set<string>();
  for (const dir of [NETNS_RUN, NETNS_ETC]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.startsWith(NETNS_PREFIX)) names.add(f);
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /^dane-ns-t(\d+)-\d+-\d+$/.exec(name);
    if (m === null) continue;
    const owner = Number(m[1]);
    if (owner === process.pid || pidAlive(owner)) continue;
    destroySync(name);
    removed.push(name);
  }
  return removed;
}

/** Runs cmd inside the named namespace to completion (`ip netns exec NAME cmd args...`); never rejects for a
 *  non-zero exit or a timeout: read the result. */
export function execInNetns(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const ip = ipBin();
  const full = ['netns', 'exec', name, cmd, ...args];
  const command = `ip ${full.join(' ')}`;
  const timeout = opts.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const child = execFile(
      ip,
      full,
      { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, cwd: opts.cwd },
      (err, stdout, stderr) => {
        const e = err as
          (NodeJS.ErrnoException & { killed?: boolean; code?: unknown; signal?: NodeJS.Signals | null }) | null;
        const timedOut = e?.killed === true;
        let code: number | null = 0;
        if (e !== null) code = typeof e.code === 'number' ? e.code : null;
        resolve({
          code,
          signal: e?.signal ?? null,
          timedOut,
          stdout,
          stderr: e !== null && typeof e.code === 'string' ? `${stderr}${e.message}` : stderr,
          command,
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** True when a TCP connection to host:port inside the named namespace succeeds within timeoutMs (default 2 s). */
export async function tcpOpenInNetns(name: string, host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  const bash = requireTool('bash');
  // bash's /dev/tcp connects (getaddrinfo: 127.0.0.1 or ::1); a refused port fails at once on loopback.
  const r = await execInNetns(name, bash, ['-c', `exec 3<>/dev/tcp/${host}/${port}`], { timeoutMs });
  return r.code === 0;
}

/** Resolves once host:port inside the named namespace accepts TCP; rejects after timeoutMs (default 15 s). */
export async function waitTcpInNetns(name: string, host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tcpOpenInNetns(name, host, port, Math.max(500, Math.min(2000, deadline - Date.now())))) return;
    if (Date.now() > deadline)
      throw new Error(`netns ${name}: no TCP listener on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates a fresh namespace (see the module comment). Reject means nothing is left behind. */
export async function createNetns(opts: NetnsOptions = {}): Promise<Netns> {
  const ip = ipBin();
  if (process.getuid?.() !== 0) throw new Error('createNetns: needs root (ip netns add)');
  cleanStaleNetns();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const name of [...live]) destroySync(name);
    });
  }
  const name = `${NETNS_PREFIX}${process.pid}-${threadId}-${++counter}`;
  // A leftover of the same name can only be ours (same pid and thread): start clean.
  destroySync(name);
  const sh = (args: string[]): void => {
    execFileSync(ip, args, { timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  };
  live.add(name);
  try {
    sh(['netns', 'add', name]);
    sh(['-n', name, 'link', 'set', 'lo', 'up']);
    for (const a of opts.addresses ?? []) {
      if (!/^127\.\d+\.\d+\.\d+$/.test(a)) throw new Error(`createNetns: ${a} is not a 127.x.x.x address`);
      if (a !== '127.0.0.1') sh(['-n', name, 'addr', 'add', `${a}/8`, 'dev', 'lo']);
    }
    const resolv = opts.resolvConf === undefined ? 'nameserver 127.0.0.1\noptions trust-ad\n' : opts.resolvConf;
    if (resolv !== null) {
      mkdirSync(join(NETNS_ETC, name), { recursive: true });
      writeFileSync(join(NETNS_ETC, name, 'resolv.conf'), resolv);
    }
  } catch (e) {
    destroySync(name);
    const err = e as Error & { stderr?: Buffer };
    throw new Error(
      `createNetns ${name}: ${err.message}${err.stderr !== undefined ? `\n${err.stderr.toString()}` : ''}`,
    );
  }

  const wrap = (cmd: string, args: readonly string[]): [string, string[]] => [
    ip,
    ['netns', 'exec', name, cmd, ...args],
  ];
  const exec = (cmd: string, args: readonly string[], o?: ExecOptions): Promise<ExecResult> =>
    execInNetns(name, cmd, args, o);
  const run = async (cmd: string, args: readonly string[], o?: ExecOptions): Promise<string> => {
    const r = await exec(cmd, args, o);
    if (r.code !== 0) {
      const why = r.timedOut
        ? `killed after ${o?.timeoutMs ?? 30_000} ms`
        : r.code === null
          ? `signal ${String(r.signal)}`
          : `exit ${r.code}`;
      throw new Error(`${r.command}: ${why}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    }
    return r.stdout;
  };
  const tcpOpen = (host: string, port: number, timeoutMs?: number): Promise<boolean> =>
    tcpOpenInNetns(name, host, port, timeoutMs);
  const waitTcp = (host: string, port: number, timeoutMs?: number): Promise<void> =>
    waitTcpInNetns(name, host, port, timeoutMs);
  const spawnIn = (cmd: string, args: readonly string[], o: SpawnOptions = {}): ChildProcess => {
    const [bin, full] = wrap(cmd, args);
    return spawn(bin, full, o);
  };
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    destroySync(name);
  };
  return { name, wrap, spawn: spawnIn, exec, run, tcpOpen, waitTcp, pids: () => nsPids(name), destroy };
}

/** One end of a veth pair made by linkNetns(). */
export interface VethEnd {
  /** The namespace it is in. */
  netns: string;
  /** Its interface name inside that namespace. */
  ifname: string;
  /** Its address with prefix length, e.g. `10.53.0.1/24` or `fd00:53::1/64`. */
  cidr: string;
  /** The address alone (what a peer connects to), e.g. `10.53.0.1`. */
  address: string;
}

export interface VethPair {
  a: VethEnd;
  b: VethEnd;
  /**
   * `ip link set IF up|down` in that end's namespace. Down, the path drops every packet both ways (the peer sees
   * no carrier); up, the end's address is set again (`ip addr replace`: the kernel flushes IPv6 addresses of an
   * interface taken down).
   */
  setUp(end: 'a' | 'b', up: boolean): void;
}

let vethCounter = 0;

/**
 * Joins namespaces a and b with a veth pair, `cidrA` on a's end and `cidrB` on b's (same subnet, so the connected
 * route is all either needs). IPv6 addresses are added `nodad`, usable at once. Both ends are up on return.
 */
export function linkNetns(a: Netns, b: Netns, cidrA: string, cidrB: string): VethPair {
  const ip = ipBin();
  const sh = (args: string[]): void => {
    try {
      execFileSync(ip, args, { timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as Error & { stderr?: Buffer };
      throw new Error(
        `ip ${args.join(' ')}: ${err.message}${err.stderr !== undefined ? `\n${err.stderr.toString()}` : ''}`,
      );
    }
  };
  // Interface names are per namespace, at most 15 bytes: a counter of this process is unique enough.
  const n = ++vethCounter;
  const end = (ns: Netns, side: string, cidr: string): VethEnd => {
    if (!/^[0-9a-f.:]+\/\d+$/i.test(cidr)) throw new Error(`linkNetns: ${cidr} is not ADDRESS/PREFIX`);
    return { netns: ns.name, ifname: `veth${n}${side}`, cidr, address: cidr.slice(0, cidr.indexOf('/')) };
  };
  const ends = { a: end(a, 'a', cidrA), b: end(b, 'b', cidrB) };
  sh(['-n', a.name, 'link', 'add', ends.a.ifname, 'type', 'veth', 'peer', 'name', ends.b.ifname, 'netns', b.name]);
  const setUp = (which: 'a' | 'b', up: boolean): void => {
    const e = ends[which];
    sh(['-n', e.netns, 'link', 'set', e.ifname, up ? 'up' : 'down']);
    if (up) {
      const v6 = e.address.includes(':') ? ['nodad'] : [];
      sh(['-n', e.netns, 'addr', 'replace', e.cidr, 'dev', e.ifname, ...v6]);
    }
  };
  setUp('a', true);
  setUp('b', true);
  return { ...ends, setUp };
}
