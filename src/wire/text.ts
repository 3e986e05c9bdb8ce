/**
 * Presentation-format building blocks shared by the rdata field kinds: the rdata tokenizer (RFC 1035 §5.1:
 * whitespace-separated fields, quoted strings, `\X` / `\DDD` escapes, parentheses as grouping), character
 * strings, numbers, addresses (RFC 4291 §2.2 in, RFC 5952 out) and the binary encodings used by DNSSEC and
 * DANE records: base16, base64 (RFC 4648 §4) and base32hex without padding (RFC 4648 §7, RFC 5155 §3.3).
 *
 * Load-time code: clarity over speed. Every failure is a WireError('E_SYNTAX' | 'E_ESCAPE').
 */
import { WireError } from './errors.js';

/** One presentation field. `text` keeps escapes as written; for a quoted token it is the text between quotes. */
interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Splits rdata text into tokens. Outside quotes, unescaped `(` and `)` only group lines (RFC 1035 §5.1) and act
 * as whitespace. A quote inside a word (`key="a b"`) is kept as part of that word, so SVCB `key=value` pairs
 * with quoted values stay one token. `;` is an ordinary character here (YAML values carry no comments).
 */
export function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c) || c === 0x28 || c === 0x29) {
      i++;
      continue;
    }
    if (c === 0x22) {
      // Quoted token: up to the next unescaped quote.
      let j = i + 1;
      while (j < n && s.charCodeAt(j) !== 0x22) j += s.charCodeAt(j) === 0x5c ? 2 : 1;
      if (j >= n) throw new WireError('E_SYNTAX', `unterminated quoted string in ${JSON.stringify(s)}`);
      out.push({ text: s.slice(i + 1, j), quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    let inQuote = false;
    while (j < n) {
      const d = s.charCodeAt(j);
      if (d === 0x5c) {
        j += 2;
        continue;
      }
      if (d === 0x22) inQuote = !inQuote;
      else if (!inQuote && (isSpace(d) || d === 0x28 || d === 0x29)) break;
      j++;
    }
    if (inQuote) throw new WireError('E_SYNTAX', `unterminated quoted string in ${JSON.stringify(s)}`);
    if (j > n) throw new WireError('E_ESCAPE', `trailing backslash in ${JSON.stringify(s)}`);
    out.push({ text: s.slice(i, j), quoted: false });
    i = j;
  }
  return out;
}

/** A cursor over tokens, used by the rdata field kinds. */
export class Tokens {
  private i = 0;
  constructor(private readonly list: readonly Token[]) {}

  /** The next token; throws E_SYNTAX "missing" when there is none. */
  next(): Token {
    const t = this.list[this.i];
    if (!t) throw new WireError('E_SYNTAX', 'missing value');
    this.i++;
    return t;
  }

  /** The next unquoted token text (numbers, mnemonics, base64 ...). */
  word(): string {
    const t = this.next();
    if (t.quoted) throw new WireError('E_SYNTAX', `unexpected quoted string "${t.text}"`);
    return t.text;
  }

  done(): boolean {
    return this.i >= this.list.length;
  }

  /** All remaining tokens (consumes them). */
  rest(): Token[] {
    const r = this.list.slice(this.i);
    this.i = this.list.length;
    return r;
  }

  remaining(): readonly Token[] {
    return this.list.slice(this.i);
  }
}

// ---- character strings (RFC 1035 §3.3, §5.1) ---------------------------------------------------------------

const utf8 = new TextEncoder();

/**
 * Decodes the escapes of a character-string (`\X` -> X, `\DDD` -> octet DDD). Characters outside ASCII are
 * taken as UTF-8. Does not check the 255-octet limit (callers differ).
 */
export function unescapeText(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length;) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) {
      if (i + 1 >= s.length) throw new WireError('E_ESCAPE', `trailing backslash in "${s}"`);
      const d1 = s.charCodeAt(i + 1) - 0x30;
      if (d1 >= 0 && d1 <= 9) {
        const d2 = s.charCodeAt(i + 2) - 0x30;
        const d3 = s.charCodeAt(i + 3) - 0x30;
        if (!(d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9)) throw new WireError('E_ESCAPE', `bad \\DDD escape in "${s}"`);
        const v = d1 * 100 + d2 * 10 + d3;
        if (v > 255) throw new WireError('E_ESCAPE', `\\DDD value ${v} > 255 in "${s}"`);
        out.push(v);
        i += 4;
        continue;
      }
      const cp = s.codePointAt(i + 1)!;
      const ch = String.fromCodePoint(cp);
      for (const b of utf8.encode(ch)) out.push(b);
      i += 1 + ch.length;
      continue;
    }
    if (c < 0x80) {
      out.push(c);
      i++;
      continue;
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of utf8.encode(ch)) out.push(b);
    i += ch.length;
  }
  return Uint8Array.from(out);
}

