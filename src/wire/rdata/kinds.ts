/**
 * The rdata field kinds: the only hand-written rdata code (after miekg's msg_helpers.go). Each
 * kind knows how to parse its presentation form, how far it extends in uncompressed wire rdata (validating it on
 * the way), and how to print it the way kdig does. Per-type layouts live in descriptors.ts; the engine that
 * walks a layout is in ../rdata.ts.
 */
import { WireError } from '../errors.js';
import { MAX_LABEL, MAX_NAME_WIRE, nameFromWire, nameToText, parseName, type Name } from '../name.js';
import {
  base32hexDecode,
  base32hexEncode,
  base64Decode,
  base64Encode,
  charStringFromToken,
  hexDecode,
  hexEncode,
  ipv4Format,
  ipv4Parse,
  ipv6Format,
  ipv6Parse,
  parseUint,
  quoteText,
  unescapeText,
  type Tokens,
} from '../text.js';
import { serialOf } from '../serial.js';
import { formatTimestamp, parseTimestamp } from '../timestamp.js';
import { decodeTypeBitmap, encodeTypeBitmap, typeBitmapProblem } from '../typebitmap.js';
import { typeFromText, typeToText } from '../types.js';

/** Growable output for text -> wire. */
export class Bytes {
  private buf = new Uint8Array(64);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf[this.length++] = v >>> 8;
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number): void {
    this.room(4);
    this.buf[this.length++] = v >>> 24;
    this.buf[this.length++] = (v >>> 16) & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    this.buf[this.length++] = v & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface Kind {
  /** Presentation -> wire, appended to `out`. Throws WireError naming the problem (the engine adds the field). */
  parse(ts: Tokens, out: Bytes, origin: Name | null): void;
  /** The end of this field in uncompressed wire rdata starting at `pos` (bounded by `end`); validates. */
  scan(buf: Uint8Array, pos: number, end: number): number;
  /** Presentation form of the field occupying buf[pos, next). May be '' (printed as nothing). */
  print(buf: Uint8Array, pos: number, next: number): string;
  /** True when the field consumes the rest of the rdata (must be last in a descriptor). */
  readonly toEnd?: boolean;
  /** True for domain names (the engine handles compression and canonical case for these). */
  readonly isName?: boolean;
}

export function rdataErr(msg: string): WireError {
  return new WireError('E_RDATA', msg);
}

export function need(pos: number, n: number, end: number): number {
  if (pos + n > end) throw rdataErr(`needs ${n} octet(s), ${Math.max(0, end - pos)} left`);
  return pos + n;
}

export function u16At(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

export function u32At(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
}

/** Concatenation of all remaining unquoted tokens (hex and base64 may be split by spaces). */
function joinRest(ts: Tokens): string {
  let s = '';
  for (const t of ts.rest()) {
    if (t.quoted) throw new WireError('E_SYNTAX', `unexpected quoted string "${t.text}"`);
    s += t.text;
  }
  return s;
}

// ---- integers ---------------------------------------------------------------------------------------------

export const u8: Kind = {
  parse: (ts, out) => out.u8(parseUint(ts.word(), 0xff)),
  scan: (_b, pos, end) => need(pos, 1, end),
  print: (b, pos) => String(b[pos]),
};

export const u16: Kind = {
  parse: (ts, out) => out.u16(parseUint(ts.word(), 0xffff)),
  scan: (_b, pos, end) => need(pos, 2, end),
  print: (b, pos) => String(u16At(b, pos)),
};

export const u32: Kind = {
  parse: (ts, out) => out.u32(parseUint(ts.word(), 0xffffffff)),
  scan: (_b, pos, end) => need(pos, 4, end),
  print: (b, pos) => String(u32At(b, pos)),
};

/** An RR type as a mnemonic (RRSIG type covered). */
export const rrtype: Kind = {
  parse: (ts, out) => out.u16(typeFromText(ts.word())),
  scan: (_b, pos, end) => need(pos, 2, end),
  print: (b, pos) => typeToText(u16At(b, pos)),
};

/**
 * RRSIG expiration/inception (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, or a plain number of seconds. The wire
 * value is the time modulo 2^32 (serial arithmetic, RFC 1982), printed as the date in 1970..2106.
 */
export const time: Kind = {
  parse(ts, out) {
    const s = ts.word();
    // 14 digits are a timestamp; any other number is seconds (RFC 4034 §3.2).
    if (s.length === 14 && /^[0-9]{14}$/.test(s)) {
      const t = parseTimestamp(s);
      if (!t) throw new WireError('E_SYNTAX', `"${s}" is not a valid YYYYMMDDHHmmSS time`);
      out.u32(serialOf(Math.floor(t.getTime() / 1000)));
      return;
    }
    out.u32(parseUint(s, 0xffffffff));
  },
  scan: (_b, pos, end) => need(pos, 4, end),
  print: (b, pos) => formatTimestamp(new Date(u32At(b, pos) * 1000)),
};

// ---- addresses --------------------------------------------------------------------------------------------

export const ipv4: Kind = {
  parse: (ts, out) => out.bytes(ipv4Parse(ts.word())),
  scan: (_b, pos, end) => need(pos, 4, end),
  print: (b, pos) => ipv4Format(b, pos),
};

export const ipv6: Kind = {
  parse: (ts, out) => out.bytes(ipv6Parse(ts.word())),
  scan: (_b, pos, end) => need(pos, 16, end),
  print: (b, pos) => ipv6Format(b, pos),
};

/** EUI-48 / EUI-64 (RFC 7043 §3.2, §4.2): hex pairs joined by `-`. */
function eui(n: number): Kind {
  return {
    parse(ts, out) {
      const s = ts.word();
      const parts = s.split('-');
      if (parts.length !== n || parts.some((p) => p.length !== 2))
        throw new WireError('E_SYNTAX', `"${s}" is not ${n} hex pairs joined by "-"`);
      out.bytes(hexDecode(parts.join('')));
    },
    scan: (_b, pos, end) => need(pos, n, end),
    print(b, pos) {
      const p: string[] = [];
      for (let i = 0; i < n; i++) p.push(hexEncode(b, pos + i, pos + i + 1));
      return p.join('-');
    },
  };
}
export const eui48 = eui(6);
export const eui64 = eui(8);

// ---- domain names -----------------------------------------------------------------------------------------

/** End of an uncompressed wire name at `pos`; rejects pointers, reserved label types and over-long names. */
function scanName(b: Uint8Array, pos: number, end: number): number {
  const start = pos;
  for (;;) {
    if (pos >= end) throw rdataErr('name runs past the end of the rdata');
    const len = b[pos]!;
    if (len === 0) break;
    if (len > MAX_LABEL)
      throw rdataErr(
        len >= 0xc0 ? 'compressed name where none is allowed' : `bad label length octet 0x${len.toString(16)}`,
      );
    pos += len + 1;
    if (pos - start + 1 > MAX_NAME_WIRE) throw new WireError('E_NAME_TOO_LONG', 'name longer than 255 octets');
  }
  return pos + 1;
}

export const name: Kind = {
  isName: true,
  parse(ts, out, origin) {
    out.bytes(parseName(ts.next().text, origin).wire);
  },
  scan: scanName,
  print: (b, pos, next) => nameToText(nameFromWire(b.subarray(pos, next))),
};

// ---- character strings ------------------------------------------------------------------------------------

/** One <character-string>: length octet + octets, printed quoted. */
export const str: Kind = {
  parse(ts, out) {
    const b = charStringFromToken(ts.next());
    out.u8(b.length);
    out.bytes(b);
  },
  scan(b, pos, end) {
    need(pos, 1, end);
    return need(pos + 1, b[pos]!, end);
  },
  print: (b, pos, next) => quoteText(b, pos + 1, next),
};

/** One or more <character-string>s to the end of the rdata (TXT, SPF). */
export const strs: Kind = {
  toEnd: true,
  parse(ts, out) {
    if (ts.done()) throw new WireError('E_SYNTAX', 'missing value');
    while (!ts.done()) str.parse(ts, out, null);
  },
  scan(b, pos, end) {
    if (pos >= end) throw rdataErr('needs at least one character-string');
    while (pos < end) pos = str.scan(b, pos, end);
    return pos;
  },
  print(b, pos, next) {
    const parts: string[] = [];
    while (pos < next) {
      const e = pos + 1 + b[pos]!;
      parts.push(quoteText(b, pos + 1, e));
      pos = e;
    }
    return parts.join(' ');
  },
};

/** Octets to the end printed as one quoted string (CAA value RFC 8659 §4.1.1, URI target RFC 7553 §4.4). */
export const textToEnd: Kind = {
  toEnd: true,
  parse(ts, out) {
    const t = ts.next();
    out.bytes(unescapeText(t.text));
  },
  scan: (_b, _pos, end) => end,
  print: (b, pos, next) => quoteText(b, pos, next),
};

/** CAA tag (RFC 8659 §4.1): length octet + 1..15 ASCII letters/digits, printed bare. */
export const caaTag: Kind = {
  parse(ts, out) {
    const s = ts.word();
    if (!/^[A-Za-z0-9]{1,15}$/.test(s))
      throw new WireError('E_SYNTAX', `"${s}" is not a CAA tag (1-15 letters/digits)`);
    out.u8(s.length);
    for (let i = 0; i < s.length; i++) out.u8(s.charCodeAt(i));
  },
  scan(b, pos, end) {
    need(pos, 1, end);
    const len = b[pos]!;
    const e = need(pos + 1, len, end);
    if (len < 1 || len > 15) throw rdataErr(`CAA tag of ${len} octets (1-15)`);
    for (let i = pos + 1; i < e; i++) {
      const c = b[i]!;
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)))
        throw rdataErr('CAA tag is not letters/digits');
    }
    return e;
  },
  print: (b, pos, next) => String.fromCharCode(...b.subarray(pos + 1, next)),
};

