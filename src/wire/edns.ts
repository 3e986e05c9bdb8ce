/**
 * EDNS(0) (RFC 6891): the OPT pseudo-RR lifted out of the additional section into a value.
 *   owner: root; TYPE 41; CLASS: requestor's UDP payload size; TTL: EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15);
 *   RDATA: {OPTION-CODE u16, OPTION-LENGTH u16, OPTION-DATA}*  (RFC 6891 §6.1.2, DO from RFC 3225 §3).
 */
import { WireError } from './errors.js';
import type { Writer } from './writer.js';
import { T } from './types.js';

interface EdnsOption {
  code: number;
  data: Uint8Array;
}

export interface Edns {
  udpSize: number;
  /** Upper 8 bits of the 12-bit rcode (the header holds the low 4). */
  extRcode: number;
  version: number;
  /** The DO bit (RFC 3225); mirrors bit 15 of `flags`, and wins over it on encode. */
  dnssecOk: boolean;
  /** The 16 flag bits of the OPT TTL as on the wire (DO is 0x8000). */
  flags: number;
  options: EdnsOption[];
}

const FLAG_DO = 0x8000;

/** Option codes this server knows (IANA "DNS EDNS0 Option Codes"). */
const EDNS_OPTION = { NSID: 3, CLIENT_SUBNET: 8, COOKIE: 10, TCP_KEEPALIVE: 11, PADDING: 12, EDE: 15 } as const;

/** A complete Edns from defaults (udpSize 1232, version 0, DO off, no options) and the given fields. */
export function makeEdns(p: Partial<Edns> = {}): Edns {
  const dnssecOk = p.dnssecOk ?? ((p.flags ?? 0) & FLAG_DO) !== 0;
  return {
    udpSize: p.udpSize ?? 1232,
    extRcode: p.extRcode ?? 0,
    version: p.version ?? 0,
    dnssecOk,
    flags: ((p.flags ?? 0) & 0x7fff) | (dnssecOk ? FLAG_DO : 0),
    options: p.options ?? [],
  };
}

/**
 * Builds an Edns from the fields of a decoded OPT RR (owner must already be checked to be the root).
 * Validates the option layout; throws WireError E_RDATA.
 */
export function ednsFromOpt(rrclass: number, ttl: number, rdata: Uint8Array): Edns {
  const options: EdnsOption[] = [];
  let p = 0;
  while (p < rdata.length) {
    if (p + 4 > rdata.length) throw new WireError('E_RDATA', 'OPT: option header cut short');
    const code = (rdata[p]! << 8) | rdata[p + 1]!;
    const len = (rdata[p + 2]! << 8) | rdata[p + 3]!;
    if (p + 4 + len > rdata.length) throw new WireError('E_RDATA', `OPT: option ${code} runs past the rdata`);
    options.push({ code, data: rdata.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  const flags = ttl & 0xffff;
  return {
    udpSize: rrclass,
    extRcode: (ttl >>> 24) & 0xff,
    version: (ttl >>> 16) & 0xff,
    dnssecOk: (flags & FLAG_DO) !== 0,
    flags,
    options,
  };
}

/** The TTL field of the OPT RR. */
function optTtl(e: Edns): number {
  const flags = (e.flags & 0x7fff) | (e.dnssecOk ? FLAG_DO : 0);
  return (((e.extRcode & 0xff) << 24) | ((e.version & 0xff) << 16) | flags) >>> 0;
}

/** The OPT rdata (options in order). */
function optRdata(e: Edns): Uint8Array {
  let len = 0;
  for (const o of e.options) len += 4 + o.data.length;
  const out = new Uint8Array(len);
  let p = 0;
  for (const o of e.options) {
    out[p++] = o.code >>> 8;
    out[p++] = o.code & 0xff;
    out[p++] = o.data.length >>> 8;
    out[p++] = o.data.length & 0xff;
    out.set(o.data, p);
    p += o.data.length;
  }
  return out;
}

/** Octets the whole OPT RR takes: root owner (1) + type, class, ttl, rdlength (10) + options. */
export function optSize(e: Edns): number {
  let len = 11;
  for (const o of e.options) len += 4 + o.data.length;
  return len;
}

/** Writes the complete OPT RR. */
export function writeOpt(w: Writer, e: Edns): void {
  const rdata = optRdata(e);
  w.u8(0);
  w.u16(T.OPT);
  w.u16(e.udpSize);
  w.u32(optTtl(e));
  w.u16(rdata.length);
  w.bytes(rdata);
}

/** An Extended DNS Error option (RFC 8914 §2): INFO-CODE u16 + optional UTF-8 EXTRA-TEXT. */
export function edeOption(infoCode: number, text = ''): EdnsOption {
  const t = new TextEncoder().encode(text);
  const data = new Uint8Array(2 + t.length);
  data[0] = infoCode >>> 8;
  data[1] = infoCode & 0xff;
  data.set(t, 2);
  return { code: EDNS_OPTION.EDE, data };
}
