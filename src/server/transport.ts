/**
 * The contract between the socket listeners (udp.ts, tcp.ts) and the code that answers DNS messages
 * (handler.ts). Transports move bytes only: they hold no DNS policy.
 */

export type Transport = 'udp' | 'tcp';

/** Who sent a request, as the socket reports it. */
export interface Remote {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

/**
 * Answers one request. Returns the response bytes, or null to stay silent.
 * The handler decides the UDP size limit itself from the query's EDNS (the transport tells it which one it is).
 * Must never throw for network input; the transport still guards every call with try/catch, stays silent on a
 * throw and reports the error via `onError`.
 * The returned bytes may be a shared/cached buffer: transports never modify them.
 * The query bytes are valid only during the call (the batched UDP engine reuses its receive buffers): a handler
 * that keeps any part of them must copy it. handler.ts copies everything it keeps (names, question bytes).
 */
export type Handler = (query: Uint8Array, transport: Transport, remote: Remote) => Uint8Array | null;

/**
 * Takes a TCP request that is answered by many messages (a zone transfer, RFC 5936 §2.2): returns the
 * messages, produced lazily and written with backpressure, or null to leave the request to the Handler. Same
 * rules as a Handler: never throws for network input, and copies what it keeps of the query.
 */
export type StreamHandler = (query: Uint8Array, remote: Remote) => Iterable<Uint8Array> | null;

export interface ListenOptions {
  host: string;
  port: number;
  handler: Handler;
  /** Handler throws and unexpected socket errors. Expected peer behaviour (ECONNRESET, EPIPE) is not reported. */
  onError?: (err: unknown) => void;
}

export interface TcpOptions extends ListenOptions {
  /** Idle timeout per connection in ms, reset on each complete message; default 10_000 (RFC 7766 §6.2.3). */
  idleTimeoutMs?: number;
  /**
   * Open connections allowed, default 512. Beyond it a new connection closes the longest-idle one, or is closed
   * at once when every connection is busy (tcp-admission.ts).
   */
  maxConnections?: number;
  /**
   * Whether a client address is one of the secondaries (the served zones' `transfer.allow` prefixes and
   * `transfer.notify` targets): such an address may use a reserve of connections beyond the cap. Asked for
   * each new connection once the cap is reached, so it follows reloads.
   */
  secondary?: (address: string) => boolean;
  /**
   * Connections one client source (an IPv4 address, an IPv6 /64) may hold (secondaries exempt); 0: no limit.
   * Default 64 (tcp-admission.ts).
   */
  maxPerSource?: number;
  /**
   * Time in ms to receive one message once its first octet has arrived (Knot DNS's `tcp-io-timeout`); default
   * 500. A connection that trickles a message in slower is closed: a partly received message makes a connection
   * busy, and busy connections are never evicted for newcomers.
   */
  messageTimeoutMs?: number;
  /** Responses in flight (written but not yet flushed) per connection before reads pause. Default 64. */
  maxPipelined?: number;
  /** Multi-message answers (AXFR), asked before the handler for every message. */
  stream?: StreamHandler;
}

export interface Listener {
  /** The bound address; `port` is the real one when 0 was asked for. */
  readonly address: { host: string; port: number };
  /** Stops accepting, drops open connections, resolves when the socket is closed. Idempotent. */
  close(): Promise<void>;
}

/** The address to bind: accepts `::1` as well as `[::1]`. */
export function stripBrackets(host: string): string {
  return host.length > 1 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Wraps an optional error callback so that a failing reporter can never take a listener down. */
export function safeReporter(onError: ((err: unknown) => void) | undefined): (err: unknown) => void {
  return (err) => {
    if (!onError) return;
    try {
      onError(err);
    } catch {
      // a failing error reporter must not take the socket down
    }
  };
}
