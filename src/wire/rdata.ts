/**
 * Rdata: the one engine that parses, validates, decodes, encodes and prints any type described in
 * rdata/descriptors.ts (one entry per type). Rdata is always held as uncompressed wire bytes in the original letter
 * case; names inside are compressed only on output and only for the RFC 1035 types (RFC 3597 §4).
 *
 * Types without a descriptor are opaque (RFC 3597): `\# <len> <hex>` in text, bytes copied on the wire. The
 * generic form is accepted for every type and checked against the type's layout when the type is known.
 *
 * Decoding choice (RFC 3597 §4): compressed names are accepted in the RFC 1035 types and, as receivers SHOULD,
 * in RP, AFSDB, RT, SIG, PX, NAPTR and SRV; anywhere else a compression pointer makes the rdata malformed.
 */
import { WireError } from './errors.js';
import { lowerWire, nameFromWire, type Name } from './name.js';
import type { Reader } from './reader.js';
import { descriptorOf, type Descriptor } from './rdata/descriptors.js';
import { Bytes } from './rdata/kinds.js';
import { hexDecode, hexEncode, parseUint, tokenize, Tokens } from './text.js';
import { typeToText } from './types.js';
import type { Writer } from './writer.js';

export { describedTypes } from './rdata/descriptors.js';

const MAX_RDATA = 0xffff;

function withField(e: unknown, d: Descriptor, field: string): unknown {
  return e instanceof WireError ? e.withContext(`${d.mnemonic}.${field}`) : e;
}

/**
 * Validates uncompressed rdata against a descriptor and returns the end offset of every field
 * (`ends[i]` is where field i stops; field i starts at `ends[i-1]` or `start`).
 */
function layout(d: Descriptor, buf: Uint8Array, start: number, end: number): number[] {
  const ends: number[] = [];
  let pos = start;
  for (const f of d.fields) {
    try {
      pos = f.kind.scan(buf, pos, end);
    } catch (e) {
      throw withField(e, d, f.name);
    }
    ends.push(pos);
  }
  if (pos !== end) throw new WireError('E_TRAILING', `${d.mnemonic}: ${end - pos} octet(s) after the last field`);
  return ends;
}

// ---- text -> wire -----------------------------------------------------------------------------------------

function fromGeneric(type: number, tokens: Tokens): Uint8Array {
  const ctx = `${typeToText(type)} (\\# form)`;
  let rdata: Uint8Array;
  try {
    const len = parseUint(tokens.word(), MAX_RDATA);
    let hex = '';
    for (const t of tokens.rest()) {
      if (t.quoted) throw new WireError('E_SYNTAX', `unexpected quoted string "${t.text}"`);
      hex += t.text;
    }
    rdata = hexDecode(hex);
    if (rdata.length !== len)
      throw new WireError('E_SYNTAX', `length ${len} does not match ${rdata.length} octet(s) of hex`);
  } catch (e) {
    throw e instanceof WireError ? e.withContext(ctx) : e;
  }
  const d = descriptorOf(type);
  if (d) layout(d, rdata, 0, rdata.length);
  return rdata;
}

/**
 * Zone-file presentation -> uncompressed wire rdata. Relative names are completed with `origin`. Throws
 * WireError naming the field (`MX.exchange: ...`).
 */
export function rdataFromText(type: number, text: string, origin: Name | null): Uint8Array {
  const list = tokenize(text);
  const ts = new Tokens(list);
  const first = list[0];
  if (first && !first.quoted && first.text === '\\#') {
    ts.next();
    return fromGeneric(type, ts);
  }
  const d = descriptorOf(type);
  if (!d)
    throw new WireError(
      'E_SYNTAX',
      `${typeToText(type)}: a type without a known layout needs the generic form "\\# <length> <hex>"`,
    );
  const out = new Bytes();
  for (const f of d.fields) {
    try {
      f.kind.parse(ts, out, origin);
    } catch (e) {
      throw withField(e, d, f.name);
    }
  }
  if (!ts.done()) {
    const extra = ts.remaining().map((t) => (t.quoted ? `"${t.text}"` : t.text));
    throw new WireError('E_SYNTAX', `${d.mnemonic}: unexpected ${extra.join(' ')} after the last field`);
  }
  if (out.length > MAX_RDATA)
    throw new WireError('E_SYNTAX', `${d.mnemonic}: rdata of ${out.length} octets (max 65535)`);
  const rdata = out.finish();
  layout(d, rdata, 0, rdata.length);
  return rdata;
}

// ---- wire -> text -----------------------------------------------------------------------------------------

