/**
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): finding the COOKIE option of a query
 * without a full decode, building and checking server cookies, taking the option out of the query before it is
 * answered and putting ours into the answer. Which secret is current is cookie-secret.ts's; what is done with
 * the verdict (answer, exempt from rate limiting) is guard.ts's.
 */
import { sipHash24 } from '../wire/siphash.js';
import { T } from '../wire/types.js';
import { EDNS_UDP_SIZE } from './respond.js';

/** EDNS option code of COOKIE (RFC 7873 §4). */
export const COOKIE_OPTION = 10;
/** A client cookie is 8 octets (RFC 7873 §4). */
const CLIENT_LEN = 8;
/** Our server cookies are 16 octets: version, reserved, timestamp, hash (RFC 9018 §4.2). */
const SERVER_LEN = 16;
/** What our COOKIE option adds to an answer: option header, client cookie, server cookie. */
export const COOKIE_REPLY_SIZE = 4 + CLIENT_LEN + SERVER_LEN;
/** RFC 9018 §4.3: a cookie is good for an hour, may be five minutes ahead, and is renewed after half an hour. */
const MAX_AGE = 3600;
const MAX_AHEAD = 300;
const RENEW_AGE = 1800;

/** Where the COOKIE option of a query is (offsets into the query), or why there is nothing to do. */
export interface QueryCookie {
  /** Offset of the OPT RR's CLASS field (the requestor's UDP size) and of its RDLENGTH. */
  readonly sizeAt: number;
  readonly rdlengthAt: number;
  /** Offset of the option header and the option data length. */
  readonly optionAt: number;
  readonly length: number;
}

/**
 * The COOKIE option of `q`: `null` when there is none (no OPT, no COOKIE, a TSIG-signed query whose MAC covers
 * the option, or a layout the full decoder is left to judge), `'malformed'` for a length RFC 7873 §5.2.2 answers
 * with FORMERR (not 8 and not 16..40 octets).
 */
export function findCookie(q: Uint8Array): QueryCookie | 'malformed' | null {
  if (q.length < 12) return null;
  const an = (q[6]! << 8) | q[7]!;
  const ns = (q[8]! << 8) | q[9]!;
  const ar = (q[10]! << 8) | q[11]!;
  if (ar === 0) return null;
  let p = 12;
  for (let i = (q[4]! << 8) | q[5]!; i > 0; i--) {
    p = skipName(q, p) + 4;
    if (p > q.length) return null;
  }
  let found: QueryCookie | null = null;
  for (let i = 0; i < an + ns + ar; i++) {
    p = skipName(q, p);
    if (p + 10 > q.length) return null;
    const type = (q[p]! << 8) | q[p + 1]!;
    const rdlength = (q[p + 8]! << 8) | q[p + 9]!;
    const rdata = p + 10;
    if (rdata + rdlength > q.length) return null;
    if (type === T.TSIG) return null; // RFC 8945 §5.3: the answer's MAC covers the request as sent
    if (type === T.OPT && i >= an + ns && found === null) {
      for (let o = rdata; o + 4 <= rdata + rdlength;) {
        const code = (q[o]! << 8) | q[o + 1]!;
        const len = (q[o + 2]! << 8) | q[o + 3]!;
        if (o + 4 + len > rdata + rdlength) return null; // the decoder's FORMERR (RFC 6891 §6.1.2)
        if (code === COOKIE_OPTION && found === null) {
          if (len !== CLIENT_LEN && (len < 16 || len > 40)) return 'malformed';
          found = { sizeAt: p + 2, rdlengthAt: p + 8, optionAt: o, length: len };
        }
        o += 4 + len;
      }
    }
    p = rdata + rdlength;
  }
  return found;
}

/** Offset of the OPT RR's TYPE field in the additional section of `q`, or -1 (none, or not readable). */
export function optAt(q: Uint8Array): number {
  if (q.length < 12) return -1;
  const before = ((q[6]! << 8) | q[7]!) + ((q[8]! << 8) | q[9]!);
  const all = before + ((q[10]! << 8) | q[11]!);
  let p = 12;
  for (let i = (q[4]! << 8) | q[5]!; i > 0; i--) p = skipName(q, p) + 4;
  for (let i = 0; i < all && p <= q.length; i++) {
    p = skipName(q, p);
    if (p + 10 > q.length) return -1;
    if (i >= before && ((q[p]! << 8) | q[p + 1]!) === T.OPT) return p;
    p += 10 + ((q[p + 8]! << 8) | q[p + 9]!);
  }
  return -1;
}

/** The offset after the name at `p` (a compression pointer ends it); past the end when it runs out. */
function skipName(q: Uint8Array, p: number): number {
  for (let hops = 0; p < q.length && hops < 128; hops++) {
    const l = q[p]!;
    if (l === 0) return p + 1;
    if (l >= 0xc0) return p + 2;
    p += l + 1;
  }
  return q.length + 1;
}

/**
 * The query without its COOKIE option, as the answering code sees it: the common shape again (fastpath.ts,
 * the response cache), and a UDP size lowered by what our option will add, so that the answer still fits the
 * client's limit (RFC 6891 §6.2.5) and ours once the option is in.
 */
