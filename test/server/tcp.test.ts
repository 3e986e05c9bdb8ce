/**
 * src/server/tcp.ts over real loopback sockets (127.0.0.1 and ::1, port 0): RFC 7766 framing, reassembly,
 * pipelining, idle and per-message timeouts, connection cap, per-source limit, half-close, backpressure and shutdown. The handler is a stand-in
 * that echoes the query with QR set, so these tests depend on no DNS code.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenTcp } from '../../src/server/tcp.js';
import { reserveSize } from '../../src/server/tcp-admission.js';
import type { Handler, Listener, TcpOptions } from '../../src/server/transport.js';
import { echo, query } from '../support/transport.js';
import { delay } from '../support/time.js';

function framed(...msgs: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of msgs) {
    const p = Buffer.alloc(2);
    p.writeUInt16BE(m.length, 0);
    parts.push(p, Buffer.from(m));
  }
  return Buffer.concat(parts);
}

/** A test client that splits the byte stream back into messages. */
class Client {
  readonly messages: Buffer[] = [];
  ended = false;
  closed = false;
  private pending = Buffer.alloc(0);
  private readonly waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.pending = Buffer.concat([this.pending, d]);
      while (this.pending.length >= 2) {
        const n = this.pending.readUInt16BE(0);
        if (this.pending.length < 2 + n) break;
        this.messages.push(this.pending.subarray(2, 2 + n));
        this.pending = this.pending.subarray(2 + n);
      }
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number, host = '127.0.0.1', allowHalfOpen = false, localAddress?: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, allowHalfOpen, ...(localAddress ? { localAddress } : {}) });
      const c = new Client(s);
      clients.push(c);
      s.once('connect', () => resolve(c));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `cond` holds, or rejects after `ms`. */
  until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      check();
    });
  }

  waitMessages(n: number, ms = 2000): Promise<void> {
    return this.until(() => this.messages.length >= n, ms, `${n} messages (have ${this.messages.length})`);
  }

  waitClosed(ms = 2000): Promise<void> {
    return this.until(() => this.closed, ms, 'close');
  }

  ids(): number[] {
    return this.messages.map((m) => m.readUInt16BE(0));
  }
}