/** One <character-string> from a token (quoted or not): 0..255 octets. */
export function charStringFromToken(t: Token): Uint8Array {
  const b = unescapeText(t.text);
  if (b.length > 255) throw new WireError('E_SYNTAX', `character-string of ${b.length} octets (max 255)`);
  return b;
}

/**
 * The escaped body of a character-string as Knot prints it inside quotes: `"` and `\` get a backslash, octets
 * outside printable ASCII become `\DDD`; everything else (space, `;`, `(`, `@`, `$`) is literal.
 */
function escapeText(buf: Uint8Array, start = 0, end = buf.length): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b > 0x7e) s += '\\' + (b < 10 ? '00' : b < 100 ? '0' : '') + b;
    else if (b === 0x22 || b === 0x5c) s += '\\' + String.fromCharCode(b);
    else s += String.fromCharCode(b);
  }
  return s;
}

/** A quoted character-string. */
export function quoteText(buf: Uint8Array, start = 0, end = buf.length): string {
  return '"' + escapeText(buf, start, end) + '"';
}

// ---- numbers ------------------------------------------------------------------------------------------------

/** A decimal integer 0..max with no sign, no leading/trailing junk. */
export function parseUint(s: string, max: number): number {
  if (s.length === 0 || s.length > 10) throw new WireError('E_SYNTAX', `"${s}" is not a number in 0..${max}`);
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) throw new WireError('E_SYNTAX', `"${s}" is not a number in 0..${max}`);
    v = v * 10 + d;
  }
  if (v > max) throw new WireError('E_SYNTAX', `${s} is out of range 0..${max}`);
  return v;
}

// ---- base16 -------------------------------------------------------------------------------------------------

const HEX = '0123456789ABCDEF';

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

export function hexDecode(s: string): Uint8Array {
  if (s.length % 2 !== 0) throw new WireError('E_SYNTAX', 'odd number of hex digits');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexVal(s.charCodeAt(2 * i));
    const lo = hexVal(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new WireError('E_SYNTAX', `bad hex digit in "${s.slice(2 * i, 2 * i + 2)}"`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Upper-case hex, one block (Knot style). */
export function hexEncode(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
  return s;
}

// ---- base64 (RFC 4648 §4, padded) ---------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VAL[B64.charCodeAt(i)] = i;

/** Strict base64: alphabet only, length a multiple of 4, `=` only as final padding, zero pad bits. */
export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new WireError('E_SYNTAX', 'base64 length is not a multiple of 4');
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const n = (s.length / 4) * 3 - pad;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = s.charCodeAt(i + k);
      let d: number;
      if (c === 0x3d && i + 4 === s.length && k >= 4 - pad) d = 0;
      else {
        d = c < 128 ? B64_VAL[c]! : -1;
        if (d < 0) throw new WireError('E_SYNTAX', `bad base64 character "${s[i + k]}"`);
      }
      v = (v << 6) | d;
    }
    if (o < n) out[o++] = (v >> 16) & 0xff;
    if (o < n) out[o++] = (v >> 8) & 0xff;
    else if (pad === 2 && (v & 0xffff) !== 0) throw new WireError('E_SYNTAX', 'base64 has non-zero pad bits');
    if (o < n) out[o++] = v & 0xff;
    else if (pad === 1 && (v & 0xff) !== 0) throw new WireError('E_SYNTAX', 'base64 has non-zero pad bits');
  }
  return out;
}

