/**
 * src/server/listeners.ts over real loopback sockets (port 0): every address gets UDP and TCP on one port,
 * every socket is closed by the shutdown, also when a bind fails half way; and the --listen syntax.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { listenDns, listenOperator, parseListen } from '../../src/server/listeners.js';
import { Shutdown } from '../../src/server/shutdown.js';
import { ask, echo, query } from '../support/transport.js';

const logger = createLogger({ write: () => {} });
const shutdowns: Shutdown[] = [];
afterEach(async () => {
  await Promise.all(shutdowns.splice(0).map((s) => s.close()));
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const tcpOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });

describe('parseListen', () => {
  it('takes ADDR:PORT, [V6]:PORT and localhost; refuses the rest', () => {
    expect(parseListen('127.0.0.1:53')).toEqual({ host: '127.0.0.1', port: 53 });
    expect(parseListen('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseListen('localhost:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(() => parseListen('::1:53')).toThrow('expected ADDR:PORT or [IPV6]:PORT');
    expect(() => parseListen('127.0.0.1:65536')).toThrow('--listen "127.0.0.1:65536"');
  });
});

describe('listenDns', () => {
  it('answers over UDP on each address, TCP takes the same port, and the shutdown closes both', async () => {
    const shutdown = new Shutdown();
    shutdowns.push(shutdown);
    const addresses = await listenDns({
      listen: ['127.0.0.1:0', '127.0.0.1:0'],
      udpEngine: 'dgram',
      handler: (q) => echo(q),
      logger,
      shutdown,
    });
    expect(addresses).toHaveLength(2);
    const c = createSocket('udp4');
    try {
      for (const a of addresses) expect(await ask(c, query(7, 20), a.port, '127.0.0.1')).not.toBeNull();
    } finally {
      c.close();
    }
    for (const a of addresses) expect(await tcpOpen(a.port)).toBe(true);
    await shutdown.close();
    for (const a of addresses) expect(await tcpOpen(a.port)).toBe(false);
  });

  it('a bind failure half way rejects, and the shutdown closes what was opened before it', async () => {
    const blocker = createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()));
    const taken = blocker.address().port;
    const shutdown = new Shutdown();
    shutdowns.push(shutdown);
    const opened: number[] = [];
    const log = createLogger({
      write: (l) => {
        const o = JSON.parse(l);
        if (o.event === 'listening') opened.push(o.port);
      },
    });
    try {
      await expect(
        listenDns({
          listen: ['127.0.0.1:0', `127.0.0.1:${taken}`],
          udpEngine: 'dgram',
          handler: echo,
          logger: log,
          shutdown,
        }),
      ).rejects.toThrow();
      expect(opened).toHaveLength(1);
      expect(await tcpOpen(opened[0]!)).toBe(true);
      await shutdown.close();
      expect(await tcpOpen(opened[0]!)).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

describe('listenOperator', () => {
  it('serves the routes and is closed by the shutdown', async () => {
    const shutdown = new Shutdown();
    shutdowns.push(shutdown);
    const a = await listenOperator(
      '127.0.0.1:0',
      { health: () => ({ ok: false, reasons: ['zone x. is not signed'] }), metrics: () => 'm 1\n' },
      logger,
      shutdown,
    );
    const r = await fetch(`http://127.0.0.1:${a.port}/healthz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe('zone x. is not signed\n');
    await shutdown.close();
    expect(await tcpOpen(a.port)).toBe(false);
  });
});
