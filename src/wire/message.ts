/**
 * Whole DNS messages (RFC 1035 §4.1) <-> values.
 *
 * decodeMessage treats its input as hostile (anyone can send it): every name goes through Reader.name (pointer
 * loops, forward pointers, over-long names and labels, reserved label types are rejected), the section counts
 * are checked against the message size before any loop runs, every rdata is validated against its type, and
 * bytes after the last record are an error. The OPT pseudo-RR (RFC 6891 §6.1.1: at most one, additional
 * section only, owner root) is lifted out of `additional` into `edns`.
 *
 * encodeMessage never splits an RRset: when an RR does not fit, the message is cut at the start of that RRset,
 * later sections are dropped, OPT is still written (its room is reserved first), and `truncated` is reported
 * so the caller can set TC (RFC 2181 §9).
 */
import { WireError } from './errors.js';
import { ednsFromOpt, makeEdns, optSize, writeOpt, type Edns } from './edns.js';
import { FLAG_RD, HEADER_SIZE } from './header.js';
import { ROOT, type Name } from './name.js';
import { readRdata, writeRdata } from './rdata.js';
import { Reader } from './reader.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, T } from './types.js';
import { Writer } from './writer.js';

interface Question {
  name: Name;
  type: number;
  class: number;
}

export interface RR {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  /** Uncompressed wire rdata, original letter case. */
  rdata: Uint8Array;
}

export interface Message {
  id: number;
  /** Header flags; the rcode bits hold the low 4 bits of the rcode (the rest is `edns.extRcode`). */
  flags: number;
  questions: Question[];
  answer: RR[];
  authority: RR[];
  additional: RR[];
  edns: Edns | null;
}

/** Smallest possible question: root name (1) + QTYPE + QCLASS. */
const MIN_QUESTION = 5;
/** Smallest possible RR: root owner (1) + TYPE, CLASS, TTL, RDLENGTH (10). */
const MIN_RR = 11;

/** The full 12-bit rcode of a message (RFC 6891 §6.1.3). */
export function fullRcode(msg: Message): number {
  return ((msg.edns?.extRcode ?? 0) << 4) | (msg.flags & 0xf);
}

/** Decodes a complete message; throws WireError for anything malformed (never another exception). */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.length < HEADER_SIZE)
    throw new WireError('E_SHORT', `message of ${buf.length} octets is shorter than a header`);
  const id = (buf[0]! << 8) | buf[1]!;
  const flags = (buf[2]! << 8) | buf[3]!;
  const qd = (buf[4]! << 8) | buf[5]!;
  const an = (buf[6]! << 8) | buf[7]!;
  const ns = (buf[8]! << 8) | buf[9]!;
  const ar = (buf[10]! << 8) | buf[11]!;
  // Bound the work before looping: the counts must be satisfiable by the bytes present.
  if (qd * MIN_QUESTION + (an + ns + ar) * MIN_RR > buf.length - HEADER_SIZE) {
    throw new WireError('E_SHORT', `counts ${qd}/${an}/${ns}/${ar} cannot fit in ${buf.length} octets`);
  }
  const r = new Reader(buf, HEADER_SIZE);
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const name = ownerName(r);
    const type = r.u16();
    questions.push({ name, type, class: r.u16() });
  }
  const msg: Message = { id, flags, questions, answer: [], authority: [], additional: [], edns: null };
  readSection(r, an, msg.answer, msg, false);
  readSection(r, ns, msg.authority, msg, false);
  readSection(r, ar, msg.additional, msg, true);
  if (r.pos !== buf.length) throw new WireError('E_TRAILING', `${buf.length - r.pos} octet(s) after the last record`);
  return msg;
}

const EMPTY = new Uint8Array(0);

/** Owner name; the root (every OPT, many queries' EDNS) without allocating. */
function ownerName(r: Reader): Name {
  if (r.pos < r.end && r.buf[r.pos] === 0) {
    r.pos++;
    return ROOT;
  }
  return r.name();
}

