/**
 * The TSIG resource record on the wire (RFC 8945 §4.2) and its place in a message (§5.1): finding it as the last
 * record of the additional section, decoding its RDATA, encoding it, and the "TSIG variables" and "TSIG timers"
 * in the canonical form that the MAC covers (§4.3.3). The MAC itself is computed in tsig.ts.
 *
 * Messages are hostile input here as everywhere: every read is bounded (wire/reader.ts), names go through
 * Reader.name, and a TSIG record anywhere but last, a second one, or bytes after the last record make the
 * message malformed (WireError, which the caller answers with FORMERR, RFC 8945 §5.2).
 */
import { WireError } from '../wire/errors.js';
import { HEADER_SIZE } from '../wire/header.js';
import { lowerWire, type Name } from '../wire/name.js';
import { Reader } from '../wire/reader.js';
import { CLASS_ANY, T } from '../wire/types.js';
import { Writer } from '../wire/writer.js';

/** The fields of one TSIG RR (RFC 8945 §4.2). Times are seconds since the epoch (48 bits fit a JS number). */
export interface TsigRecord {
  /** Owner name: the key's name. */
  name: Name;
  /** Algorithm name, e.g. `hmac-sha256.` (RFC 8945 §6). */
  algorithm: Name;
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  /** The message ID when the MAC was made (§4.3.1): a forwarder may change the header ID, not this. */
  originalId: number;
  /** Extended RCODE: 0, or BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22 (§5.2). */
  error: number;
  otherData: Uint8Array;
}

/** A TSIG record found in a message, with where its RR starts (the MAC covers the octets before it). */
export interface FoundTsig {
  record: TsigRecord;
  offset: number;
}

/** Smallest question (root name + QTYPE + QCLASS) and RR (root owner + TYPE, CLASS, TTL, RDLENGTH). */
const MIN_QUESTION = 5;
const MIN_RR = 11;
const MAX_U48 = 2 ** 48 - 1;

/**
 * Finds the TSIG RR of a message: null when there is none; WireError when it is not the last record of the
 * additional section, when there is more than one (RFC 8945 §5.1, §5.2: FORMERR), or when the message is cut
 * short, has trailing octets or the TSIG RDATA does not match its layout.
 */
export function findTsig(msg: Uint8Array): FoundTsig | null {
  if (msg.length < HEADER_SIZE) throw new WireError('E_SHORT', `message of ${msg.length} octets`);
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!;
  const ar = (msg[10]! << 8) | msg[11]!;
  const total = an + ns + ar;
  // Bound the work before looping, as wire/message.ts does.
  if (qd * MIN_QUESTION + total * MIN_RR > msg.length - HEADER_SIZE)
    throw new WireError('E_SHORT', `counts ${qd}/${an}/${ns}/${ar} cannot fit in ${msg.length} octets`);
  const r = new Reader(msg, HEADER_SIZE);
  for (let i = 0; i < qd; i++) {
    r.name();
    r.u16();
    r.u16();
  }
  let found: FoundTsig | null = null;
  for (let i = 0; i < total; i++) {
    const offset = r.pos;
    const name = r.name();
    const type = r.u16();
    const cls = r.u16();
    const ttl = r.u32();
    const rdlength = r.u16();
    if (r.remaining() < rdlength) throw new WireError('E_SHORT', `RDATA of ${rdlength} octets runs past the end`);
    const rdEnd = r.pos + rdlength;
    if (type === T.TSIG) {
      if (i !== total - 1 || i < an + ns)
        throw new WireError('E_RDATA', 'TSIG is not the last record of the additional section (RFC 8945 §5.1)');
      // RFC 8945 §4.2: CLASS ANY, TTL 0; anything else is not a TSIG RR we can trust to have been made right.
      if (cls !== CLASS_ANY || ttl !== 0) throw new WireError('E_RDATA', `TSIG with class ${cls} and TTL ${ttl}`);
      found = { record: readTsigRdata(new Reader(msg, r.pos, rdEnd), name), offset };
    }
    r.pos = rdEnd;
  }
  if (r.pos !== msg.length) throw new WireError('E_TRAILING', `${msg.length - r.pos} octet(s) after the last record`);
  return found;
}

function readU48(r: Reader): number {
  return r.u16() * 2 ** 32 + r.u32();
}

