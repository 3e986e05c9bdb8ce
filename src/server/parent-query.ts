/**
 * Asking the parent zone's name servers for a zone's DS RRset (RFC 4035 §5.2, RFC 7344 §4: what the parent
 * publishes, to compare with the child's keys), and finding those servers through a recursive resolver when
 * `dnssec.parent` does not list them (the parent zone's NS, RFC 1034 §4.2.1, and their addresses). Parent servers
 * are asked over TCP (RFC 7766: no truncation, no spoofed datagram), the resolver over UDP.
 */
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP, connect } from 'node:net';
import { decodeMessage, encodeQuery, fullRcode, type Message } from '../wire/message.js';
import { nameFromWire, labelCount, stripLabels, type Name } from '../wire/name.js';
import { ipv4Format, ipv6Format } from '../wire/text.js';
import { RCODE, T } from '../wire/types.js';
import type { ParentServer } from '../zone/settings.js';

/** What one parent server answered for the zone's DS. */
export interface ParentAnswer {
  /** `ADDRESS@PORT`. */
  readonly server: string;
  /** The DS rdatas (none: the parent has no DS, an insecure delegation). Absent when `error` is set. */
  readonly ds: readonly Uint8Array[];
  /** The TTL of the DS RRset (0 without one). */
  readonly ttl: number;
  readonly error?: string;
}

export const serverText = (s: ParentServer): string => `${s.address}@${s.port}`;

/** One TCP exchange (two-octet length prefix, RFC 1035 §4.2.2); rejects after `timeoutMs`. */
export function tcpExchange(s: ParentServer, query: Uint8Array, timeoutMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: s.address, port: s.port });
    let buf = Buffer.alloc(0);
    const fail = (e: Error): void => {
      sock.destroy();
      reject(e);
    };
    sock.setTimeout(timeoutMs, () => fail(new Error(`no answer over TCP within ${timeoutMs} ms`)));
    sock.on('error', fail);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      sock.destroy();
      try {
        resolve(decodeMessage(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0)))));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/** One UDP exchange with a recursive resolver (RD set). */
function udpExchange(s: ParentServer, query: Uint8Array, timeoutMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(s.address) === 6 ? 'udp6' : 'udp4');
    const done = (f: () => void): void => {
      clearTimeout(timer);
      sock.close();
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
    sock.on('error', (e) => done(() => reject(e)));
    sock.on('message', (m) => {
      if (m.length < 2 || m.readUInt16BE(0) !== ((query[0]! << 8) | query[1]!)) return;
      done(() => {
        try {
          resolve(decodeMessage(new Uint8Array(m)));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    sock.send(query, s.port, s.address);
  });
}

const question = (name: Name, type: number, rd: boolean): Uint8Array =>
  encodeQuery(name, type, { id: randomInt(0, 65536), rd, edns: { udpSize: 1232, dnssecOk: true } });

/** The DS RRset of `zone` as `server` serves it, or the error that kept it from answering. */
export async function askParent(zone: Name, server: ParentServer, timeoutMs = 3000): Promise<ParentAnswer> {
  const text = serverText(server);
  try {
    const m = await tcpExchange(server, question(zone, T.DS, false), timeoutMs);
    const rcode = fullRcode(m);
    if (rcode !== RCODE.NOERROR) return { server: text, ds: [], ttl: 0, error: `rcode ${rcode}` };
    // RFC 4035 §3.1.4.1: the parent answers DS authoritatively (AA); a referral to the child is not an answer.
    if ((m.flags & 0x0400) === 0) return { server: text, ds: [], ttl: 0, error: 'not authoritative for the DS' };
    const rrs = m.answer.filter((r) => r.type === T.DS && r.name.key === zone.key);
    return { server: text, ds: rrs.map((r) => r.rdata), ttl: rrs.length > 0 ? Math.min(...rrs.map((r) => r.ttl)) : 0 };
  } catch (e) {
    return { server: text, ds: [], ttl: 0, error: (e as Error).message };
  }
}

/** The first `nameserver` of resolv.conf, port 53. */
export function systemResolver(path = '/etc/resolv.conf'): ParentServer | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  for (const line of text.split('\n')) {
    const host = /^\s*nameserver\s+(\S+)/.exec(line)?.[1]?.replace(/%.*$/, '');
    if (host !== undefined && isIP(host) !== 0) return { address: host, port: 53 };
  }
  return `no nameserver in ${path}`;
}

/**
 * The parent zone's name servers, through `resolver`: the NS RRset of the closest enclosing zone above `zone`
 * (asked name by name upwards), then each server's A and AAAA. Throws a one-line Error when none is found.
 */
export async function findParentServers(zone: Name, resolver: ParentServer, timeoutMs = 3000): Promise<ParentServer[]> {
  for (let n = 1; n <= labelCount(zone); n++) {
    const parent = stripLabels(zone, n);
    const m = await udpExchange(resolver, question(parent, T.NS, true), timeoutMs);
    const ns = m.answer.filter((r) => r.type === T.NS && r.name.key === parent.key).map((r) => nameFromWire(r.rdata));
    if (ns.length === 0) continue;
    const out: ParentServer[] = [];
    for (const host of ns)
      for (const type of [T.A, T.AAAA]) {
        const a = await udpExchange(resolver, question(host, type, true), timeoutMs).catch(() => undefined);
        for (const r of a?.answer ?? [])
          if (r.type === type && r.name.key === host.key) out.push({ address: addressText(r.rdata), port: 53 });
      }
    if (out.length > 0) return out;
    throw new Error(`the parent's name servers (${ns.length}) have no address at the resolver`);
  }
  throw new Error('no parent zone with name servers found');
}

function addressText(rdata: Uint8Array): string {
  return rdata.length === 4 ? ipv4Format(rdata) : ipv6Format(rdata);
}
