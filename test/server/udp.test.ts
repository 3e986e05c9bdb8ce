/**
 * src/server/udp.ts over real loopback sockets (127.0.0.1 and ::1, port 0). The handler is a stand-in that
 * echoes the query with QR set, so these tests depend on no DNS code.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { listenUdp } from '../../src/server/udp.js';
import type { Handler, Listener, Remote } from '../../src/server/transport.js';
import { echo, query, ask } from '../support/transport.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function server(handler: Handler, host = '127.0.0.1', onError?: (e: unknown) => void): Promise<Listener> {
  const l = await listenUdp({ host, port: 0, handler, ...(onError ? { onError } : {}) });
  open.push(l);
  return l;
}

function client(v6 = false): Socket {
  const s = createSocket(v6 ? 'udp6' : 'udp4');
  open.push(s);
  return s;
}

describe('listenUdp', () => {
  it('answers over udp4 and reports the sender to the handler', async () => {
    const seen: Remote[] = [];
    const l = await server((q, transport, remote) => {
      expect(transport).toBe('udp');
      seen.push({ ...remote });
      return echo(q);
    });
    expect(l.address.host).toBe('127.0.0.1');
    expect(l.address.port).toBeGreaterThan(0);
    const c = client();
    const reply = await ask(c, query(0x1234, 20), l.address.port, '127.0.0.1');
    expect(reply).not.toBeNull();
    expect(reply!.length).toBe(32);
    expect(reply!.readUInt16BE(0)).toBe(0x1234);
    expect(reply![2]! & 0x80).toBe(0x80);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ address: '127.0.0.1', family: 'IPv4', port: c.address().port });
  });

  it('answers over udp6 on ::1 (also given as [::1])', async () => {
    for (const host of ['::1', '[::1]']) {
      const l = await server((q, _t, remote) => (remote.family === 'IPv6' ? echo(q) : null), host);
      expect(l.address.host).toBe('::1');
      const reply = await ask(client(true), query(7), l.address.port, '::1');
      expect(reply?.readUInt16BE(0)).toBe(7);
      expect(reply![2]! & 0x80).toBe(0x80);
    }
  });

  it('stays silent when the handler returns null', async () => {
    const l = await server((q) => (q[1] === 1 ? null : echo(q)));
    const c = client();
    expect(await ask(c, query(1), l.address.port, '127.0.0.1', 150)).toBeNull();
    expect((await ask(c, query(2), l.address.port, '127.0.0.1'))?.readUInt16BE(0)).toBe(2);
  });

  it('stays silent when the handler throws, reports it, and keeps answering', async () => {
    const errors: unknown[] = [];
    const l = await server(
      (q) => {
        if (q[1] === 1) throw new Error('boom');
        return echo(q);
      },
      '127.0.0.1',
      (e) => errors.push(e),
    );
    const c = client();
    expect(await ask(c, query(1), l.address.port, '127.0.0.1', 150)).toBeNull();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom');
    expect((await ask(c, query(2), l.address.port, '127.0.0.1'))?.readUInt16BE(0)).toBe(2);
  });

  it('survives an onError that throws', async () => {
    const l = await server(
      () => {
        throw new Error('boom');
      },
      '127.0.0.1',
      () => {
        throw new Error('reporter broke too');
      },
    );
    expect(await ask(client(), query(1), l.address.port, '127.0.0.1', 100)).toBeNull();
  });

  it('drops an empty answer', async () => {
    const l = await server(() => new Uint8Array(0));
    expect(await ask(client(), query(1), l.address.port, '127.0.0.1', 100)).toBeNull();
  });

  it('rejects when the port is taken, and close() frees it and is idempotent', async () => {
    const l = await server(echo);
    await expect(listenUdp({ host: '127.0.0.1', port: l.address.port, handler: echo })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    const first = l.close();
    expect(l.close()).toBe(first);
    await first;
    const l2 = await listenUdp({ host: '127.0.0.1', port: l.address.port, handler: echo });
    open.push(l2);
    expect(l2.address.port).toBe(l.address.port);
  });
});
