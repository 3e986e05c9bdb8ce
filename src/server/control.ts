/**
 * The control socket, `<state>/control.sock`: how `dane-ns status`, `reload` and `zone list` talk to the running
 * server (docs/control.md). A Unix stream socket, mode 0600 inside the server's state directory, so only the
 * server's user (and root) can connect: file permissions are the authentication. One JSON request line in, one
 * JSON response line out, then the server closes the connection. A request is bounded in size and time; nothing
 * a client sends or fails to send can throw out of here.
 *
 * The socket is also the lock that keeps one server per state directory (control-lock.ts takes it before the
 * server writes to the directory); until the server is ready, every request is answered `starting`.
 */
import type { Server, Socket } from 'node:net';

/** Largest request line accepted, in bytes (a command and a zone name need far less). */
export const MAX_REQUEST_BYTES = 4096;
/** A client that has not sent its whole request line by then is dropped (it would hold a connection open). */
export const REQUEST_TIMEOUT_MS = 3000;

/** One control request (docs/control.md). */
export interface ControlRequest {
  readonly command: string;
  /** The zone named on the command line (`example.com` or `example.com.`), when one was. */
  readonly zone?: string;
}

/** What the server answers with: `ok` and the command's result, or `ok: false` and why. */
export type ControlResponse = { readonly ok: true; readonly [field: string]: unknown } | ControlFailure;
export interface ControlFailure {
  readonly ok: false;
  readonly error: string;
}

/** The commands the server carries out; each returns the fields of its `ok` response. */
export interface ControlCommands {
  /** The server's process id (the lock's answer to a second instance). */
  pid(): number;
  status(zone: string | undefined): Record<string, unknown>;
  reload(zone: string | undefined): Record<string, unknown>;
  zones(): Record<string, unknown>;
}

/** Parses one request line; an error response when it is not a valid request. */
export function parseRequest(line: string): ControlRequest | ControlFailure {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'request is not an object' };
  const { command, zone } = v as Record<string, unknown>;
  if (typeof command !== 'string') return { ok: false, error: 'request has no "command" string' };
  if (zone !== undefined && typeof zone !== 'string') return { ok: false, error: '"zone" is not a string' };
  return zone === undefined ? { command } : { command, zone };
}

/**
 * Answers one request line. `commands` is undefined while the server is starting (only `ping` is answered then).
 * Never throws: a command that fails is an error response.
 */
export function answer(line: string, commands: ControlCommands | undefined, pid = process.pid): ControlResponse {
  const req = parseRequest(line);
  if ('ok' in req) return req;
  try {
    if (req.command === 'ping') return { ok: true, pid: commands?.pid() ?? pid, ready: commands !== undefined };
    if (commands === undefined) return { ok: false, error: 'starting: the zones are being loaded and signed' };
    switch (req.command) {
      case 'status':
        return { ok: true, ...commands.status(req.zone) };
      case 'reload':
        return { ok: true, ...commands.reload(req.zone) };
      case 'zones':
        return { ok: true, ...commands.zones() };
      default:
        return { ok: false, error: `unknown command "${req.command}" (ping, status, reload, zones)` };
    }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Serves the protocol on `server`'s connections: reads up to the first newline (at most MAX_REQUEST_BYTES,
 * within REQUEST_TIMEOUT_MS), writes the answer and a newline, and ends the connection.
 */
export function serveControl(
  server: Server,
  commands: () => ControlCommands | undefined,
  timeoutMs = REQUEST_TIMEOUT_MS,
): void {
  server.on('connection', (socket: Socket) => {
    let buffered = '';
    let done = false;
    const finish = (response: ControlResponse | undefined): void => {
      if (done) return;
      done = true;
      socket.setTimeout(0);
      if (response === undefined) socket.destroy();
      else socket.end(JSON.stringify(response) + '\n');
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => finish(undefined));
    // A client that goes away (EPIPE, ECONNRESET) is no concern of the server's.
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      if (done) return;
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl >= 0 && Buffer.byteLength(buffered.slice(0, nl)) <= MAX_REQUEST_BYTES)
        finish(answer(buffered.slice(0, nl), commands()));
      else if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES)
        finish({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
    });
    // A request without its newline, closed by the client (`echo -n ... | nc -U`), is answered all the same.
    socket.on('end', () => {
      if (!done && buffered.trim() !== '') finish(answer(buffered, commands()));
      else finish(undefined);
    });
  });
}
