/**
 * src/server/udp-batch.ts (the optional recvmmsg/sendmmsg addon in native/) over real loopback sockets, and the
 * addon's own contract (sendOne only inside a batch, errors thrown as node:dgram throws them).
 * The handler echoes the query with QR set, so these tests depend on no DNS code.
 * Skipped, with a note, when the addon is not built (`cd native && npx node-gyp rebuild`).
 */
import { createSocket, type Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
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

/** The addon as udp-batch.ts sees it (native/udp_batch.c), for what the module does not expose. */
interface RawAddon {
  open(
    host: string,
    port: number,
    family: number,
    batch: number,
    inSlot: number,
    outCap: number,
    mode: number,
    onBatch: unknown,
  ): { handle: unknown; port: number; in: ArrayBuffer; meta: ArrayBuffer };
  sendOne(handle: unknown, index: number, bytes: Uint8Array): boolean;
  stats(handle: unknown): number[];
  close(handle: unknown, done?: unknown): void;
}

const rawAddon = (): RawAddon =>
  createRequire(import.meta.url)('../../native/build/Release/udp_batch.node') as RawAddon;

/** The error node:dgram gives for binding `host:port`, the yardstick for the addon's own. */
async function dgramBindError(host: string, port: number): Promise<NodeJS.ErrnoException> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    return await new Promise((resolve, reject) => {
      s.once('error', resolve);
      s.bind(port, host, () => reject(new Error(`dgram could bind ${host}:${port}`)));
    });
  } finally {
    s.close();
  }
}

describe('the udp_batch addon', () => {
  it('sendOne throws outside the batch callback and beyond the batch, and the engine keeps answering', async () => {
    const addon = rawAddon();
    const inside: unknown[] = [];
    let srv: ReturnType<RawAddon['open']> | null = null;
    let throwInside = false;
    const onBatch = (count: number): void => {
      const meta = new Int32Array(srv!.meta);
      try {
        addon.sendOne(srv!.handle, count, new Uint8Array(12));
      } catch (e) {
        inside.push(e);
      }
      if (throwInside) addon.sendOne(srv!.handle, count + 7, new Uint8Array(12)); // escapes: counted as jsErrors
      for (let i = 0; i < count; i++) {
        const len = meta[i * 8]!;
        if (len >= 0) expect(addon.sendOne(srv!.handle, i, echo(new Uint8Array(srv!.in, i * 4096, len)))).toBe(true);
      }
    };
    srv = addon.open('127.0.0.1', 0, 4, 8, 4096, 8192, 0, onBatch);
    const handle = srv.handle;
    open.push({ close: () => new Promise<void>((done) => addon.close(handle, done)) });
    expect(() => addon.sendOne(handle, 0, new Uint8Array(12))).toThrow(/outside the batch callback/);
    const c = client();
    expect((await ask(c, query(1), srv.port, '127.0.0.1'))?.readUInt16BE(0)).toBe(1);
    expect(inside).toHaveLength(1);
    expect(inside[0]).toBeInstanceOf(RangeError);
    expect((inside[0] as Error).message).toBe('udp_batch.sendOne: datagram 1 is beyond this batch of 1');
    expect(() => addon.sendOne(handle, 0, new Uint8Array(12))).toThrow(/outside the batch callback/);
    throwInside = true;
    expect(await ask(c, query(2), srv.port, '127.0.0.1', 150)).toBeNull(); // the exception cost the batch's answer
    throwInside = false;
    expect((await ask(c, query(3), srv.port, '127.0.0.1'))?.readUInt16BE(0)).toBe(3);
    const [batches, packets, , sendErrors, , jsErrors, napiErrors] = addon.stats(handle);
    expect({ batches, packets, sendErrors, jsErrors, napiErrors }).toEqual({
      batches: 3,
      packets: 3,
      sendErrors: 0,
      jsErrors: 1,
      napiErrors: 0,
    });
  });

  it('throws a TypeError for arguments of the wrong type instead of reading them as something else', () => {
    const addon = rawAddon();
    expect(() => addon.open('127.0.0.1', '53' as unknown as number, 4, 8, 4096, 8192, 0, () => {})).toThrow(
      new TypeError('udp_batch.open: bad arguments'),
    );
    expect(() => addon.open(53 as unknown as string, 0, 4, 8, 4096, 8192, 0, () => {})).toThrow(TypeError);
    expect(() => addon.open('127.0.0.1', 0, 4, 8, 4096, 8192, 0, 'cb')).toThrow(RangeError);
    for (const notHandle of [{}, null, 42]) {
      expect(() => addon.stats(notHandle)).toThrow(new TypeError('udp_batch: not a server handle'));
      expect(() => addon.close(notHandle)).toThrow(new TypeError('udp_batch: not a server handle'));
      expect(() => addon.sendOne(notHandle, 0, new Uint8Array(12))).toThrow(TypeError);
    }
    const srv = addon.open('127.0.0.1', 0, 4, 8, 4096, 8192, 0, () => {});
    expect(() => addon.close(srv.handle, 'not a function')).toThrow(TypeError);
    return new Promise<void>((done) => addon.close(srv.handle, done));
  });

  it('leaves the measurement-only modes out of the production build', async () => {
    for (const mode of ['array', 'native'] as const) {
      await expect(listenUdpBatch({ host: '127.0.0.1', port: 0, handler: echo, mode })).rejects.toThrow(
        /measurement-only/,
      );
    }
    expect(() => rawAddon().open('127.0.0.1', 0, 4, 8, 4096, 8192, 3, () => {})).toThrow(RangeError);
  });

  it('reports a port in use as node:dgram does: bind EADDRINUSE with the address (udp4 and udp6)', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const l = await server(echo, host);
      const port = l.address.port;
      const err = (await listenUdpBatch({ host, port, handler: echo }).then(
        (l2) => {
          open.push(l2);
          return new Error('bound twice');
        },
        (e: unknown) => e,
      )) as NodeJS.ErrnoException;
      expect(err.message).toBe(`bind EADDRINUSE ${host}:${port}`);
      expect(err).toMatchObject({ code: 'EADDRINUSE', errno: -constants.errno.EADDRINUSE, syscall: 'bind', port });
      const theirs = await dgramBindError(host, port);
      const fields = (e: NodeJS.ErrnoException): unknown => ({
        name: e.name,
        message: e.message,
        code: e.code,
        errno: e.errno,
        syscall: e.syscall,
        address: (e as { address?: string }).address,
        port: (e as { port?: number }).port,
      });
      expect(fields(err)).toEqual(fields(theirs));
    }
  });
});
