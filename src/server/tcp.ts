/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): every message is preceded by a two-octet length. One read may
 * carry a fraction of a message or many pipelined messages (RFC 7766 §6.2.1); both go through one small state
 * machine that copies each byte at most once (a message wholly inside one read is handed over without a copy).
 *
 * Answers are written in query order (we answer synchronously, so order is free; RFC 7766 §7 allows any order,
 * in-order is simply what we get). Resources per client are bounded: a connection cap, an idle timeout that
 * only complete messages reset (so a trickle of bytes cannot hold a slot, RFC 7766 §6.2.3), and at most
 * `maxPipelined` unflushed answers before the connection stops reading (RFC 7766 §6.2.1.1 backpressure).
 *
 * A multi-message answer (AXFR, RFC 5936 §2.2) is pumped one message at a time: after a write the socket's
 * buffer is full, the next message waits for 'drain' and then for the next turn of the event loop (so UDP
 * queries are answered during a transfer), and reading stops until the last one is written. Every
 * message handed to the kernel (and every drain) counts as activity, so the idle timeout ends a stalled client,
 * never a transfer that is moving.
 *
 * A full listener still lets a secondary in and closes the longest-idle connection for a newcomer rather than
 * refusing it; one client source (an IPv4 address, an IPv6 /64) holds at most `maxPerSource` connections
 * (tcp-admission.ts says why and how).
 * A message must arrive whole within `messageTimeoutMs` of its first octet (Knot DNS's `tcp-io-timeout`): a
 * slow trickle would otherwise keep a connection busy, and so safe from eviction, for the whole idle timeout.
 */
import { createServer, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { admit, DEFAULT_PER_SOURCE, sourceKey, type Slot } from './tcp-admission.js';
import {
  safeReporter,
  stripBrackets,
  type Handler,
  type Listener,
  type Remote,
  type StreamHandler,
  type TcpOptions,
} from './transport.js';

const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_CONNECTIONS = 512;
const DEFAULT_MAX_PIPELINED = 64;
/** Knot DNS's `tcp-io-timeout` default: a query of a few hundred octets arrives in one round trip. */
const DEFAULT_MESSAGE_TIMEOUT_MS = 500;

/** Peer behaviour, not our bug: not worth an onError report. */
const QUIET_SOCKET_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/** What every connection of one listener shares. */
interface Shared {
  readonly handler: Handler;
  readonly stream: StreamHandler | undefined;
  readonly report: (err: unknown) => void;
  readonly idleTimeoutMs: number;
  readonly maxPipelined: number;
  readonly messageTimeoutMs: number;
  readonly connections: Set<Connection>;
  /** Open connections by client source (IPv4 address or IPv6 /64: tcp-admission.ts's sourceKey). */
  readonly sources: Map<string, number>;
}

/** One client connection: reassembly, dispatch, ordered framed writes, flow control, lifetime. */
class Connection implements Slot {
  /** The message being reassembled once its length is known and it did not arrive whole. */
  private partial: Buffer | null = null;
  private filled = 0;
  /** The first length octet when a read ended between the two; -1 when none is pending. */
  private lengthHigh = -1;
  /** Unparsed input held back while writes are blocked (the socket is paused meanwhile). */
  private backlog: Buffer | null = null;
  /** Answers handed to the socket whose write callback has not fired yet. */
  private inFlight = 0;
  private needDrain = false;
  /** The multi-message answer being written; reading waits until it is done. */
  private streaming: Iterator<Uint8Array> | null = null;
  private peerEnded = false;
  private ending = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  /** performance.now() of the last activity (what refreshes the idle timer), for admission's choice. */
  private lastActive = performance.now();
  /** The stream's next write, queued for the next turn of the event loop (onDrain). */
  private pumpQueued: NodeJS.Immediate | null = null;
  /** Runs while a message is partly received: it must be whole within messageTimeoutMs. */
  private messageTimer: NodeJS.Timeout | null = null;
  /** Still counted in `shared.connections` and `shared.sources`. */
  private counted = true;

  constructor(
    private readonly socket: Socket,
    private readonly remote: Remote,
    private readonly shared: Shared,
    /** The key it counts under in `shared.sources`. */
    private readonly source: string,
  ) {
    this.timer = setTimeout(this.onIdle, shared.idleTimeoutMs);
    this.timer.unref();
    // We coalesce with cork/uncork per read, so Nagle would only add a delayed-ACK wait to pipelined answers.
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Leaves the listener's counts (once): when closed, or at once when evicted for a newcomer. */
  leave(): void {
    if (!this.counted) return;
    this.counted = false;
    this.shared.connections.delete(this);
    const n = (this.shared.sources.get(this.source) ?? 1) - 1;
    if (n > 0) this.shared.sources.set(this.source, n);
    else this.shared.sources.delete(this.source);
  }

  /** Null while busy: a message half received, answers or a transfer not yet written out, closing. */
  idleSince(): number | null {
    const busy =
      this.closed ||
      this.ending ||
      this.socket.destroyed ||
      this.partial !== null ||
      this.lengthHigh >= 0 ||
      this.backlog !== null ||
      this.streaming !== null ||
      this.inFlight > 0 ||
      this.needDrain;
    return busy ? null : this.lastActive;
  }

  /** Activity: the idle timer starts again. */
  private touch(): void {
    this.timer.refresh();
    this.lastActive = performance.now();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    this.consumeCorked(chunk);
  };

  /** Answers produced from one read leave in as few segments as possible. */
  private consumeCorked(buf: Buffer): void {
    this.socket.cork();
    try {
      this.consume(buf, 0);
    } finally {
      this.socket.uncork();
    }
    // A message begun in this read (and not finished) starts its clock; the clock does not restart per read.
    if (!this.closed && (this.partial !== null || this.lengthHigh >= 0)) this.messageTimer ??= this.startMessageTimer();
  }

  private startMessageTimer(): NodeJS.Timeout {
    const t = setTimeout(this.onIdle, this.shared.messageTimeoutMs);
    t.unref();
    return t;
  }

  private stopMessageTimer(): void {
    if (this.messageTimer === null) return;
    clearTimeout(this.messageTimer);
    this.messageTimer = null;
  }

  /** The framing state machine. Returns when `buf` is used up or writes are blocked (then keeps the rest). */
  private consume(buf: Buffer, pos: number): void {
    const end = buf.length;
    while (pos < end) {
      if (this.closed) return;
      const partial = this.partial;
      if (partial !== null) {
        const n = Math.min(partial.length - this.filled, end - pos);
        buf.copy(partial, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        if (this.filled < partial.length) return; // the rest comes later (or the idle timer ends it)
        this.partial = null;
        this.dispatch(partial);
        continue;
      }
      if (this.blocked()) {
        this.backlog = buf.subarray(pos);
        this.socket.pause();
        return;
      }
      let length: number;
      if (this.lengthHigh >= 0) {
        length = (this.lengthHigh << 8) | buf[pos]!;
        this.lengthHigh = -1;
        pos += 1;
      } else if (end - pos >= 2) {
        length = (buf[pos]! << 8) | buf[pos + 1]!;
        pos += 2;
      } else {
        this.lengthHigh = buf[pos]!;
        return;
      }
      if (length === 0) continue; // nothing to answer; does not count as activity either
      if (end - pos >= length) {
        const message = buf.subarray(pos, pos + length);
        pos += length;
        this.dispatch(message);
      } else {
        this.partial = Buffer.allocUnsafe(length);
        this.filled = 0;
      }
    }
  }

  private blocked(): boolean {
    return this.needDrain || this.streaming !== null || this.inFlight >= this.shared.maxPipelined;
  }

  private dispatch(message: Buffer): void {
    this.stopMessageTimer();
    this.touch();
    let out: Uint8Array | null;
    try {
      const stream = this.shared.stream?.(message, this.remote) ?? null;
      if (stream !== null) {
        this.streaming = stream[Symbol.iterator]();
        this.pump();
        return;
      }
      out = this.shared.handler(message, 'tcp', this.remote);
    } catch (err) {
      this.streaming = null;
      this.shared.report(err);
      return;
    }
    if (out === null || !this.canWrite(out)) return;
    this.inFlight++;
    if (!this.write(out, this.onWritten)) this.needDrain = true;
  }

  private canWrite(out: Uint8Array): boolean {
    // A TCP message cannot exceed 65535 octets; the handler never produces one, but a bad length would
    // desynchronise the client's framing for every later answer.
    return out.length > 0 && out.length <= 0xffff && !this.closed && this.socket.writable;
  }

  /** Writes one framed message; false when the socket wants 'drain' before the next. */
  private write(out: Uint8Array, done: (err?: Error | null) => void): boolean {
    const n = out.length;
    // One buffer per answer (prefix + body): the client never sees the prefix and the body in different segments.
    const framed = Buffer.allocUnsafe(n + 2);
    framed[0] = n >>> 8;
    framed[1] = n & 0xff;
    framed.set(out, 2);
    return this.socket.write(framed, done);
  }

  /**
   * Writes the next message of the current stream. The one after it follows on the next turn of the event loop
   * (or after 'drain' when the socket is full): a write to loopback or a fast client completes at once until
   * the kernel's buffers are full (megabytes), so writing in a loop would send a large transfer in one turn,
   * with no UDP query answered meanwhile.
   */
  private pump(): void {
    const it = this.streaming;
    if (it === null || this.closed) return;
    let r: IteratorResult<Uint8Array>;
    try {
      r = it.next();
    } catch (err) {
      // Half a transfer is worse than none: the client must not take it for a whole zone.
      this.shared.report(err);
      this.streaming = null;
      this.socket.destroy();
      return;
    }
    if (r.done) {
      this.streaming = null;
      this.maybeResume();
      return;
    }
    this.touch();
    if (!this.canWrite(r.value)) {
      this.socket.destroy(); // 'close' ends the stream (onClose)
      return;
    }
    if (this.write(r.value, this.onStreamWritten)) this.pumpQueued = setImmediate(this.pumpLater);
    else this.needDrain = true;
  }

  /** A message of the stream reached the kernel: the client is reading, the transfer is moving. */
  private readonly onStreamWritten = (err?: Error | null): void => {
    if (!err && !this.closed) this.touch();
  };

  private readonly onWritten = (err?: Error | null): void => {
    this.inFlight--;
    if (err) return; // 'error' and 'close' follow
    this.maybeResume();
  };

  private readonly onDrain = (): void => {
    this.needDrain = false;
    this.touch();
    // The next message of a stream waits for the next turn of the event loop, as in pump().
    if (this.streaming !== null) this.pumpQueued ??= setImmediate(this.pumpLater);
    else this.maybeResume();
  };

  private readonly pumpLater = (): void => {
    this.pumpQueued = null;
    this.pump();
  };

  /** Once writes can go on: finish held-back input, then read again (or finish after a half-close). */
  private maybeResume(): void {
    if (this.closed || this.blocked()) return;
    const backlog = this.backlog;
    if (backlog !== null) {
      this.backlog = null;
      this.consumeCorked(backlog);
      if (this.backlog !== null) return; // blocked again
    }
    if (this.peerEnded) this.finish();
    else if (this.socket.isPaused()) this.socket.resume();
  }

  /** The client half-closed after its last query (RFC 7766 §6.2.2 allows it): answer what we have, then close. */
  private readonly onEnd = (): void => {
    this.peerEnded = true;
    // A message cut off by the FIN can never complete.
    this.partial = null;
    this.lengthHigh = -1;
    this.stopMessageTimer();
    if (this.backlog === null && this.streaming === null) this.finish();
  };

  private finish(): void {
    if (this.ending) return;
    this.ending = true;
    this.socket.end(); // flushes queued answers, then FIN; 'close' follows
  }

  private readonly onIdle = (): void => {
    this.socket.destroy();
  };

  private readonly onError = (err: Error): void => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !QUIET_SOCKET_ERRORS.has(code)) this.shared.report(err);
  };

  private readonly onClose = (): void => {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopMessageTimer();
    if (this.pumpQueued !== null) clearImmediate(this.pumpQueued);
    // A transfer cut off by the close: its producer hears of it (and counts it as an error).
    const unfinished = this.streaming;
    this.streaming = null;
    try {
      unfinished?.return?.();
    } catch (err) {
      this.shared.report(err);
    }
    this.partial = null;
    this.backlog = null;
    this.leave();
  };
}

/**
 * Listens on `host:port` (port 0: any free port, read back in `address`) and answers framed DNS messages
 * through `handler`. Resolves once listening; rejects on a listen error (EADDRINUSE, EACCES...).
 */
export function listenTcp(opts: TcpOptions): Promise<Listener> {
  const host = stripBrackets(opts.host);
  const onError = opts.onError;
  const report = safeReporter(onError);
  const maxConnections = Math.max(0, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  const secondary = (address: string): boolean => {
    try {
      return opts.secondary?.(address) ?? false;
    } catch (err) {
      report(err);
      return false;
    }
  };
  const shared: Shared = {
    handler: opts.handler,
    stream: opts.stream,
    report,
    idleTimeoutMs: Math.max(1, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS),
    maxPipelined: Math.max(1, opts.maxPipelined ?? DEFAULT_MAX_PIPELINED),
    messageTimeoutMs: Math.max(1, opts.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS),
    connections: new Set(),
    sources: new Map(),
  };
  const perSource = Math.max(0, opts.maxPerSource ?? DEFAULT_PER_SOURCE);
  let closing = false;

  // allowHalfOpen: a client's FIN after its last query must not stop us from answering it.
  const server: Server = createServer({ allowHalfOpen: true });
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    const source = address === undefined ? '' : sourceKey(address);
    const room =
      closing || address === undefined || port === undefined
        ? 'refuse'
        : admit(
            shared.connections,
            shared.connections.size,
            maxConnections,
            () => secondary(address),
            shared.sources.get(source) ?? 0,
            perSource,
          );
    if (room === 'refuse' || address === undefined || port === undefined) {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    if (room !== 'accept') {
      // The longest-idle connection makes room; it leaves the count now, not when its 'close' comes.
      room.leave();
      room.destroy();
    }
    const family = socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4';
    shared.connections.add(new Connection(socket, { address, port, family }, shared, source));
    shared.sources.set(source, (shared.sources.get(source) ?? 0) + 1);
  });

  return new Promise<Listener>((resolve, reject) => {
    const onListenError = (err: Error): void => reject(err);
    server.once('error', onListenError);
    server.once('listening', () => {
      server.off('error', onListenError);
      server.on('error', report);
      const bound = server.address() as AddressInfo;
      let closed: Promise<void> | null = null;
      resolve({
        address: { host: bound.address, port: bound.port },
        close(): Promise<void> {
          closed ??= new Promise<void>((done) => {
            closing = true;
            server.close(() => done()); // fires once every connection below has closed
            for (const c of shared.connections) c.destroy();
          });
          return closed;
        },
      });
    });
    // ipv6Only: as for UDP, `::` must not also take the IPv4 wildcard.
    server.listen({ host, port: opts.port, ipv6Only: isIPv6(host) });
  });
}