function readSection(r: Reader, count: number, out: RR[], msg: Message, additional: boolean): void {
  for (let i = 0; i < count; i++) {
    const name = ownerName(r);
    const type = r.u16();
    const cls = r.u16();
    const ttl = r.u32();
    const rdlength = r.u16();
    if (type === T.OPT) {
      if (!additional) throw new WireError('E_RDATA', 'OPT outside the additional section');
      if (msg.edns) throw new WireError('E_RDATA', 'more than one OPT record');
      if (name.wire.length !== 1) throw new WireError('E_RDATA', 'OPT owner is not the root');
      if (rdlength > r.remaining()) throw new WireError('E_SHORT', 'OPT rdata runs past the end of the message');
      msg.edns = ednsFromOpt(cls, ttl, rdlength === 0 ? EMPTY : r.bytes(rdlength));
      continue;
    }
    let rdata: Uint8Array;
    if (rdlength === 0 && (cls === CLASS_ANY || cls === CLASS_NONE))
      rdata = new Uint8Array(0); // RFC 2136 §2.4, §2.5
    else rdata = readRdata(r, type, rdlength);
    out.push({ name, type, class: cls, ttl, rdata });
  }
}

function isOverflow(e: unknown): boolean {
  return e instanceof WireError && e.code === 'E_OVERFLOW';
}

function sameRRset(a: RR, b: RR): boolean {
  return a.type === b.type && a.class === b.class && a.name.key === b.name.key;
}

/** Writes one section; returns how many RRs went in and whether one did not fit. */
function writeSection(w: Writer, rrs: readonly RR[]): { count: number; full: boolean } {
  let count = 0;
  let setMark = w.mark();
  let setCount = 0;
  let prev: RR | null = null;
  for (const rr of rrs) {
    if (!prev || !sameRRset(prev, rr)) {
      setMark = w.mark();
      setCount = count;
    }
    try {
      w.name(rr.name, true);
      w.u16(rr.type);
      w.u16(rr.class);
      w.u32(rr.ttl);
      const lenAt = w.pos;
      w.u16(0);
      writeRdata(w, rr.type, rr.rdata, true);
      w.patchU16(lenAt, w.pos - lenAt - 2);
    } catch (e) {
      if (!isOverflow(e)) throw e;
      w.reset(setMark);
      return { count: setCount, full: true };
    }
    count++;
    prev = rr;
  }
  return { count, full: false };
}

/**
 * Encodes a message within `limit` octets. Owner names are always compressed; rdata names per writeRdata.
 * Flags are written as given: when `truncated` is true the caller sets TC.
 */
export function encodeMessage(msg: Message, limit = 65535): { bytes: Uint8Array; truncated: boolean } {
  const optLen = msg.edns ? optSize(msg.edns) : 0;
  const room = limit - optLen;
  if (room < HEADER_SIZE) throw new WireError('E_OVERFLOW', `limit ${limit} leaves no room for the header and OPT`);
  const w = new Writer(room, Math.min(room, 512));
  w.u16(msg.id);
  w.u16(msg.flags & 0xffff);
  w.u32(0); // QDCOUNT, ANCOUNT: patched below
  w.u32(0); // NSCOUNT, ARCOUNT
  let truncated = false;
  let qd = 0;
  for (const q of msg.questions) {
    const m = w.mark();
    try {
      w.name(q.name, true);
      w.u16(q.type);
      w.u16(q.class);
    } catch (e) {
      if (!isOverflow(e)) throw e;
      w.reset(m);
      truncated = true;
      break;
    }
    qd++;
  }
  const counts = [0, 0, 0];
  const sections = [msg.answer, msg.authority, msg.additional];
  for (let s = 0; s < 3 && !truncated; s++) {
    const res = writeSection(w, sections[s]!);
    counts[s] = res.count;
    truncated = res.full;
  }
  w.patchU16(4, qd);
  w.patchU16(6, counts[0]!);
  w.patchU16(8, counts[1]!);
  w.patchU16(10, counts[2]! + (msg.edns ? 1 : 0));
  if (!msg.edns) return { bytes: w.finish(), truncated };
  const opt = new Writer(optLen, optLen);
  writeOpt(opt, msg.edns);
  const out = new Uint8Array(w.pos + optLen);
  out.set(w.view(), 0);
  out.set(opt.view(), w.pos);
  return { bytes: out, truncated };
}

/** A query message (handy for tests and tools). Defaults: id 0, RD off, class IN, no EDNS. */
export function encodeQuery(
  name: Name,
  type: number,
  opts: { id?: number; rd?: boolean; edns?: Partial<Edns> | null; class?: number } = {},
): Uint8Array {
  const msg: Message = {
    id: opts.id ?? 0,
    flags: opts.rd ? FLAG_RD : 0,
    questions: [{ name, type, class: opts.class ?? CLASS_IN }],
    answer: [],
    authority: [],
    additional: [],
    edns: opts.edns ? makeEdns(opts.edns) : null,
  };
  return encodeMessage(msg).bytes;
}
