/**
 * The sockets: for every `--listen` address one UDP socket (the batched recvmmsg/sendmmsg engine or node:dgram)
 * and one TCP server on the port UDP got (RFC 7766 §5: TCP is served wherever UDP is), and the operator's HTTP
 * endpoint. Each socket is registered with the shutdown as soon as it is open, so a bind failure half way
 * closes the ones opened before it. A bind failure names the address, the transport and what fixes it.
 */
import type { Logger } from '../log.js';
import { listenHttp, type HttpRoutes } from './http.js';
import type { Shutdown } from './shutdown.js';
import { listenTcp } from './tcp.js';
import type { Handler, Listener, StreamHandler } from './transport.js';
import { listenUdp } from './udp.js';
import { listenUdpBatch, udpBatchAvailable } from './udp-batch.js';

/** Parses `ADDR:PORT`, `[V6ADDR]:PORT`. Throws a one-line Error on anything else. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(spec) ?? /^([0-9.]+|localhost):(\d+)$/.exec(spec);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`--listen "${spec}": expected ADDR:PORT or [IPV6]:PORT`);
  return { host: m[1] === 'localhost' ? '127.0.0.1' : m[1]!, port };
}

export interface DnsListenOptions {
  readonly listen: readonly string[];
  readonly udpEngine: 'auto' | 'batch' | 'dgram';
  readonly handler: Handler;
  /** Multi-message answers over TCP (AXFR). */
  readonly stream?: StreamHandler;
  /** Whether an address is a secondary's: it may use the TCP reserve beyond the connection cap (tcp-admission.ts). */
  readonly secondary?: (address: string) => boolean;
  /** TCP connections one client address may hold (tcp-admission.ts); the listener's default when absent. */
  readonly tcpPerSource?: number;
  readonly logger: Logger;
  readonly shutdown: Shutdown;
}

/** Opens UDP and TCP on every address; returns the UDP address of each (its TCP twin has the same port). */
export async function listenDns(o: DnsListenOptions): Promise<{ host: string; port: number }[]> {
  const { logger, handler } = o;
  const useBatch = o.udpEngine === 'batch' || (o.udpEngine === 'auto' && udpBatchAvailable());
  if (o.udpEngine === 'auto' && !useBatch)
    logger.warn('udp-engine', {
      engine: 'dgram',
      reason: 'native batched UDP addon not built (npm run build needs python3, make, g++)',
    });
  const onError = handlerError(logger);
  const addresses: { host: string; port: number }[] = [];
  for (const spec of o.listen) {
    const { host, port } = parseListen(spec);
    const udp = await explained(
      useBatch ? listenUdpBatch({ host, port, handler, onError }) : listenUdp({ host, port, handler, onError }),
      'udp',
      host,
      port,
    );
    register(o.shutdown, udp);
    // TCP on the port UDP got (port 0 picks one for both).
    const tcp = await explained(
      listenTcp({
        host,
        port: udp.address.port,
        handler,
        onError,
        ...(o.stream ? { stream: o.stream } : {}),
        ...(o.secondary ? { secondary: o.secondary } : {}),
        ...(o.tcpPerSource !== undefined ? { maxPerSource: o.tcpPerSource } : {}),
      }),
      'tcp',
      host,
      udp.address.port,
    );
    register(o.shutdown, tcp);
    addresses.push(udp.address);
    logger.info('listening', {
      host,
      port: udp.address.port,
      transports: ['udp', 'tcp'],
      udpEngine: useBatch ? 'batch' : 'dgram',
    });
  }
  return addresses;
}

/** Opens the HTTP endpoint (`--http ADDR:PORT`). */
export async function listenOperator(
  spec: string,
  routes: HttpRoutes,
  logger: Logger,
  shutdown: Shutdown,
): Promise<{ host: string; port: number }> {
  const { host, port } = parseListen(spec);
  const http = await explained(listenHttp(host, port, routes, handlerError(logger)), 'tcp', host, port);
  register(shutdown, http);
  logger.info('listening', { host, port: http.address.port, transports: ['http'], paths: ['/healthz', '/metrics'] });
  return http.address;
}

/** The first port an unprivileged process may bind by default (net.ipv4.ip_unprivileged_port_start). */
const FIRST_UNPRIVILEGED_PORT = 1024;

/**
 * A bind error as the system gave it (`bind EADDRINUSE 127.0.0.1:53`), followed by the address, the transport
 * and the fix: EACCES on a privileged port and EADDRINUSE are the two an operator meets.
 */
async function explained<T>(binding: Promise<T>, transport: 'udp' | 'tcp', host: string, port: number): Promise<T> {
  try {
    return await binding;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const fix =
      code === 'EACCES' && port > 0 && port < FIRST_UNPRIVILEGED_PORT
        ? `port ${port} is privileged: run as root, give the binary CAP_NET_BIND_SERVICE, or lower net.ipv4.ip_unprivileged_port_start`
        : code === 'EADDRINUSE'
          ? `another process listens on ${address} (ss -lunp / ss -ltnp)`
          : code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine`
            : undefined;
    if (fix === undefined || !(e instanceof Error)) throw e;
    const where = e.message.includes(address) ? transport : `${transport} ${address}`;
    const error = new Error(`${e.message} (${where}): ${fix}`) as NodeJS.ErrnoException;
    error.code = code;
    throw error;
  }
}

function register(shutdown: Shutdown, l: Listener): void {
  shutdown.add(() => l.close());
}

function handlerError(logger: Logger): (err: unknown) => void {
  return (err) => logger.error('handler-error', { error: String(err) });
}
