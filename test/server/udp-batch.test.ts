/**
 * src/server/udp-batch.ts (the optional recvmmsg/sendmmsg addon in native/) over real loopback sockets.
 * The handler echoes the query with QR set, so these tests depend on no DNS code.
 * Skipped, with a note, when the addon is not built (`cd native && npx node-gyp rebuild`).
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { listenUdpBatch, udpBatchAvailable, type UdpBatchOptions } from '../../src/server/udp-batch.js';
import type { Handler, Listener, Remote } from '../../src/server/transport.js';
import { echo, query, ask } from '../support/transport.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function server(handler: Handler, host = '127.0.0.1', more: Partial<UdpBatchOptions> = {}): Promise<Listener> {
  const l = await listenUdpBatch({ host, port: 0, handler, ...more });
  open.push(l);
  return l;
}

function client(v6 = false): Socket {
  const s = createSocket(v6 ? 'udp6' : 'udp4');
  open.push(s);
  return s;
}

describe('listenUdpBatch', () => {
  it('the addon is built (npm test builds it: it needs python3, make and g++)', () => {
    expect(
      udpBatchAvailable(),
      "native/build/Release/udp_batch.node is missing: run `npm run build` and read build-native's message",
    ).toBe(true);
  });

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
    expect(seen).toEqual([{ address: '127.0.0.1', family: 'IPv4', port: c.address().port }]);
  });

  it('answers over udp6 on ::1 (also given as [::1])', async () => {
    for (const host of ['::1', '[::1]']) {
      const seen: Remote[] = [];
      const l = await server((q, _t, remote) => {
        seen.push({ ...remote });
        return remote.family === 'IPv6' ? echo(q) : null;
      }, host);
      expect(l.address.host).toBe('::1');
      const c = client(true);
      const reply = await ask(c, query(7), l.address.port, '::1');
      expect(reply?.readUInt16BE(0)).toBe(7);
      expect(reply![2]! & 0x80).toBe(0x80);
      expect(seen).toEqual([{ address: '::1', family: 'IPv6', port: c.address().port }]);
    }
  });

  it('stays silent when the handler returns null or empty bytes', async () => {
    const l = await server((q) => (q[1] === 1 ? null : q[1] === 3 ? new Uint8Array(0) : echo(q)));
    const c = client();
    expect(await ask(c, query(1), l.address.port, '127.0.0.1', 150)).toBeNull();
    expect(await ask(c, query(3), l.address.port, '127.0.0.1', 150)).toBeNull();
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
      { onError: (e) => errors.push(e) },
    );
    const c = client();
    expect(await ask(c, query(1), l.address.port, '127.0.0.1', 150)).toBeNull();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom');
    expect((await ask(c, query(2), l.address.port, '127.0.0.1'))?.readUInt16BE(0)).toBe(2);
  });

  it('answers a burst of 200 queries sent at once, each to its own sender (several batches)', async () => {
    let calls = 0;
    const l = await server((q) => {
      calls++;
      return echo(q);
    });
    const clients = [client(), client()];
    const got = new Set<string>();
    const all = new Promise<void>((resolve) => {
      clients.forEach((c, ci) =>
        c.on('message', (m) => {
          expect(m[2]! & 0x80).toBe(0x80);
          got.add(`${ci}:${m.readUInt16BE(0)}`);
          if (got.size === 200) resolve();
        }),
      );
    });
    for (let i = 0; i < 200; i++) clients[i % 2]!.send(query(i, i % 7), l.address.port, '127.0.0.1');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
    expect(await Promise.race([all, timeout])).not.toBe('timeout');
    for (let i = 0; i < 200; i++) expect(got.has(`${i % 2}:${i}`)).toBe(true);
    expect(calls).toBe(200);
    const st = (l as Awaited<ReturnType<typeof listenUdpBatch>>).stats();
    expect(st.packets).toBe(200);
    expect(st.batches).toBeLessThan(200); // actually batched
  });

  it('answers more bytes than the shared send buffer holds (fallback send)', async () => {
    // batch 4 -> 8 KiB of send buffer; 6 answers of 3000 bytes overflow it within one batch
    const big = (q: Uint8Array): Uint8Array => {
      const out = new Uint8Array(3000);
      out.set(q);
      out[2] = out[2]! | 0x80;
      return out;
    };
    const l = await server(big, '127.0.0.1', { batch: 4 });
    const c = client();
    const got = new Set<number>();
    const all = new Promise<void>((resolve) =>
      c.on('message', (m) => {
        expect(m.length).toBe(3000);
        got.add(m.readUInt16BE(0));
        if (got.size === 12) resolve();
      }),
    );
    for (let i = 0; i < 12; i++) c.send(query(i), l.address.port, '127.0.0.1');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
    expect(await Promise.race([all, timeout])).not.toBe('timeout');
  });

  it('drops datagrams larger than maxQueryBytes', async () => {
    const l = await server(echo, '127.0.0.1', { maxQueryBytes: 512 });
    const c = client();
    expect(await ask(c, query(1, 600), l.address.port, '127.0.0.1', 150)).toBeNull();
    expect((await ask(c, query(2, 400), l.address.port, '127.0.0.1'))?.length).toBe(412);
  });

  it('can be closed from inside the handler', async () => {
    let l: Listener | null = null;
    let closed: Promise<void> | null = null;
    l = await server((q) => {
      closed = l!.close();
      return echo(q);
    });
    expect(await ask(client(), query(1), l.address.port, '127.0.0.1', 150)).toBeNull();
    await closed;
  });

  it('rejects when the port is taken, and close() frees it and is idempotent', async () => {
    const l = await server(echo);
    await expect(listenUdpBatch({ host: '127.0.0.1', port: l.address.port, handler: echo })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    const first = l.close();
    expect(l.close()).toBe(first);
    await first;
    const l2 = await listenUdpBatch({ host: '127.0.0.1', port: l.address.port, handler: echo });
    open.push(l2);
    expect(l2.address.port).toBe(l.address.port);
  });

  it('can bind 0.0.0.0 and :: side by side on one port', async () => {
    const l4 = await server(echo, '0.0.0.0');
    const l6 = await server(echo, '::', { port: l4.address.port });
    expect(l6.address.port).toBe(l4.address.port);
    expect((await ask(client(true), query(9), l6.address.port, '::1'))?.readUInt16BE(0)).toBe(9);
    expect((await ask(client(), query(8), l4.address.port, '127.0.0.1'))?.readUInt16BE(0)).toBe(8);
  });
});