function genericText(rdata: Uint8Array): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${hexEncode(rdata)}`;
}

/** Presentation form as kdig prints it; rdata that does not fit its type's layout is printed generically. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  const d = descriptorOf(type);
  if (!d) return genericText(rdata);
  let ends: number[];
  try {
    ends = layout(d, rdata, 0, rdata.length);
  } catch (e) {
    if (e instanceof WireError) return genericText(rdata);
    throw e;
  }
  const parts: string[] = [];
  let pos = 0;
  for (let i = 0; i < d.fields.length; i++) {
    const next = ends[i]!;
    const s = d.fields[i]!.kind.print(rdata, pos, next);
    if (s !== '') parts.push(s);
    pos = next;
  }
  return parts.join(' ');
}

// ---- message <-> rdata ------------------------------------------------------------------------------------

/**
 * Decodes the rdata of `rdlength` octets at `r.pos` of a message: decompresses names where the type allows it
 * (see the file comment), validates the layout strictly and returns uncompressed wire rdata. Leaves `r.pos`
 * at the end of the rdata. Throws WireError (E_SHORT past the message, E_RDATA / E_TRAILING inside).
 */
export function readRdata(r: Reader, type: number, rdlength: number): Uint8Array {
  const start = r.pos;
  const end = start + rdlength;
  if (end > r.end) throw new WireError('E_SHORT', `rdata of ${rdlength} octets runs past the end of the message`);
  const d = descriptorOf(type);
  if (!d || !d.hasNames || d.names === 'plain') {
    const rdata = r.buf.slice(start, end);
    if (d) layout(d, rdata, 0, rdlength);
    r.pos = end;
    return rdata;
  }
  const savedEnd = r.end;
  r.end = end;
  const out = new Bytes();
  let field = '';
  try {
    for (const f of d.fields) {
      field = f.name;
      if (f.kind.isName) {
        out.bytes(r.name(true).wire);
      } else {
        const next = f.kind.scan(r.buf, r.pos, end);
        out.bytes(r.buf.subarray(r.pos, next));
        r.pos = next;
      }
    }
  } catch (e) {
    if (e instanceof WireError && e.code === 'E_SHORT')
      throw new WireError('E_RDATA', `${d.mnemonic}.${field}: ${e.message}`);
    throw withField(e, d, field);
  } finally {
    r.end = savedEnd;
  }
  if (r.pos !== end) throw new WireError('E_TRAILING', `${d.mnemonic}: ${end - r.pos} octet(s) after the last field`);
  return out.finish();
}

/** Rdata split into literal byte runs and names, cached per rdata array (zone rdata is long-lived). */
type Segment = Uint8Array | Name;
const segmentCache = new WeakMap<Uint8Array, { type: number; segs: Segment[] }>();

function segments(d: Descriptor, rdata: Uint8Array): Segment[] {
  const hit = segmentCache.get(rdata);
  if (hit && hit.type === d.type) return hit.segs;
  const ends = layout(d, rdata, 0, rdata.length);
  const segs: Segment[] = [];
  let pos = 0;
  for (let i = 0; i < d.fields.length; i++) {
    const next = ends[i]!;
    if (d.fields[i]!.kind.isName) segs.push(nameFromWire(rdata.subarray(pos, next)));
    else if (next > pos) segs.push(rdata.subarray(pos, next));
    pos = next;
  }
  segmentCache.set(rdata, { type: d.type, segs });
  return segs;
}

function isName(s: Segment): s is Name {
  return !(s instanceof Uint8Array);
}

/**
 * Writes rdata (not RDLENGTH) into a message. With `compress`, names in the RFC 1035 types are compressed
 * against the writer's table (RFC 3597 §4); every other rdata is copied verbatim.
 */
export function writeRdata(w: Writer, type: number, rdata: Uint8Array, compress: boolean): void {
  const d = descriptorOf(type);
  if (!compress || !d || d.names !== 'compress') {
    w.bytes(rdata);
    return;
  }
  for (const s of segments(d, rdata)) {
    if (isName(s)) w.name(s, true);
    else w.bytes(s);
  }
}

/** The domain names inside rdata, in field order (MX exchange, SRV target, NS nsdname, SVCB target ...). */
export function rdataNames(type: number, rdata: Uint8Array): Name[] {
  const d = descriptorOf(type);
  if (!d || !d.hasNames) return [];
  return segments(d, rdata).filter(isName);
}

/**
 * Canonical rdata (RFC 4034 §6.2 item 3, RFC 6840 §5.1): names lower-cased for the listed types, everything
 * else unchanged. Returns the same array when nothing changes.
 */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  const d = descriptorOf(type);
  if (!d || !d.lower || !d.hasNames) return rdata;
  const ends = layout(d, rdata, 0, rdata.length);
  let out: Uint8Array | null = null;
  let pos = 0;
  for (let i = 0; i < d.fields.length; i++) {
    const next = ends[i]!;
    if (d.fields[i]!.kind.isName) {
      const lower = lowerWire(rdata.subarray(pos, next));
      for (let k = 0; k < lower.length; k++) {
        if (lower[k] !== rdata[pos + k]) {
          out ??= rdata.slice();
          out.set(lower, pos);
          break;
        }
      }
    }
    pos = next;
  }
  return out ?? rdata;
}