// ---- binary blobs -----------------------------------------------------------------------------------------

/**
 * Hex to the end of the rdata, upper case in one block (DS digest, TLSA data, SSHFP fingerprint). At least one
 * octet: an empty field could not be printed and parsed back (RFC 3597 form aside).
 */
export const hexToEnd: Kind = {
  toEnd: true,
  parse(ts, out) {
    const s = joinRest(ts);
    if (s.length === 0) throw new WireError('E_SYNTAX', 'missing value');
    out.bytes(hexDecode(s));
  },
  scan(_b, pos, end) {
    if (pos >= end) throw rdataErr('empty hex field');
    return end;
  },
  print: (b, pos, next) => hexEncode(b, pos, next),
};

/** Base64 to the end of the rdata in one block (DNSKEY key, RRSIG signature, OPENPGPKEY ...). */
export const base64ToEnd: Kind = {
  toEnd: true,
  parse(ts, out) {
    const s = joinRest(ts);
    if (s.length === 0) throw new WireError('E_SYNTAX', 'missing value');
    out.bytes(base64Decode(s));
  },
  scan(_b, pos, end) {
    if (pos >= end) throw rdataErr('empty base64 field');
    return end;
  },
  print: (b, pos, next) => base64Encode(b, pos, next),
};

/** Length octet + hex, `-` when empty (NSEC3/NSEC3PARAM salt, RFC 5155 §3.3). */
export const hexLen8: Kind = {
  parse(ts, out) {
    const s = ts.word();
    const b = s === '-' ? new Uint8Array(0) : hexDecode(s);
    if (b.length > 255) throw new WireError('E_SYNTAX', `salt of ${b.length} octets (max 255)`);
    out.u8(b.length);
    out.bytes(b);
  },
  scan(b, pos, end) {
    need(pos, 1, end);
    return need(pos + 1, b[pos]!, end);
  },
  print: (b, pos, next) => (next === pos + 1 ? '-' : hexEncode(b, pos + 1, next)),
};

