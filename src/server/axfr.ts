/**
 * The messages of an AXFR answer (RFC 5936 §2.2): the zone's SOA, every RRset, the SOA again; as many records
 * per message as fit in MAX_MESSAGE octets (with room for the OPT and the TSIG RR that follow), each message
 * compressed on its own (RFC 5936 §2.2.4 implied: a message is decoded alone, so no pointer leaves it). The
 * question is echoed in the first message only (§2.2.1). Produced lazily, one message per next().
 */
import { WireError } from '../wire/errors.js';
import { FLAG_AA, FLAG_QR } from '../wire/header.js';
import type { Name } from '../wire/name.js';
import { writeRdata } from '../wire/rdata.js';
import { CLASS_IN, T } from '../wire/types.js';
import { Writer } from '../wire/writer.js';
import type { RRset } from '../zone/zone.js';
import { OPT_SIZE, writeOpt, type ResponseEdns } from './respond.js';

/** Message size of a transfer: small enough for any secondary's buffers, large enough to amortise headers. */
export const MAX_MESSAGE = 16 * 1024;

export interface AxfrRequest {
  readonly id: number;
  /** RD and CD of the request (copied, RFC 1035 §4.1.1). */
  readonly flags: number;
  readonly qname: Name;
  /** The question's type: AXFR, or IXFR answered with the whole zone (RFC 1995 §4). AXFR when absent. */
  readonly qtype?: number;
  readonly edns: ResponseEdns | null;
  /** Octets to leave free at the end of every message (the TSIG RR). */
  readonly reserve: number;
}

/** One RR per element: the records in the order they are sent. */
function* records(rrsets: Iterable<RRset>, soa: RRset): Generator<[RRset, Uint8Array]> {
  for (const rs of rrsets) for (const rd of rs.rdatas) yield [rs, rd];
  yield [soa, soa.rdatas[0]!];
}

function writeRR(w: Writer, rs: RRset, rd: Uint8Array): void {
  w.name(rs.owner, true);
  w.u16(rs.type);
  w.u16(CLASS_IN);
  w.u32(rs.ttl);
  const lenAt = w.pos;
  w.u16(0);
  writeRdata(w, rs.type, rd, true);
  w.patchU16(lenAt, w.pos - lenAt - 2);
}

/**
 * The AXFR messages for `rrsets` (which must start with the SOA, as exportRRsets does), the SOA appended last.
 * A record larger than a whole MAX_MESSAGE message goes alone in a message of up to 65535 octets.
 */
export function axfrMessages(rrsets: Iterable<RRset>, soa: RRset, req: AxfrRequest): Generator<Uint8Array> {
  return packMessages(records(rrsets, soa), (w, [rs, rd]) => writeRR(w, rs, rd), req);
}

/**
 * The messages of an IXFR answer (RFC 1995 §4): records already in uncompressed wire form (the journal's), in
 * the order given, packed as AXFR packs its records.
 */
export function wireMessages(records: Iterable<Uint8Array>, req: AxfrRequest): Generator<Uint8Array> {
  return packMessages(records, (w, rr) => w.bytes(rr), req);
}

/** Packs `items` into messages, written by `write`, which throws an E_OVERFLOW WireError when one is full. */
function* packMessages<I>(
  items: Iterable<I>,
  write: (w: Writer, item: I) => void,
  req: AxfrRequest,
): Generator<Uint8Array> {
  const tail = req.reserve + (req.edns ? OPT_SIZE : 0);
  let first = true;
  let w: Writer | null = null;
  let count = 0;
  const start = (limit: number): Writer => {
    const nw = new Writer(limit - tail, 4096);
    nw.u16(req.id);
    nw.u16(FLAG_QR | FLAG_AA | req.flags);
    nw.u16(first ? 1 : 0);
    nw.u16(0);
    nw.u16(0);
    nw.u16(0);
    if (first) {
      nw.remember(req.qname, 12);
      nw.bytes(req.qname.wire);
      nw.u16(req.qtype ?? T.AXFR);
      nw.u16(CLASS_IN);
    }
    first = false;
    count = 0;
    return nw;
  };
  const done = (cur: Writer): Uint8Array => {
    cur.patchU16(6, count);
    cur.patchU16(10, req.edns ? 1 : 0);
    const body = cur.view();
    const out = new Uint8Array(body.length + (req.edns ? OPT_SIZE : 0));
    out.set(body);
    if (req.edns) writeOpt(out, body.length, req.edns);
    return out;
  };
  for (const item of items) {
    w ??= start(MAX_MESSAGE);
    const m = w.mark();
    try {
      write(w, item);
      count++;
      continue;
    } catch (e) {
      if (!(e instanceof WireError) || e.code !== 'E_OVERFLOW') throw e;
      w.reset(m);
    }
    if (count > 0) yield done(w);
    w = start(MAX_MESSAGE);
    try {
      write(w, item);
    } catch (e) {
      if (!(e instanceof WireError) || e.code !== 'E_OVERFLOW') throw e;
      w = start(0xffff);
      write(w, item);
    }
    count++;
  }
  if (w && count > 0) yield done(w);
}