export function stripCookie(q: Uint8Array, c: QueryCookie): Uint8Array {
  const cut = 4 + c.length;
  const out = Buffer.allocUnsafe(q.length - cut);
  out.set(q.subarray(0, c.optionAt), 0);
  out.set(q.subarray(c.optionAt + cut), c.optionAt);
  const rdlength = ((q[c.rdlengthAt]! << 8) | q[c.rdlengthAt + 1]!) - cut;
  out[c.rdlengthAt] = rdlength >>> 8;
  out[c.rdlengthAt + 1] = rdlength & 0xff;
  const size = Math.max(512, Math.min((q[c.sizeAt]! << 8) | q[c.sizeAt + 1]!, EDNS_UDP_SIZE) - COOKIE_REPLY_SIZE);
  out[c.sizeAt] = size >>> 8;
  out[c.sizeAt + 1] = size & 0xff;
  return out;
}

/**
 * `response` with `option` (client cookie + server cookie) in its OPT RR, or null when it has no OPT RR of ours
 * at the end (respond.ts writes it last, with no options) or would grow past `limit`.
 */
export function withCookie(response: Uint8Array, option: Uint8Array, limit: number): Uint8Array | null {
  const n = response.length;
  if (n < 23 || ((response[10]! << 8) | response[11]!) === 0) return null;
  const o = n - 11;
  if (response[o] !== 0 || response[o + 1] !== 0 || response[o + 2] !== T.OPT) return null;
  if (response[n - 2] !== 0 || response[n - 1] !== 0) return null;
  if (n + 4 + option.length > limit) return null;
  const out = Buffer.allocUnsafe(n + 4 + option.length);
  out.set(response, 0);
  out[n - 2] = 0;
  out[n - 1] = 4 + option.length;
  out[n] = 0;
  out[n + 1] = COOKIE_OPTION;
  out[n + 2] = 0;
  out[n + 3] = option.length;
  out.set(option, n + 4);
  return out;
}

/**
 * The server cookie of RFC 9018 §4.2 for `client` (8 octets) from the address `ip` (4 or 16 octets) at `now`
 * (Unix seconds): version 1, three reserved zero octets, the timestamp (mod 2^32), and the SipHash-2-4 under
 * `secret` of client cookie | version | reserved | timestamp | client IP.
 */
export function serverCookie(secret: Uint8Array, client: Uint8Array, ip: Uint8Array, now: number): Uint8Array {
  const head = new Uint8Array(8);
  head[0] = 1;
  const ts = now >>> 0;
  head[4] = ts >>> 24;
  head[5] = (ts >>> 16) & 0xff;
  head[6] = (ts >>> 8) & 0xff;
  head[7] = ts & 0xff;
  const out = new Uint8Array(SERVER_LEN);
  out.set(head, 0);
  out.set(cookieHash(secret, client, head, ip), 8);
  return out;
}

function cookieHash(secret: Uint8Array, client: Uint8Array, head: Uint8Array, ip: Uint8Array): Uint8Array {
  const msg = new Uint8Array(CLIENT_LEN + 8 + ip.length);
  msg.set(client.subarray(0, CLIENT_LEN), 0);
  msg.set(head.subarray(0, 8), CLIENT_LEN);
  msg.set(ip, CLIENT_LEN + 8);
  return sipHash24(secret, msg);
}

/** What a query's COOKIE option is worth. */
export type CookieVerdict = 'client-only' | 'valid' | 'renew' | 'invalid';

/**
 * Checks the option data `cookie` (client cookie, then server cookie) from `ip` at `now` against the secrets
 * (current first). RFC 9018 §4.3: version 1, 16 octets, a timestamp at most an hour old and at most five minutes
 * ahead (serial arithmetic, so the 2106 wrap is no cliff), and a hash that one of the secrets gives: 'valid', or
 * 'renew' once it is half an hour old. The reserved octets are hashed as received.
 */
export function checkCookie(
  cookie: Uint8Array,
  ip: Uint8Array,
  secrets: readonly Uint8Array[],
  now: number,
): CookieVerdict {
  if (cookie.length === CLIENT_LEN) return 'client-only';
  if (cookie.length !== CLIENT_LEN + SERVER_LEN || cookie[CLIENT_LEN] !== 1) return 'invalid';
  const ts = ((cookie[12]! << 24) | (cookie[13]! << 16) | (cookie[14]! << 8) | cookie[15]!) >>> 0;
  const age = ((now >>> 0) - ts) | 0;
  if (age > MAX_AGE || age < -MAX_AHEAD) return 'invalid';
  const client = cookie.subarray(0, CLIENT_LEN);
  const head = cookie.subarray(CLIENT_LEN, CLIENT_LEN + 8);
  const hash = cookie.subarray(CLIENT_LEN + 8);
  for (const s of secrets) {
    const h = cookieHash(s, client, head, ip);
    let same = true;
    for (let i = 0; i < 8; i++) same &&= h[i] === hash[i];
    if (same) return age >= RENEW_AGE ? 'renew' : 'valid';
  }
  return 'invalid';
}