/** Length octet + base32hex (NSEC3 next hashed owner name, RFC 5155 §3.3); at least one octet. */
export const base32Len8: Kind = {
  parse(ts, out) {
    const b = base32hexDecode(ts.word());
    if (b.length < 1 || b.length > 255) throw new WireError('E_SYNTAX', `hash of ${b.length} octets (1-255)`);
    out.u8(b.length);
    out.bytes(b);
  },
  scan(b, pos, end) {
    need(pos, 1, end);
    if (b[pos] === 0) throw rdataErr('empty NSEC3 next hashed owner name');
    return need(pos + 1, b[pos]!, end);
  },
  print: (b, pos, next) => base32hexEncode(b, pos + 1, next),
};

// ---- type bitmap (RFC 4034 §4.1.2, shared by NSEC, NSEC3, CSYNC; the codec is ../typebitmap.ts) ------------

export const typeBitmap: Kind = {
  toEnd: true,
  parse(ts, out) {
    const types: number[] = [];
    for (const t of ts.rest()) {
      if (t.quoted) throw new WireError('E_SYNTAX', `unexpected quoted string "${t.text}"`);
      types.push(typeFromText(t.text));
    }
    out.bytes(encodeTypeBitmap(types));
  },
  scan(b, pos, end) {
    const problem = typeBitmapProblem(b, pos, end);
    if (problem !== null) throw rdataErr(problem);
    return end;
  },
  print: (b, pos, next) => decodeTypeBitmap(b, pos, next).map(typeToText).join(' '),
};
