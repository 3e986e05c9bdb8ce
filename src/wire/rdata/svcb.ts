/**
 * SvcParams of SVCB/HTTPS (RFC 9460 §2.1, §2.2, §7, §8; dohpath RFC 9461; ohttp RFC 9540) as one field kind:
 * a sequence of (key u16, length u16, value) in strictly increasing key order, to the end of the rdata.
 *
 * Presentation: `key=value` or `key`; values may be quoted; list values (mandatory, alpn, ipv4hint, ipv6hint)
 * are comma-separated, and alpn uses the RFC 9460 Appendix A.1 value-list escapes (`\,` and `\\`) on top of
 * the character-string escapes. Printing follows kdig (Knot 3.2): wire order, unknown keys as `keyNNNNN="..."`.
 */
import { WireError } from '../errors.js';
import {
  base64Decode,
  base64Encode,
  ipv4Format,
  ipv4Parse,
  ipv6Format,
  ipv6Parse,
  parseUint,
  quoteText,
  unescapeText,
  type Tokens,
} from '../text.js';
import { need, rdataErr, u16At, type Bytes, type Kind } from './kinds.js';

const KEY_NAMES = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint', 'dohpath', 'ohttp'];
const MANDATORY = 0;
const ALPN = 1;
const NO_DEFAULT_ALPN = 2;
const PORT = 3;
const IPV4HINT = 4;
const ECH = 5;
const IPV6HINT = 6;
const OHTTP = 8;
const INVALID_KEY = 65535; // RFC 9460 §14.3.2 "Invalid key"

function syntax(msg: string): WireError {
  return new WireError('E_SYNTAX', msg);
}

function svcKeyFromText(s: string): number {
  const i = KEY_NAMES.indexOf(s.toLowerCase());
  if (i >= 0) return i;
  if (/^key[0-9]{1,5}$/i.test(s)) {
    const n = Number(s.slice(3));
    if (n < INVALID_KEY) return n;
  }
  throw syntax(`unknown SvcParamKey "${s}"`);
}

function svcKeyToText(k: number): string {
  return KEY_NAMES[k] ?? `key${k}`;
}

/** Splits a decoded value at commas not escaped by a backslash, removing the value-list escapes (App. A.1). */
function valueList(v: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (b === 0x5c && i + 1 < v.length) {
      cur.push(v[++i]!);
      continue;
    }
    if (b === 0x2c) {
      items.push(Uint8Array.from(cur));
      cur = [];
      continue;
    }
    cur.push(b);
  }
  items.push(Uint8Array.from(cur));
  return items;
}

/**
 * Removes unescaped double quotes from a value: `"h2,h3"` and kdig's per-item quoting `"a b",c` both mean the
 * quoted characters literally (the tokenizer already kept the quoted spaces inside the token).
 */
function stripQuotes(s: string): string {
  if (!s.includes('"')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      out += s.slice(i, i + 2);
      i++;
    } else if (c !== '"') out += c;
  }
  return out;
}

function latin1(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

/** Value bytes of one parameter from its presentation text. */
function encodeValue(key: number, text: string | null): Uint8Array {
  const keyName = svcKeyToText(key);
  if (key === NO_DEFAULT_ALPN || key === OHTTP) {
    if (text !== null && text !== '') throw syntax(`${keyName} takes no value`);
    return new Uint8Array(0);
  }
  if (text === null) {
    if (key <= IPV6HINT) throw syntax(`${keyName} needs a value`);
    return new Uint8Array(0);
  }
  const raw = unescapeText(text);
  const out: number[] = [];
  switch (key) {
    case MANDATORY:
      for (const item of valueList(raw)) {
        const k = svcKeyFromText(latin1(item));
        out.push(k >> 8, k & 0xff);
      }
      break;
    case ALPN:
      for (const item of valueList(raw)) {
        if (item.length < 1 || item.length > 255) throw syntax(`alpn id of ${item.length} octets (1-255)`);
        out.push(item.length, ...item);
      }
      break;
    case PORT: {
      const p = parseUint(latin1(raw), 0xffff);
      out.push(p >> 8, p & 0xff);
      break;
    }
    case IPV4HINT:
      for (const item of valueList(raw)) out.push(...ipv4Parse(latin1(item)));
      break;
    case IPV6HINT:
      for (const item of valueList(raw)) out.push(...ipv6Parse(latin1(item)));
      break;
    case ECH:
      out.push(...base64Decode(latin1(raw)));
      break;
    default:
      out.push(...raw);
  }
  return Uint8Array.from(out);
}

/** Validates one parameter value (RFC 9460 §7, §8). */
function checkValue(key: number, b: Uint8Array, pos: number, len: number): void {
  const name = svcKeyToText(key);
  switch (key) {
    case MANDATORY: {
      if (len === 0 || len % 2 !== 0) throw rdataErr(`mandatory value of ${len} octets`);
      let prev = -1;
      for (let i = pos; i < pos + len; i += 2) {
        const k = u16At(b, i);
        if (k === MANDATORY) throw rdataErr('mandatory lists itself');
        if (k <= prev) throw rdataErr('mandatory keys not in strictly increasing order');
        prev = k;
      }
      return;
    }
    case ALPN: {
      if (len === 0) throw rdataErr('empty alpn');
      for (let i = pos; i < pos + len;) {
        const l = b[i]!;
        if (l === 0) throw rdataErr('empty alpn id');
        i += 1 + l;
        if (i > pos + len) throw rdataErr('alpn id runs past its value');
      }
      return;
    }
    case NO_DEFAULT_ALPN:
    case OHTTP:
      if (len !== 0) throw rdataErr(`${name} with a value`);
      return;
    case PORT:
      if (len !== 2) throw rdataErr(`port value of ${len} octets`);
      return;
    case IPV4HINT:
      if (len === 0 || len % 4 !== 0) throw rdataErr(`ipv4hint value of ${len} octets`);
      return;
    case IPV6HINT:
      if (len === 0 || len % 16 !== 0) throw rdataErr(`ipv6hint value of ${len} octets`);
      return;
    case ECH:
      if (len === 0) throw rdataErr('empty ech');
      return;
    default:
      if (key === INVALID_KEY) throw rdataErr('SvcParamKey 65535 is reserved');
  }
}

/** alpn id as kdig prints it: value-list escapes doubled by character-string escaping. */
function alpnItemText(b: Uint8Array, from: number, to: number): string {
  let s = '';
  let space = false;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c === 0x5c) s += '\\\\\\\\';
    else if (c === 0x2c) s += '\\\\,';
    else if (c === 0x22) s += '\\"';
    else if (c < 0x20 || c > 0x7e) s += '\\' + String(c).padStart(3, '0');
    else {
      if (c === 0x20) space = true;
      s += String.fromCharCode(c);
    }
  }
  return space ? `"${s}"` : s;
}

