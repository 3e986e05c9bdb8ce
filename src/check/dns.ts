/**
 * A minimal stub DNS client for `dane-ns check`: one question over UDP (EDNS 1232, DO set), retried once,
 * then over TCP when the answer is truncated. Uses the server's own wire codec.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { decodeMessage, encodeQuery, type Message } from '../wire/message.js';
import { FLAG_TC } from '../wire/header.js';
import type { Name } from '../wire/name.js';

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

/** One datagram exchange: the first answer with the query's ID, else an error after `timeoutMs`. */
export function udpExchange(server: DnsServer, query: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no answer from ${server.host}:${server.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('message', (msg) => {
      if (msg.length < 2 || msg.readUInt16BE(0) !== ((query[0]! << 8) | query[1]!)) return;
      clearTimeout(timer);
      sock.close();
      resolve(new Uint8Array(msg));
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.send(query, server.port, server.host);
  });
}

function tcpExchange(server: DnsServer, query: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const fail = (e: Error): void => {
      s.destroy();
      reject(e);
    };
    s.setTimeout(timeoutMs, () =>
      fail(new Error(`TCP to ${server.host}:${server.port}: no answer within ${timeoutMs} ms`)),
    );
    s.on('error', fail);
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      s.write(Buffer.concat([len, query]));
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
  });
}

/**
 * Asks `server` one question with DO set (and RD with `rd`, for a recursive resolver); throws a one-line Error
 * when there is no usable answer.
 */
export async function dnsQuery(
  server: DnsServer,
  name: Name,
  type: number,
  timeoutMs = 2000,
  rd = false,
): Promise<Message> {
  const query = encodeQuery(name, type, { id: randomInt(0, 65536), rd, edns: { udpSize: 1232, dnssecOk: true } });
  let raw: Uint8Array;
  try {
    raw = await udpExchange(server, query, timeoutMs);
  } catch {
    raw = await udpExchange(server, query, timeoutMs);
  }
  let msg = decodeMessage(raw);
  if (msg.flags & FLAG_TC) msg = decodeMessage(await tcpExchange(server, query, timeoutMs));
  return msg;
}
