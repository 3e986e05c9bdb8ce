/**
 * One SOA question to a watched server (watch-poll.ts): the zone's SOA over UDP, again over TCP when the answer
 * is truncated (RFC 1035 §4.2.1, RFC 7766 §5), TSIG-signed when the server's entry names a key (RFC 8945 §5.1)
 * and then only taken when the answer's TSIG verifies against the request's MAC (§5.3). Resolves to the serial
 * of the SOA in the answer (RFC 1035 §3.3.13); rejects with a one-line reason.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { signMessage, verify, type KeyLookup } from '../dnssec/tsig.js';
import { FLAG_TC } from '../wire/header.js';
import { decodeMessage, encodeQuery, fullRcode } from '../wire/message.js';
import { nameEquals, parseName, ROOT, type Name } from '../wire/name.js';
import { rcodeToText, RCODE, T } from '../wire/types.js';
import { soaSerial } from '../zone/build.js';
import type { NotifyTarget } from '../zone/settings.js';

/** The smallest SOA rdata: two root names and five 32-bit fields (RFC 1035 §3.3.13). */
const MIN_SOA_RDATA = 22;

/** Sends one query and resolves to its answer's bytes (the transport of askSoa; tests replace it). */
export type Exchange = (
  target: NotifyTarget,
  query: Uint8Array,
  transport: 'udp' | 'tcp',
  timeoutMs: number,
) => Promise<Uint8Array>;

/** The serial `target` serves for `zone`, asked at `nowMs`. */
export async function askSoa(
  target: NotifyTarget,
  zone: Name,
  lookup: KeyLookup,
  nowMs: number,
  timeoutMs: number,
  exchange: Exchange = nodeExchange,
): Promise<number> {
  let query = encodeQuery(zone, T.SOA, { id: randomInt(0x10000) });
  let mac: Uint8Array | null = null;
  if (target.key !== undefined) {
    const key = lookup(parseName(target.key, ROOT));
    if (!key) throw new Error(`no TSIG key "${target.key}"`);
    const s = signMessage(query, key, { time: Math.floor(nowMs / 1000) });
    query = s.bytes;
    mac = s.mac;
  }
  let raw = await exchange(target, query, 'udp', timeoutMs);
  if (raw.length >= 4 && ((raw[2]! << 8) | raw[3]!) & FLAG_TC) raw = await exchange(target, query, 'tcp', timeoutMs);
  const msg = decodeMessage(raw);
  const rcode = fullRcode(msg);
  if (rcode !== RCODE.NOERROR) throw new Error(`answered ${rcodeToText(rcode)}`);
  if (mac) {
    const v = verify(raw, lookup, Math.floor(nowMs / 1000), { chain: { mac } });
    if (!v.ok) throw new Error(`its answer's TSIG does not verify: ${v.reason}`);
  }
  const soa = msg.answer.find((r) => r.type === T.SOA && nameEquals(r.name, zone));
  if (!soa || soa.rdata.length < MIN_SOA_RDATA) throw new Error('no SOA of the zone in its answer');
  return soaSerial(soa.rdata);
}

/** The exchange over node's sockets: the first datagram with the query's ID, or one length-prefixed message. */
export const nodeExchange: Exchange = (target, query, transport, timeoutMs) =>
  new Promise((resolve, reject) => {
    const where = `${target.address}#${target.port}`;
    const id = (query[0]! << 8) | query[1]!;
    if (transport === 'udp') {
      const sock = createSocket(target.address.includes(':') ? 'udp6' : 'udp4');
      const done = (e: Error | null, m?: Uint8Array): void => {
        clearTimeout(timer);
        sock.close();
        if (e) reject(e);
        else resolve(m!);
      };
      const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      sock.on('message', (m) => {
        if (m.length >= 2 && m.readUInt16BE(0) === id) done(null, new Uint8Array(m));
      });
      sock.on('error', (e) => done(e));
      sock.send(query, target.port, target.address);
      return;
    }
    const s = connect({ host: target.address, port: target.port });
    let buf = Buffer.alloc(0);
    const fail = (e: Error): void => {
      s.destroy();
      reject(e);
    };
    s.setTimeout(timeoutMs, () => fail(new Error(`TCP to ${where}: no answer within ${timeoutMs} ms`)));
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
