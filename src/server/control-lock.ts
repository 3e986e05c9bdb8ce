/**
 * One server per state directory: the control socket (control.ts) is the lock. Before the server writes anything
 * to the state directory it connects to `<state>/control.sock`: a server that answers is running, and this one
 * stops with its pid; a socket file that refuses the connection was left by a killed server and is replaced.
 * Then it binds the socket itself (mode 0600: only the server's user may control it), which is the lock from then
 * on; it is removed at shutdown when it is still this server's.
 */
import { chmodSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/** The control socket's name in the state directory. */
export const CONTROL_SOCKET = 'control.sock';

/** How long the probe of an existing socket waits for the other server's answer. */
const PROBE_TIMEOUT_MS = 2000;

export function controlSocketPath(stateDir: string): string {
  return join(stateDir, CONTROL_SOCKET);
}

/** Another server holds the state directory. */
export class StateDirectoryLocked extends Error {}

/**
 * The socket cannot be made (a read-only or full state directory, a path too long for a Unix socket): the server
 * runs without it (serve.ts logs it), as a state file that cannot be written changes nothing served.
 */
export class ControlSocketUnavailable extends Error {}

/**
 * What answers at `path`: `running` with the pid another server gave, `stale` (a socket file nobody listens on),
 * or `absent`. A server that accepts the connection but does not answer in time counts as running (pid unknown).
 */
export function probe(path: string): Promise<{ state: 'running'; pid?: number } | { state: 'stale' | 'absent' }> {
  return new Promise((resolve) => {
    const s = connect({ path });
    let text = '';
    let connected = false;
    const done = (v: Awaited<ReturnType<typeof probe>>): void => {
      s.destroy();
      resolve(v);
    };
    const pid = (): number | undefined => {
      try {
        const r = JSON.parse(text) as { pid?: unknown };
        return typeof r.pid === 'number' ? r.pid : undefined;
      } catch {
        return undefined;
      }
    };
    s.setEncoding('utf8');
    s.setTimeout(PROBE_TIMEOUT_MS, () => done({ state: 'running' }));
    s.on('connect', () => {
      connected = true;
      s.write('{"command":"ping"}\n');
    });
    s.on('data', (c: string) => (text += c));
    s.on('end', () => {
      const p = pid();
      done(p === undefined ? { state: 'running' } : { state: 'running', pid: p });
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (connected) done({ state: 'running' });
      else done({ state: e.code === 'ENOENT' ? 'absent' : 'stale' });
    });
  });
}

/**
 * Takes the lock of `stateDir` (which exists): binds its control socket, replacing a stale one. Throws
 * StateDirectoryLocked naming the directory and the other server's pid when one is running. The caller serves
 * the protocol on the returned server and calls `release` at shutdown.
 */
export async function lockStateDirectory(stateDir: string): Promise<{ server: Server; release: () => Promise<void> }> {
  const path = controlSocketPath(stateDir);
  const found = await probe(path);
  if (found.state === 'running')
    throw new StateDirectoryLocked(
      `another dane-ns is running with state directory ${stateDir} (pid ${found.pid ?? 'unknown'})`,
    );
  try {
    if (found.state === 'stale') unlinkSync(path);
  } catch (e) {
    throw new ControlSocketUnavailable(`control socket ${path}: stale, and not removed: ${(e as Error).message}`);
  }
  const server = createServer();
  // The socket is created with the process's umask: 0177 leaves it 0600 from the moment it exists (the chmod
  // after listening makes sure of it whatever the platform does with the umask).
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Two servers started at the same moment: the other one bound first.
    if (code === 'EADDRINUSE')
      throw new StateDirectoryLocked(`another dane-ns is running with state directory ${stateDir} (pid unknown)`);
    throw new ControlSocketUnavailable(`control socket ${path}: ${(e as Error).message}`);
  } finally {
    process.umask(umask);
  }
  let ino: number;
  try {
    chmodSync(path, 0o600);
    ino = statSync(path).ino;
  } catch (e) {
    // Not where it was asked for (a path too long for a socket may be bound cut short): not used.
    server.close();
    throw new ControlSocketUnavailable(`control socket ${path}: ${(e as Error).message}`);
  }
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    // Not waiting for a client still connected: the stop has a deadline, and a request is answered or dropped.
    server.close();
    // Removed only when it is still ours (not the socket of a server that replaced it as stale meanwhile).
    try {
      if (statSync(path).ino === ino) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  return { server, release };
}