const clients: Client[] = [];
const listeners: Listener[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

async function server(handler: Handler, extra: Partial<TcpOptions> = {}): Promise<Listener> {
  const l = await listenTcp({ host: '127.0.0.1', port: 0, handler, ...extra });
  listeners.push(l);
  return l;
}

describe('listenTcp', () => {
  it('answers one framed message and tells the handler it is TCP', async () => {
    const seen: string[] = [];
    const l = await server((q, transport, remote) => {
      seen.push(`${transport} ${remote.family} ${remote.address}`);
      return echo(q);
    });
    expect(l.address.port).toBeGreaterThan(0);
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(0xbeef, 30)));
    await c.waitMessages(1);
    expect(c.messages[0]!.length).toBe(42);
    expect(c.ids()).toEqual([0xbeef]);
    expect(c.messages[0]![2]! & 0x80).toBe(0x80);
    expect(seen).toEqual(['tcp IPv4 127.0.0.1']);
  });

  it('answers over IPv6 on ::1', async () => {
    const l = await listenTcp({ host: '::1', port: 0, handler: (q, _t, r) => (r.family === 'IPv6' ? echo(q) : null) });
    listeners.push(l);
    expect(l.address.host).toBe('::1');
    const c = await Client.open(l.address.port, '::1');
    c.socket.write(framed(query(6)));
    await c.waitMessages(1);
    expect(c.ids()).toEqual([6]);
  });

  it('reassembles a message sent one byte per write', async () => {
    const got: number[] = [];
    const l = await server((q) => {
      got.push(q.length);
      return echo(q);
    });
    const c = await Client.open(l.address.port);
    const bytes = framed(query(42, 8));
    for (const b of bytes) {
      c.socket.write(Buffer.of(b));
      await delay(2);
    }
    await c.waitMessages(1);
    expect(got).toEqual([20]);
    expect(c.ids()).toEqual([42]);
  });

  it('waits on a split length prefix and on a body shorter than declared', async () => {
    const l = await server(echo);
    const c = await Client.open(l.address.port);
    const bytes = framed(query(9, 100));
    c.socket.write(bytes.subarray(0, 1));
    await delay(30);
    c.socket.write(bytes.subarray(1, 20));
    await delay(60);
    expect(c.messages).toHaveLength(0);
    c.socket.write(bytes.subarray(20));
    await c.waitMessages(1);
    expect(c.ids()).toEqual([9]);
    expect(c.messages[0]!.length).toBe(112);
  });

  it('answers 10 pipelined messages from one write, in order', async () => {
    const l = await server(echo);
    const c = await Client.open(l.address.port);
    const ids = Array.from({ length: 10 }, (_, i) => 100 + i);
    c.socket.write(framed(...ids.map((id, i) => query(id, i))));
    await c.waitMessages(10);
    expect(c.ids()).toEqual(ids);
    expect(c.messages.map((m) => m.length)).toEqual(ids.map((_, i) => 12 + i));
  });

  it('keeps order under backpressure (2000 messages, maxPipelined 2)', async () => {
    const l = await server(echo, { maxPipelined: 2 });
    const c = await Client.open(l.address.port);
    const ids = Array.from({ length: 2000 }, (_, i) => i);
    // ~ 1 MB of answers: more than the socket buffers take without waiting for the reader.
    c.socket.write(framed(...ids.map((id) => query(id, 500))));
    await c.waitMessages(2000, 4000);
    expect(c.ids()).toEqual(ids);
  });

  it('stops reading while a client does not read its answers, and carries on when it does', async () => {
    let calls = 0;
    const l = await server((q) => {
      calls++;
      const out = new Uint8Array(4000);
      out.set(q);
      return out;
    });
    const c = await Client.open(l.address.port);
    c.socket.pause();
    const n = 5000; // 20 MB of answers: far beyond what the socket buffers hold
    c.socket.write(framed(...Array.from({ length: n }, (_, i) => query(i))));
    await delay(300);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(n);
    c.socket.resume();
    await c.waitMessages(n, 4000);
    expect(calls).toBe(n);
    expect(c.ids()).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('skips zero-length messages and null answers, and keeps going', async () => {
    const l = await server((q) => (q[1] === 1 ? null : echo(q)));
    const c = await Client.open(l.address.port);
    c.socket.write(Buffer.concat([Buffer.of(0, 0), framed(query(1), query(2)), Buffer.of(0, 0), framed(query(3))]));
    await c.waitMessages(2);
    await delay(50);
    expect(c.ids()).toEqual([2, 3]);
    expect(c.closed).toBe(false);
  });

  it('drops an answer too large to frame, and an empty one', async () => {
    const l = await server((q) => (q[1] === 1 ? new Uint8Array(70_000) : q[1] === 2 ? new Uint8Array(0) : echo(q)));
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(1), query(2), query(3)));
    await c.waitMessages(1);
    await delay(50);
    expect(c.ids()).toEqual([3]);
  });

  it('reports a throwing handler, answers nothing for it, and keeps the connection', async () => {
    const errors: unknown[] = [];
    const l = await server(
      (q) => {
        if (q[1] === 1) throw new Error('boom');
        return echo(q);
      },
      { onError: (e) => errors.push(e) },
    );
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(1), query(2)));
    await c.waitMessages(1);
    expect(c.ids()).toEqual([2]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it('closes an idle connection after idleTimeoutMs; complete messages reset the timer', async () => {
    const l = await server(echo, { idleTimeoutMs: 200 });
    const idle = await Client.open(l.address.port);
    const busy = await Client.open(l.address.port);
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      await delay(120);
      busy.socket.write(framed(query(i)));
    }
    // 360 ms in: the idle one is gone, the busy one is not.
    await idle.waitClosed(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(busy.closed).toBe(false);
    await busy.waitMessages(3);
    await busy.waitClosed(1000);
  });

  it('closes an idle connection that trickles an incomplete message', async () => {
    const l = await server(echo, { idleTimeoutMs: 200 });
    const c = await Client.open(l.address.port);
    const bytes = framed(query(1, 20));
    for (let i = 0; i < 5; i++) {
      c.socket.write(bytes.subarray(i, i + 1));
      await delay(60);
    }
    await c.waitClosed(1000);
    expect(c.messages).toHaveLength(0);
  });

  it('closes connections beyond maxConnections at once when none is idle', async () => {
    const l = await server(echo, { maxConnections: 2 });
    const a = await Client.open(l.address.port);
    const b = await Client.open(l.address.port);
    a.socket.write(framed(query(1)));
    b.socket.write(framed(query(2)));
    await a.waitMessages(1);
    await b.waitMessages(1);
    // Both are busy receiving a query (half of one sent): neither may be closed to make room.
    a.socket.write(framed(query(5)).subarray(0, 6));
    b.socket.write(framed(query(6)).subarray(0, 6));
    await delay(50);
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(3)));
    await c.waitClosed(1000);
    expect(c.messages).toHaveLength(0);
    // A slot frees up when a connection goes away.
    a.socket.destroy();
    await a.waitClosed();
    await delay(50);
    const d = await Client.open(l.address.port);
    d.socket.write(framed(query(4)));
    await d.waitMessages(1);
    expect(d.ids()).toEqual([4]);
  });

  it('answers everything a client sent before its half-close, then closes', async () => {
    const l = await server(echo);
    const c = await Client.open(l.address.port, '127.0.0.1', true);
    c.socket.end(framed(query(1), query(2), query(3)));
    await c.until(() => c.ended, 2000, 'server FIN');
    expect(c.ids()).toEqual([1, 2, 3]);
    await c.waitClosed();
  });

  it('answers a half-closed client even when its answers were held back', async () => {
    const l = await server(echo, { maxPipelined: 1 });
    const c = await Client.open(l.address.port, '127.0.0.1', true);
    const ids = Array.from({ length: 200 }, (_, i) => i);
    c.socket.end(framed(...ids.map((id) => query(id, 200))));
    await c.until(() => c.ended, 3000, 'server FIN');
    expect(c.ids()).toEqual(ids);
  });

  it('close() resolves with connections open, drops them, and stops accepting', async () => {
    const l = await listenTcp({ host: '127.0.0.1', port: 0, handler: echo });
    const a = await Client.open(l.address.port);
    const b = await Client.open(l.address.port);
    b.socket.write(framed(query(1)).subarray(0, 5)); // mid-message
    await delay(20);
    const first = l.close();
    expect(l.close()).toBe(first);
    await first;
    await a.waitClosed();
    await b.waitClosed();
    await expect(Client.open(l.address.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects when the port is taken', async () => {
    const l = await server(echo);
    await expect(listenTcp({ host: '127.0.0.1', port: l.address.port, handler: echo })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });

  it('does not report or crash on a client reset', async () => {
    const errors: unknown[] = [];
    const l = await server(echo, { onError: (e) => errors.push(e) });
    const c = await Client.open(l.address.port);
    c.socket.write(framed(...Array.from({ length: 50 }, (_, i) => query(i, 1000))));
    c.socket.resetAndDestroy();
    await c.waitClosed();
    const d = await Client.open(l.address.port);
    d.socket.write(framed(query(7)));
    await d.waitMessages(1);
    expect(errors).toEqual([]);
  });
});

describe('listenTcp: a full listener (tcp-admission.ts)', () => {
  /** A client from `local` (any 127.0.0.0/8 address is this host's on Linux). */
  const from = (port: number, local: string): Promise<Client> => Client.open(port, '127.0.0.1', false, local);
  /** Resolves once the server has answered one query on `c` (the connection is set up and idle again). */
  const settle = async (c: Client, id: number): Promise<void> => {
    c.socket.write(framed(query(id)));
    await c.until(() => c.ids().includes(id) || c.closed, 2000, `answer ${id}`);
  };

  it('the reserve is 10% of the cap, at least 4', () => {
    expect(reserveSize(2)).toBe(4);
    expect(reserveSize(40)).toBe(4);
    expect(reserveSize(512)).toBe(52);
    expect(reserveSize(1000)).toBe(100);
    expect(reserveSize(0)).toBe(0);
  });

  it('a secondary gets in beyond the cap without closing anyone; others only up to the cap', async () => {
    const asked: string[] = [];
    const l = await server(echo, {
      maxConnections: 2,
      secondary: (a) => (asked.push(a), a === '127.0.0.9'),
    });
    // Two busy connections (a query half received) fill the cap.
    const busy = [await from(l.address.port, '127.0.0.2'), await from(l.address.port, '127.0.0.3')];
    for (const c of busy) c.socket.write(framed(query(1)).subarray(0, 5));
    await delay(50);
    expect(asked).toEqual([]); // asked only once the cap is reached
    const other = await from(l.address.port, '127.0.0.4');
    await other.waitClosed(1000);
    expect(other.messages).toHaveLength(0);
    // The reserve: 4 connections of the secondary, all answered; the two busy ones stay.
    const sec: Client[] = [];
    for (let i = 0; i < reserveSize(2); i++) {
      const c = await from(l.address.port, '127.0.0.9');
      c.socket.write(framed(query(100 + i)).subarray(0, 5)); // busy as well: none of these can be closed
      sec.push(c);
    }
    for (let i = 0; i < sec.length; i++) {
      sec[i]!.socket.write(framed(query(100 + i)).subarray(5));
      sec[i]!.socket.write(framed(query(200 + i)).subarray(0, 5));
      await sec[i]!.waitMessages(1);
    }
    expect(sec.map((c) => c.ids()[0])).toEqual([100, 101, 102, 103]);
    // Cap and reserve full, everyone busy: a further secondary connection is closed at once too.
    const more = await from(l.address.port, '127.0.0.9');
    await more.waitClosed(1000);
    expect(more.messages).toHaveLength(0);
    expect(busy.some((c) => c.closed)).toBe(false);
    expect(sec.some((c) => c.closed)).toBe(false);
    expect(asked).toContain('127.0.0.4');
    expect(asked).toContain('127.0.0.9');
  });

  it('at the cap, a newcomer closes the connection idle the longest and is answered', async () => {
    const l = await server(echo, { maxConnections: 2 });
    const a = await from(l.address.port, '127.0.0.2');
    const b = await from(l.address.port, '127.0.0.3');
    await settle(a, 1);
    await delay(30);
    await settle(b, 2); // b was active last: a has been idle the longest
    const c = await from(l.address.port, '127.0.0.4');
    await settle(c, 3);
    expect(c.ids()).toEqual([3]);
    await a.waitClosed(1000);
    expect(b.closed).toBe(false);
    await settle(b, 4);
    expect(b.ids()).toEqual([2, 4]);
    // The next newcomer closes b now (c answered after it), not c.
    await delay(30);
    await settle(c, 5);
    const d = await from(l.address.port, '127.0.0.5');
    await settle(d, 6);
    await b.waitClosed(1000);
    expect(c.closed).toBe(false);
  });

  it('one address holds at most maxPerSource connections; others and secondaries still get in', async () => {
    const l = await server(echo, { maxPerSource: 3, secondary: (a) => a === '127.0.0.9' });
    const mine: Client[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await from(l.address.port, '127.0.0.2');
      await settle(c, i);
      mine.push(c);
    }
    const fourth = await from(l.address.port, '127.0.0.2');
    await fourth.waitClosed(1000);
    expect(fourth.messages).toHaveLength(0);
    // Another source, and a secondary past the limit, are answered; no connection of 127.0.0.2 was closed.
    const other = await from(l.address.port, '127.0.0.3');
    await settle(other, 10);
    expect(other.ids()).toEqual([10]);
    for (let i = 0; i < 4; i++) {
      const c = await from(l.address.port, '127.0.0.9');
      await settle(c, 20 + i);
      expect(c.ids()).toEqual([20 + i]);
    }
    expect(mine.some((c) => c.closed)).toBe(false);
    // A closed connection gives its address a slot back.
    mine[0]!.socket.destroy();
    await mine[0]!.waitClosed();
    await delay(50);
    const again = await from(l.address.port, '127.0.0.2');
    await settle(again, 30);
    expect(again.ids()).toEqual([30]);
  });

  it('maxPerSource 0 is no limit', async () => {
    const l = await server(echo, { maxPerSource: 0 });
    const cs: Client[] = [];
    for (let i = 0; i < 80; i++) cs.push(await from(l.address.port, '127.0.0.2'));
    for (const [i, c] of cs.entries()) await settle(c, i);
    expect(cs.filter((c) => c.closed)).toHaveLength(0);
  });

  it('the default per-source limit is 64', async () => {
    const l = await server(echo);
    const cs: Client[] = [];
    for (let i = 0; i < 65; i++) cs.push(await from(l.address.port, '127.0.0.2'));
    await cs[64]!.waitClosed(1000);
    for (const [i, c] of cs.slice(0, 64).entries()) await settle(c, i);
    expect(cs.slice(0, 64).filter((c) => c.closed)).toHaveLength(0);
  });

  it('a message must arrive whole within messageTimeoutMs of its first octet; gaps between messages are idle time', async () => {
    const l = await server(echo, { idleTimeoutMs: 5000, messageTimeoutMs: 150 });
    const slow = await Client.open(l.address.port);
    const steady = await Client.open(l.address.port);
    const started = Date.now();
    slow.socket.write(framed(query(1, 40)).subarray(0, 10));
    for (let i = 0; i < 3; i++) {
      steady.socket.write(framed(query(i)));
      await delay(120);
    }
    await slow.waitClosed(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(slow.messages).toHaveLength(0);
    // Whole messages 120 ms apart, in pieces delivered within the limit: never closed.
    const bytes = framed(query(7, 40));
    steady.socket.write(bytes.subarray(0, 3));
    await delay(60);
    steady.socket.write(bytes.subarray(3));
    await steady.waitMessages(4);
    expect(steady.closed).toBe(false);
  });

  it('never closes a connection mid-transfer to make room', async () => {
    const n = 1000; // 16 MB: the transfer is still being written while the reader is paused
    const l = await server(echo, {
      maxConnections: 1,
      stream: (q) =>
        q[1] === 1
          ? (function* () {
              for (let i = 0; i < n; i++) {
                const m = new Uint8Array(16 * 1024);
                m[0] = i >> 8;
                m[1] = i & 0xff;
                yield m;
              }
            })()
          : null,
    });
    const xfr = await from(l.address.port, '127.0.0.2');
    xfr.socket.pause();
    xfr.socket.write(framed(query(1)));
    await delay(200);
    const c = await from(l.address.port, '127.0.0.3');
    await c.waitClosed(1000);
    expect(c.messages).toHaveLength(0);
    xfr.socket.resume();
    await xfr.waitMessages(n, 15_000);
    expect(xfr.closed).toBe(false);
  }, 20_000);

  it('asks who is a secondary at each connection, so a changed list applies at once', async () => {
    const secondaries = new Set<string>();
    const l = await server(echo, { maxConnections: 1, secondary: (a) => secondaries.has(a) });
    const a = await from(l.address.port, '127.0.0.2');
    a.socket.write(framed(query(1)).subarray(0, 5)); // busy
    await delay(50);
    const refused = await from(l.address.port, '127.0.0.7');
    await refused.waitClosed(1000);
    secondaries.add('127.0.0.7');
    const admitted = await from(l.address.port, '127.0.0.7');
    await settle(admitted, 2);
    expect(admitted.ids()).toEqual([2]);
    expect(a.closed).toBe(false);
  });

  it('a throwing secondary() is reported and counts as no', async () => {
    const errors: unknown[] = [];
    const l = await server(echo, {
      maxConnections: 1,
      onError: (e) => errors.push(e),
      secondary: () => {
        throw new Error('boom');
      },
    });
    const a = await from(l.address.port, '127.0.0.2');
    a.socket.write(framed(query(1)).subarray(0, 5));
    await delay(50);
    const b = await from(l.address.port, '127.0.0.3');
    await b.waitClosed(1000);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
  });
});

describe('listenTcp: multi-message answers (stream, as AXFR uses)', () => {
  /** A stream of `n` messages of 16 KiB, numbered in their first two octets; `made` counts those produced. */
  function numbered(n: number, counter: { made: number; ended?: boolean }): Iterable<Uint8Array> {
    return (function* () {
      try {
        for (let i = 0; i < n; i++) {
          counter.made++;
          const m = new Uint8Array(16 * 1024);
          m[0] = i >> 8;
          m[1] = i & 0xff;
          yield m;
        }
      } finally {
        counter.ended = true; // run by the last next() or by return(): the producer knows it is over
      }
    })();
  }

  it('produces messages only as fast as the client reads (backpressure), in order, then answers what follows', async () => {
    const counter = { made: 0 };
    const n = 1000; // 16 MB: far beyond what the socket buffers hold
    const l = await server(echo, {
      stream: (q) => (((q[0]! << 8) | q[1]!) === 1 ? numbered(n, counter) : null),
    });
    const c = await Client.open(l.address.port);
    c.socket.pause();
    // The transfer, then a plain query pipelined behind it: answered only after the last message.
    c.socket.write(framed(query(1), query(2)));
    await delay(300);
    expect(counter.made).toBeGreaterThan(0);
    expect(counter.made).toBeLessThan(n);
    c.socket.resume();
    await c.waitMessages(n + 1, 15_000);
    expect(c.ids()).toEqual([...Array.from({ length: n }, (_, i) => i), 2]);
  }, 20_000);

  it('the idle timeout does not cut a transfer that is moving, however long it takes', async () => {
    const counter = { made: 0 };
    const n = 1000;
    const l = await server(echo, { idleTimeoutMs: 500, stream: () => numbered(n, counter) });
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(1)));
    // A slow reader: 150 ms pauses, about 2 s in all, far longer than the 500 ms idle timeout.
    for (let i = 0; i < 12 && !c.closed; i++) {
      c.socket.pause();
      await delay(150);
      c.socket.resume();
      await delay(10);
    }
    await c.until(() => c.messages.length >= n || c.closed, 15_000, 'the whole transfer or a close');
    expect(c.messages).toHaveLength(n);
    // Once the transfer is over, an idle connection is closed as before.
    await c.waitClosed(2000);
  }, 20_000);

  it('a client that stops reading during a transfer is closed after the idle timeout; the stream is ended', async () => {
    const counter: { made: number; ended?: boolean } = { made: 0 };
    const n = 1000;
    const l = await server(echo, { idleTimeoutMs: 300, stream: () => numbered(n, counter) });
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(1)));
    await c.waitMessages(1);
    // It stops reading: the socket buffers fill, no write completes, no 'drain' comes. (Its own socket would
    // see the server's FIN only after the data before it, so it reads again later to find out.)
    c.socket.pause();
    await delay(1500);
    const made = counter.made;
    expect(made).toBeLessThan(n);
    c.socket.resume();
    await c.waitClosed(5000);
    // What was written before the cut arrives, then the close: the transfer was not finished.
    expect(counter.made).toBe(made);
    expect(c.messages.length).toBeLessThan(n);
    // The producer was closed (return()): a transfer counter in it sees an unfinished transfer.
    expect(counter.ended).toBe(true);
  }, 15_000);

  it('gives the event loop a turn between messages (UDP answers go on during a transfer)', async () => {
    // Node emits 'drain' on the next tick when a write completed at once, as it does on loopback until the
    // kernel's buffers are full (megabytes): without a turn between messages, a transfer of a large zone
    // would hold the event loop, and every UDP query, for as long as those buffers take to fill.
    const n = 200;
    let turns = 0;
    let done = false;
    const spin = (): void => {
      turns++;
      if (!done) setImmediate(spin);
    };
    const turnOf: number[] = [];
    const l = await server(echo, {
      stream: () =>
        (function* () {
          for (let i = 0; i < n; i++) {
            turnOf.push(turns);
            yield new Uint8Array(16 * 1024);
          }
        })(),
    });
    const c = await Client.open(l.address.port);
    spin();
    c.socket.write(framed(query(1)));
    await c.waitMessages(n, 15_000);
    done = true;
    // The most messages made without a turn of the event loop in between.
    let run = 1;
    let longest = 1;
    for (let i = 1; i < n; i++) {
      run = turnOf[i] === turnOf[i - 1] ? run + 1 : 1;
      longest = Math.max(longest, run);
    }
    expect(longest).toBeLessThanOrEqual(4);
  }, 20_000);

  it('a stream that throws half way closes the connection (a cut transfer is never taken for a whole one)', async () => {
    const errors: unknown[] = [];
    const l = await server(echo, {
      onError: (e) => errors.push(e),
      stream: () =>
        (function* () {
          yield new Uint8Array(100);
          throw new Error('boom');
        })(),
    });
    const c = await Client.open(l.address.port);
    c.socket.write(framed(query(1)));
    await c.waitClosed();
    expect(String(errors[0])).toContain('boom');
  });
});
