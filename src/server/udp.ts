/**
 * DNS over UDP (RFC 1035 §4.2.1): one datagram in, at most one datagram out, bytes only — the handler decides
 * what (and whether) to answer and how large the answer may be.
 *
 * The per-packet path allocates nothing of its own: the 'message' listener and the send callback are created
 * once per socket, and the RemoteInfo dgram already built is handed to the handler as is.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { safeReporter, stripBrackets, type Handler, type ListenOptions, type Listener } from './transport.js';

/** Kernel socket buffers: bursts of queries must not be dropped while the event loop is busy. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP); anything above cannot be sent. */
const MAX_UDP_PAYLOAD = 65507;

/**
 * Binds a UDP socket on `host:port` (port 0: any free port, read back in `address`) and answers each datagram
 * through `handler`. Resolves once bound; rejects on a bind error (EADDRINUSE, EACCES...).
 */
export function listenUdp(opts: ListenOptions): Promise<Listener> {
  const host = stripBrackets(opts.host);
  const v6 = isIPv6(host);
  // ipv6Only: `::` must not also claim the IPv4 wildcard, so `0.0.0.0` and `::` can be bound side by side.
  const socket: Socket = v6 ? createSocket({ type: 'udp6', ipv6Only: true }) : createSocket({ type: 'udp4' });
  const handler: Handler = opts.handler;
  const onError = opts.onError;

  const report = safeReporter(onError);

  // Send errors (EHOSTUNREACH, ENOBUFS, a peer's ICMP port unreachable...) are network weather, not bugs:
  // the answer is lost exactly as if the packet had been dropped on the way. Swallowing them here also keeps
  // dgram from re-emitting them as 'error'.
  const onSent = (): void => {};

  const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    // Source port 0 cannot be answered and is a classic spoofing signature.
    if (rinfo.port === 0) return;
    let out: Uint8Array | null;
    try {
      out = handler(msg, 'udp', rinfo);
    } catch (err) {
      report(err);
      return;
    }
    if (out === null || out.length === 0 || out.length > MAX_UDP_PAYLOAD) return;
    try {
      socket.send(out, rinfo.port, rinfo.address, onSent);
    } catch (err) {
      // Only synchronous argument errors land here (e.g. the socket was closed under us).
      report(err);
    }
  };

  return new Promise<Listener>((resolve, reject) => {
    const onBindError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onBindError);
    socket.once('listening', () => {
      socket.off('error', onBindError);
      socket.on('error', report);
      try {
        socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      } catch {
        // capped or refused by the OS (net.core.rmem_max): the default still works
      }
      try {
        socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
      } catch {
        // as above
      }
      socket.on('message', onMessage);
      const bound = socket.address();
      let closing: Promise<void> | null = null;
      resolve({
        address: { host: bound.address, port: bound.port },
        close(): Promise<void> {
          closing ??= new Promise<void>((done) => {
            socket.off('message', onMessage);
            try {
              socket.close(() => done());
            } catch {
              done(); // already closed
            }
          });
          return closing;
        },
      });
    });
    socket.bind({ port: opts.port, address: host });
  });
}
