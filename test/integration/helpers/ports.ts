/**
 * Free loopback ports for integration tests. A DNS server needs the same port number on UDP and TCP, so a port
 * counts as free only when both can be bound (on 127.0.0.1, and on ::1 too when asked).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Binds a TCP socket to host:port (0 = any) and returns the bound port after closing it, or null on failure. */
function tryTcp(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const bound = addr !== null && typeof addr === 'object' ? addr.port : null;
      srv.close(() => resolve(bound));
    });
  });
}

function tryUdp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.close(() => resolve(true));
    });
  });
}

export interface FreePortOptions {
  /** Also require the port to be free on ::1 (for servers that listen on both loopback addresses). */
  ipv6?: boolean;
}

/**
 * Picks a port that is currently free for UDP and TCP on 127.0.0.1 (and ::1 with `ipv6`). The kernel chooses it
 * (bind to port 0); nothing holds it afterwards, so start the server soon after.
 */
export async function freePort(opts: FreePortOptions = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryTcp('127.0.0.1', 0);
    if (port === null) continue;
    if (!(await tryUdp('127.0.0.1', port))) continue;
    if (opts.ipv6 === true) {
      if ((await tryTcp('::1', port)) === null) continue;
      if (!(await tryUdp('::1', port))) continue;
    }
    return port;
  }
  throw new Error('freePort: no loopback port free for both UDP and TCP after 50 attempts');
}

/** Several distinct free ports. */
export async function freePorts(count: number, opts: FreePortOptions = {}): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const p = await freePort(opts);
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}