function valueText(key: number, b: Uint8Array, pos: number, len: number): string {
  const end = pos + len;
  const items: string[] = [];
  switch (key) {
    case MANDATORY:
      for (let i = pos; i < end; i += 2) items.push(svcKeyToText(u16At(b, i)));
      return items.join(',');
    case ALPN:
      for (let i = pos; i < end; i += 1 + b[i]!) items.push(alpnItemText(b, i + 1, i + 1 + b[i]!));
      return items.join(',');
    case PORT:
      return String(u16At(b, pos));
    case IPV4HINT:
      for (let i = pos; i < end; i += 4) items.push(ipv4Format(b, i));
      return items.join(',');
    case IPV6HINT:
      for (let i = pos; i < end; i += 16) items.push(ipv6Format(b, i));
      return items.join(',');
    case ECH:
      return base64Encode(b, pos, end);
    default:
      return quoteText(b, pos, end);
  }
}

export const svcParams: Kind = {
  toEnd: true,
  parse(ts: Tokens, out: Bytes) {
    const params = new Map<number, Uint8Array>();
    for (const t of ts.rest()) {
      if (t.quoted) throw syntax(`unexpected quoted string "${t.text}"`);
      const eq = t.text.indexOf('=');
      const keyText = eq < 0 ? t.text : t.text.slice(0, eq);
      const value = eq < 0 ? null : stripQuotes(t.text.slice(eq + 1));
      const key = svcKeyFromText(keyText);
      if (params.has(key)) throw syntax(`SvcParamKey ${svcKeyToText(key)} appears twice`);
      let v: Uint8Array;
      try {
        v = encodeValue(key, value);
      } catch (e) {
        throw e instanceof WireError ? e.withContext(svcKeyToText(key)) : e;
      }
      if (key === MANDATORY) {
        // Wire order is strictly increasing (RFC 9460 §8); duplicates are an error.
        const ks: number[] = [];
        for (let i = 0; i < v.length; i += 2) ks.push(u16At(v, i));
        ks.sort((a, b) => a - b);
        for (let i = 1; i < ks.length; i++)
          if (ks[i] === ks[i - 1]) throw syntax(`mandatory lists ${svcKeyToText(ks[i]!)} twice`);
        v = Uint8Array.from(ks.flatMap((k) => [k >> 8, k & 0xff]));
      }
      params.set(key, v);
    }
    if (params.has(NO_DEFAULT_ALPN) && !params.has(ALPN))
      throw syntax('no-default-alpn without alpn (RFC 9460 §7.1.1)');
    for (const key of [...params.keys()].sort((a, b) => a - b)) {
      const v = params.get(key)!;
      if (v.length > 0xffff) throw syntax(`${svcKeyToText(key)} value too long`);
      out.u16(key);
      out.u16(v.length);
      out.bytes(v);
    }
  },
  scan(b, pos, end) {
    let prev = -1;
    const keys: number[] = [];
    let mandatory: number[] = [];
    while (pos < end) {
      need(pos, 4, end);
      const key = u16At(b, pos);
      const len = u16At(b, pos + 2);
      need(pos + 4, len, end);
      if (key <= prev) throw rdataErr('SvcParamKeys not in strictly increasing order');
      checkValue(key, b, pos + 4, len);
      if (key === MANDATORY) {
        mandatory = [];
        for (let i = pos + 4; i < pos + 4 + len; i += 2) mandatory.push(u16At(b, i));
      }
      keys.push(key);
      prev = key;
      pos += 4 + len;
    }
    for (const k of mandatory) if (!keys.includes(k)) throw rdataErr(`mandatory key ${svcKeyToText(k)} is missing`);
    return pos;
  },
  print(b, pos, next) {
    const parts: string[] = [];
    while (pos < next) {
      const key = u16At(b, pos);
      const len = u16At(b, pos + 2);
      const name = svcKeyToText(key);
      if (len === 0 && key !== ALPN && key !== MANDATORY && key !== IPV4HINT && key !== IPV6HINT && key !== ECH)
        parts.push(name);
      else parts.push(`${name}=${valueText(key, b, pos + 4, len)}`);
      pos += 4 + len;
    }
    return parts.join(' ');
  },
};
