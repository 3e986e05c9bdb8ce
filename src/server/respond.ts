/**
 * Answer -> response bytes. The only place that decides truncation (after CoreDNS's
 * request/writer.go): RRsets are written whole; when one does not fit in the answer or authority section the
 * message is cut at the RRset boundary and TC is set; records that do not fit in the additional section are
 * simply left out (RFC 2181 §9: TC is not needed for them).
 */
import { WireError } from '../wire/errors.js';
import type { Name } from '../wire/name.js';
import { writeRdata } from '../wire/rdata.js';
import { CLASS_IN, T } from '../wire/types.js';
import { Writer } from '../wire/writer.js';
import { FLAG_TC } from '../wire/header.js';
import type { Placed } from '../query/answer.js';

/** What the server advertises and the most it sends over UDP (DNS Flag Day 2020). */
export const EDNS_UDP_SIZE = 1232;

export interface ResponseEdns {
  readonly dnssecOk: boolean;
  /** Upper 8 bits of the 12-bit rcode (1 for BADVERS). */
  readonly extRcode: number;
}

export interface ResponseSpec {
  readonly id: number;
  /** Flags without rcode: QR, opcode, AA, RD, CD ... */
  readonly flags: number;
  /** The low 4 bits of the rcode. */
  readonly rcode: number;
  readonly qname: Name | null;
  readonly qtype: number;
  readonly qclass: number;
  readonly answer: readonly Placed[];
  readonly authority: readonly Placed[];
  readonly additional: readonly Placed[];
  readonly edns: ResponseEdns | null;
  /** Maximum size of the whole message. */
  readonly limit: number;
  /** When given, receives the offset of every compression pointer in the result (see negative.ts). */
  readonly pointers?: number[];
}

/** Size of the OPT RR every EDNS response ends with (root owner, no options). */
export const OPT_SIZE = 11;

/** Writes our OPT RR (RFC 6891 §6.1.2) at `p`: root owner, our UDP size, `extRcode`, version 0, DO copied. */
export function writeOpt(out: Uint8Array, p: number, edns: ResponseEdns): void {
  out[p++] = 0; // root owner
  out[p++] = 0;
  out[p++] = T.OPT;
  out[p++] = EDNS_UDP_SIZE >>> 8;
  out[p++] = EDNS_UDP_SIZE & 0xff;
  out[p++] = edns.extRcode & 0xff;
  out[p++] = 0; // EDNS version 0
  out[p++] = edns.dnssecOk ? 0x80 : 0; // DO copied (RFC 3225 §3)
  out[p++] = 0;
  out[p++] = 0; // RDLENGTH 0
  out[p] = 0;
}

/** Reused for every response: encoding is synchronous and the result is copied out before returning. */
const scratch = new Uint8Array(65535);

/**
 * Writes whole RRsets until one does not fit; then rolls back to the last RRset boundary and reports overflow.
 * An RRSIG RRset and the RRset it covers (placed just before it, same owner) fit or go together: RFC 4035
 * §3.1.1 never wants data without its signature.
 */
function writeSection(w: Writer, section: readonly Placed[]): { count: number; overflow: boolean } {
  let count = 0;
  let prev: { mark: ReturnType<Writer['mark']>; count: number; owner: string } | null = null;
  for (const p of section) {
    const m = w.mark();
    const before = count;
    try {
      for (const rd of p.rrset.rdatas) {
        w.name(p.owner, true);
        w.u16(p.rrset.type);
        w.u16(CLASS_IN);
        w.u32(p.rrset.ttl);
        const lenAt = w.pos;
        w.u16(0);
        writeRdata(w, p.rrset.type, rd, true);
        w.patchU16(lenAt, w.pos - lenAt - 2);
      }
      count += p.rrset.rdatas.length;
    } catch (e) {
      if (e instanceof WireError && e.code === 'E_OVERFLOW') {
        if (p.rrset.type === T.RRSIG && prev && prev.owner === p.owner.key) {
          w.reset(prev.mark);
          return { count: prev.count, overflow: true };
        }
        w.reset(m);
        return { count, overflow: true };
      }
      throw e;
    }
    prev = { mark: m, count: before, owner: p.owner.key };
  }
  return { count, overflow: false };
}

/** Encodes a response; returns the bytes and whether TC was set. */
export function encodeResponse(spec: ResponseSpec): { bytes: Uint8Array; truncated: boolean } {
  const room = spec.limit - (spec.edns ? OPT_SIZE : 0);
  const w = new Writer(room, 512, scratch);
  if (spec.pointers) w.pointerLog = spec.pointers;
  w.u16(spec.id);
  w.u16(0); // flags, patched below
  w.u16(spec.qname ? 1 : 0);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  if (spec.qname) {
    w.remember(spec.qname, 12);
    w.bytes(spec.qname.wire);
    w.u16(spec.qtype);
    w.u16(spec.qclass);
  }
  let truncated = false;
  const an = writeSection(w, spec.answer);
  let ns = { count: 0, overflow: false };
  let ar = { count: 0, overflow: false };
  if (an.overflow) truncated = true;
  else {
    ns = writeSection(w, spec.authority);
    if (ns.overflow) truncated = true;
    else ar = writeSection(w, spec.additional);
  }
  w.patchU16(2, spec.flags | (truncated ? FLAG_TC : 0) | (spec.rcode & 0xf));
  w.patchU16(6, an.count);
  w.patchU16(8, ns.count);
  w.patchU16(10, ar.count + (spec.edns ? 1 : 0));
  const body = w.view();
  const out = Buffer.allocUnsafe(body.length + (spec.edns ? OPT_SIZE : 0));
  if (!spec.edns) {
    out.set(body, 0);
    return { bytes: out, truncated };
  }
  out.set(body, 0);
  writeOpt(out, body.length, spec.edns);
  return { bytes: out, truncated };
}