function readTsigRdata(r: Reader, name: Name): TsigRecord {
  // RFC 3597 §4: no compression inside the RDATA of types defined after RFC 1035.
  const algorithm = r.name(false);
  const timeSigned = readU48(r);
  const fudge = r.u16();
  const mac = r.bytes(r.u16());
  const originalId = r.u16();
  const error = r.u16();
  const otherData = r.bytes(r.u16());
  if (r.remaining() !== 0) throw new WireError('E_TRAILING', `${r.remaining()} octet(s) after the TSIG RDATA`);
  return { name, algorithm, timeSigned, fudge, mac, originalId, error, otherData };
}

function writeU48(w: Writer, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U48) throw new WireError('E_RDATA', `time ${v} is not a 48-bit value`);
  w.u16(Math.floor(v / 2 ** 32));
  w.u32(v % 2 ** 32);
}

/** Octets of the TSIG RR of `record` (owner and algorithm uncompressed, CLASS ANY, TTL 0). */
export function encodeTsigRR(record: TsigRecord): Uint8Array {
  const w = new Writer();
  w.bytes(record.name.wire);
  w.u16(T.TSIG);
  w.u16(CLASS_ANY);
  w.u32(0);
  const lenAt = w.pos;
  w.u16(0);
  w.bytes(record.algorithm.wire);
  writeU48(w, record.timeSigned);
  w.u16(record.fudge);
  w.u16(record.mac.length);
  w.bytes(record.mac);
  w.u16(record.originalId);
  w.u16(record.error);
  w.u16(record.otherData.length);
  w.bytes(record.otherData);
  w.patchU16(lenAt, w.pos - lenAt - 2);
  return w.finish();
}

/** The message with an encoded TSIG RR appended as the last additional record (ARCOUNT + 1, §5.1). */
export function appendTsigRR(message: Uint8Array, rr: Uint8Array): Uint8Array {
  const ar = ((message[10]! << 8) | message[11]!) + 1;
  if (ar > 0xffff) throw new WireError('E_OVERFLOW', 'ARCOUNT would exceed 65535');
  const out = new Uint8Array(message.length + rr.length);
  out.set(message, 0);
  out.set(rr, message.length);
  out[10] = ar >>> 8;
  out[11] = ar & 0xff;
  return out;
}

/** Size in octets of a TSIG RR, so a caller can keep room for it under a UDP or TCP size limit. */
export function tsigRRSize(name: Name, algorithm: Name, macSize: number, otherLen = 0): number {
  return name.wire.length + 10 + algorithm.wire.length + 16 + macSize + otherLen;
}

/**
 * The TSIG variables as the MAC covers them (RFC 8945 §4.3.3): owner name lower-cased and uncompressed, CLASS
 * ANY, TTL 0, algorithm name lower-cased and uncompressed, Time Signed (48 bits), Fudge, Error, Other Len and
 * Other Data. Not MAC Size, MAC or Original ID.
 */
export function tsigVariables(record: TsigRecord): Uint8Array {
  const w = new Writer();
  w.bytes(lowerWire(record.name.wire));
  w.u16(CLASS_ANY);
  w.u32(0);
  w.bytes(lowerWire(record.algorithm.wire));
  writeU48(w, record.timeSigned);
  w.u16(record.fudge);
  w.u16(record.error);
  w.u16(record.otherData.length);
  w.bytes(record.otherData);
  return w.finish();
}

/** The TSIG timers (RFC 8945 §4.3.3): Time Signed and Fudge, for the second and later messages of a stream. */
export function tsigTimers(record: TsigRecord): Uint8Array {
  const w = new Writer(8, 8);
  writeU48(w, record.timeSigned);
  w.u16(record.fudge);
  return w.finish();
}

/** A 48-bit time as 6 octets: Other Data of a BADTIME response (RFC 8945 §5.2.3). */
export function u48Bytes(v: number): Uint8Array {
  const w = new Writer(6, 6);
  writeU48(w, v);
  return w.finish();
}

/** The 48-bit time in 6 octets of Other Data, or null when Other Data is not 6 octets. */
export function u48FromBytes(b: Uint8Array): number | null {
  return b.length === 6 ? readU48(new Reader(b)) : null;
}
