/** Stand-ins for the transport tests (udp, udp-batch, tcp): a trivial handler, a minimal query, a UDP exchange. */
import type { Socket } from 'node:dgram';

/** The query with QR (byte 2, bit 0x80) set. */
export function echo(query: Uint8Array): Uint8Array {
  const out = Uint8Array.from(query);
  out[2] = out[2]! | 0x80;
  return out;
}

/** A 12-octet header with ID `id` and QDCOUNT 1, followed by `extra` zero octets. */
export function query(id: number, extra = 0): Buffer {
  const q = Buffer.alloc(12 + extra);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(1, 4);
  return q;
}

/** Sends `msg` and resolves with the first reply, or null after `waitMs`. */
export function ask(s: Socket, msg: Uint8Array, port: number, host: string, waitMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off('message', onMsg);
      resolve(null);
    }, waitMs);
    const onMsg = (m: Buffer): void => {
      clearTimeout(timer);
      s.off('message', onMsg);
      resolve(m);
    };
    s.on('message', onMsg);
    s.send(msg, port, host, (err) => {
      if (err) reject(err);
    });
  });
}