export function base64Encode(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  let i = start;
  for (; i + 3 <= end; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += B64[v >> 18]! + B64[(v >> 12) & 63]! + B64[(v >> 6) & 63]! + B64[v & 63]!;
  }
  if (end - i === 1) {
    const v = b[i]! << 16;
    s += B64[v >> 18]! + B64[(v >> 12) & 63]! + '==';
  } else if (end - i === 2) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8);
    s += B64[v >> 18]! + B64[(v >> 12) & 63]! + B64[(v >> 6) & 63]! + '=';
  }
  return s;
}

// ---- base32hex (RFC 4648 §7, no padding, as in NSEC3 owner names and next-hashed fields) ---------------------

const B32 = '0123456789abcdefghijklmnopqrstuv';

export function base32hexDecode(s: string): Uint8Array {
  const bits = s.length * 5;
  if (bits % 8 >= 5) throw new WireError('E_SYNTAX', `base32hex length ${s.length} is impossible`);
  const out = new Uint8Array(Math.floor(bits / 8));
  let acc = 0;
  let nbits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x56) c += 0x20;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x76 ? c - 0x57 : -1;
    if (d < 0) throw new WireError('E_SYNTAX', `bad base32hex character "${s[i]}"`);
    acc = ((acc << 5) | d) & 0xfff;
    nbits += 5;
    if (nbits >= 8) {
      nbits -= 8;
      out[o++] = (acc >> nbits) & 0xff;
    }
  }
  if ((acc & ((1 << nbits) - 1)) !== 0) throw new WireError('E_SYNTAX', 'base32hex has non-zero pad bits');
  return out;
}

/** Lower-case base32hex without padding (Knot prints NSEC3 hashes this way). */
export function base32hexEncode(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  let acc = 0;
  let nbits = 0;
  for (let i = start; i < end; i++) {
    acc = ((acc << 8) | b[i]!) & 0xffff;
    nbits += 8;
    while (nbits >= 5) {
      nbits -= 5;
      s += B32[(acc >> nbits) & 31]!;
    }
  }
  if (nbits > 0) s += B32[(acc << (5 - nbits)) & 31]!;
  return s;
}

// ---- addresses ----------------------------------------------------------------------------------------------

/** Dotted-quad IPv4 (exactly four decimal parts 0..255, no leading zeros beyond "0"). */
export function ipv4Parse(s: string): Uint8Array {
  const parts = s.split('.');
  if (parts.length !== 4) throw new WireError('E_SYNTAX', `"${s}" is not an IPv4 address`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === '0'))
      throw new WireError('E_SYNTAX', `"${s}" is not an IPv4 address`);
    try {
      out[i] = parseUint(p, 255);
    } catch {
      throw new WireError('E_SYNTAX', `"${s}" is not an IPv4 address`);
    }
  }
  return out;
}

export function ipv4Format(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** IPv6 text (RFC 4291 §2.2: hex groups, one `::`, optional trailing dotted quad). */
export function ipv6Parse(s: string): Uint8Array {
  const bad = (): WireError => new WireError('E_SYNTAX', `"${s}" is not an IPv6 address`);
  const out = new Uint8Array(16);
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) throw bad();
  const parseSide = (part: string): number[] => {
    if (part === '') return [];
    const groups = part.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = ipv4Parse(g);
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (g.length === 0 || g.length > 4) throw bad();
      let v = 0;
      for (let k = 0; k < g.length; k++) {
        const d = hexVal(g.charCodeAt(k));
        if (d < 0) throw bad();
        v = (v << 4) | d;
      }
      words.push(v);
    }
    return words;
  };
  let words: number[];
  if (dbl === -1) {
    words = parseSide(s);
    if (words.length !== 8) throw bad();
  } else {
    const left = parseSide(s.slice(0, dbl));
    const right = parseSide(s.slice(dbl + 2));
    if (left.length + right.length > 7) throw bad();
    words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/**
 * RFC 5952 §4 text (lower case, longest run of two or more zero groups as `::`, first on a tie), with the
 * dotted-quad tail that inet_ntop (and so kdig) uses for IPv4-compatible and IPv4-mapped addresses.
 */
export function ipv6Format(b: Uint8Array, at = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
    return (bestLen === 5 ? '::ffff:' : '::') + ipv4Format(b, at + 12);
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += w[i]!.toString(16);
  }
  return s;
}
