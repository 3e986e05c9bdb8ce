/**
 * Starts the built dane-ns (`node dist/cli.js serve`) on loopback for integration tests.
 * `npm test` builds first; run `npm run build` before running a single integration file by hand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from './dig.js';
import { waitTcpInNetns } from './netns.js';

/** Repository root (this file is test/integration/helpers/server.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');

export interface DaneNsOptions {
  zonesDir: string;
  port: number;
  extraArgs?: string[];
  /** Also listen on [::1]:port. */
  ipv6?: boolean;
  /** Keys directory (default: a new temp dir, removed on stop). */
  keysDir?: string;
  /** State directory (default: a new temp dir, removed on stop). */
  stateDir?: string;
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
  /** Path of the CLI entry point (default: dist/cli.js of this checkout). */
  cli?: string;
  /** Milliseconds to wait for the listening log line (default 20 s). */
  startTimeoutMs?: number;
  /**
   * Run inside this network namespace (a name from createNetns(), helpers/netns.ts): the server is spawned with
   * `ip netns exec NAME` (same pid) and its loopback addresses are those of the namespace, so any port is free.
   */
  netns?: string;
}

export interface DaneNsInstance {
  port: number;
  proc: ChildProcess;
  keysDir: string;
  stateDir: string;
  /** Everything the server has written so far (stdout, then a marker, then stderr). */
  logs(): string;
  stop(): Promise<void>;
}

/** Resolves when a TCP connection to host:port succeeds; rejects after the deadline. */
async function waitTcp(host: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no TCP listener on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Spawns `dane-ns serve` and resolves after it logs `"event":"listening"` and accepts TCP on every listen
 * address. Rejects with the captured stdout/stderr when it exits first or the timeout passes.
 */
export async function startDaneNs(opts: DaneNsOptions): Promise<DaneNsInstance> {
  const cli = opts.cli ?? CLI;
  if (!existsSync(cli)) throw new Error(`${cli} does not exist: run 'npm run build' first (npm test does)`);
  const tempDirs: string[] = [];
  const keysDir = opts.keysDir ?? (await mkdtemp(join(tmpdir(), 'dane-ns-keys-')));
  if (opts.keysDir === undefined) tempDirs.push(keysDir);
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'dane-ns-state-')));
  if (opts.stateDir === undefined) tempDirs.push(stateDir);

  const listens: { host: string; arg: string }[] = [{ host: '127.0.0.1', arg: `127.0.0.1:${opts.port}` }];
  if (opts.ipv6 === true) listens.push({ host: '::1', arg: `[::1]:${opts.port}` });
  const args = [
    cli,
    'serve',
    '--zones',
    opts.zonesDir,
    '--state',
    stateDir,
    '--keys',
    keysDir,
    ...listens.flatMap((l) => ['--listen', l.arg]),
    ...(opts.extraArgs ?? []),
  ];

  // Command-line flags win over the environment, but drop DANE_NS_* anyway so a developer's shell cannot leak in.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DANE_NS_')) env[k] = v;
  // Tests talk to loopback only: no parent DS lookup through the machine's resolver unless a test asks for one.
  env.DANE_NS_RESOLVER = 'none';
  Object.assign(env, opts.env ?? {});

  let stdout = '';
  let stderr = '';
  const cap = (s: string): string => (s.length > 512 * 1024 ? s.slice(-256 * 1024) : s);
  const proc =
    opts.netns === undefined
      ? spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(requireTool('ip'), ['netns', 'exec', opts.netns, process.execPath, ...args], {
          cwd: REPO_ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  const logs = (): string => `${stdout}\n--- stderr ---\n${stderr}`;

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

  let onListening: (() => void) | null = null;
  const listening = new Promise<void>((resolve) => {
    onListening = resolve;
  });
  let lineBuf = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stdout = cap(stdout + text);
    lineBuf += text;
    let nl: number;
    while ((nl = lineBuf.indexOf('\n')) >= 0) {
      const line = lineBuf.slice(0, nl);
      lineBuf = lineBuf.slice(nl + 1);
      if (/"event"\s*:\s*"listening"/.test(line)) onListening?.();
    }
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = cap(stderr + chunk.toString('utf8'));
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (exited === null) {
        proc.kill('SIGTERM');
        const killTimer = setTimeout(() => {
          if (exited === null) proc.kill('SIGKILL');
        }, 3000);
        await exitPromise;
        clearTimeout(killTimer);
      }
    }
    for (const d of tempDirs) await rm(d, { recursive: true, force: true });
  };

  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      listening.then(() => 'listening' as const),
      exitPromise.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    if (outcome === 'exited') throw new Error(`dane-ns exited before listening (${exited ?? '?'})`);
    if (outcome === 'timeout') throw new Error(`dane-ns did not log "event":"listening" within ${timeoutMs} ms`);
    // One log line may precede some sockets: make sure every address accepts TCP (UDP binds alongside).
    for (const l of listens) {
      if (opts.netns === undefined) await waitTcp(l.host, opts.port, deadline);
      else await waitTcpInNetns(opts.netns, l.host, opts.port, Math.max(1000, deadline - Date.now()));
    }
  } catch (e) {
    clearTimeout(timer);
    await stop();
    throw new Error(
      `${(e as Error).message}\ncommand: ${process.execPath} ${args.join(' ')}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    );
  }
  clearTimeout(timer);

  return { port: opts.port, proc, keysDir, stateDir, logs, stop };
}
