/**
 * Bytes in -> bytes out for one DNS message, with no DNS policy of its own (that lives in query/):
 *  1. header pre-check on the raw bytes: shorter than a header or QR=1 -> silence (never answer a response:
 *     that is how reflection loops start); opcode other than QUERY -> NOTIMP;
 *  2. strict decode; anything malformed -> FORMERR (the header was readable);
 *  3. question and EDNS checks: exactly one question, class IN, EDNS version 0 (else BADVERS, RFC 6891 §6.1.3);
 *  4. the response cache (response-cache.ts), then pre-encoded NXDOMAIN responses (negative.ts) and wildcard
 *     answers (wildcard.ts), then query/ and the encoder.
 * A TSIG-signed query reaches it through tsig-query.ts with its TSIG removed and `reserve` octets to leave for
 * the TSIG of the answer: such a query bypasses both caches (an answer to be signed is never cached and never
 * replayed). AXFR over TCP and IXFR are taken before it (transfer.ts); here AXFR over UDP is NOTIMP (RFC 5936
 * §4.2).
 * The caches live in the snapshot, so a snapshot swap drops them atomically with the data they were built from.
 */
import { decodeMessage, type Message } from '../wire/message.js';
import { WireError } from '../wire/errors.js';
import { CLASS_IN, OPCODE, RCODE, T } from '../wire/types.js';
import { absentTypes, answeringWildcard, answerQuery } from '../query/answer.js';
import type { ZoneSet } from '../zone/set.js';
import type { Zone } from '../zone/zone.js';
import type { ZoneSecurity } from '../query/security.js';
import { EDNS_UDP_SIZE, encodeResponse, type ResponseEdns } from './respond.js';
import { FLAG_AA, FLAG_CD, FLAG_QR, FLAG_RD } from '../wire/header.js';
import { peekSimpleQuery } from './fastpath.js';
import { NegativeCache, respondNxdomain } from './negative.js';
import type { Remote, Transport } from './transport.js';
import type { TsigKey } from '../dnssec/tsigalg.js';
import { ResponseCache, type ResponseCacheStats } from './response-cache.js';
import { replayable, respondWildcard, WildcardCache } from './wildcard.js';

export { ResponseCache } from './response-cache.js';

/** What the server answers from: swapped as one reference. */
export interface Snapshot {
  readonly zones: ZoneSet;
  readonly cache: ResponseCache;
  /** The signed view of each signed zone (absent: served unsigned). */
  readonly security: ReadonlyMap<Zone, ZoneSecurity>;
  /** Pre-encoded NXDOMAIN sections (negative.ts). */
  readonly negative: NegativeCache;
  /** Pre-encoded wildcard answers (wildcard.ts). */
  readonly wildcards: WildcardCache;
}

export interface SnapshotOptions {
  /** Replay NXDOMAIN responses from pre-encoded sections (default true; tests compare with false). */
  readonly negativeFragments?: boolean;
  /** Replay wildcard answers from pre-encoded sections (default true; tests compare with false). */
  readonly wildcardFragments?: boolean;
  /** The counters the response cache adds to (shared by a server's snapshots for /metrics); default its own. */
  readonly cacheStats?: ResponseCacheStats;
}

export function makeSnapshot(
  zones: ZoneSet,
  security: ReadonlyMap<Zone, ZoneSecurity> = new Map(),
  opts: SnapshotOptions = {},
): Snapshot {
  // Bounded by the zone size: random names below the apex need one fragment per NSEC; names below other
  // closest enclosers get as many again.
  let nodes = 0;
  for (const z of zones.zones()) nodes += z.nodes.size;
  const negative = new NegativeCache(opts.negativeFragments === false ? 0 : 1024 + 2 * nodes);
  // Per wildcard: one fragment per covering NSEC and variant (DO, EDNS, size, type) asked.
  const wildcards = new WildcardCache(opts.wildcardFragments === false ? 0 : 4096 + 4 * nodes);
  return { zones, cache: new ResponseCache(undefined, opts.cacheStats), security, negative, wildcards };
}

const OPCODE_SHIFT = 11;

/** A bare response: header only, or header + the question when the caller has one (bytes copied). */
export function bareResponse(query: Uint8Array, rcode: number, questionEnd: number): Uint8Array {
  const out = new Uint8Array(questionEnd > 12 ? questionEnd : 12);
  out.set(query.subarray(0, out.length));
  const flags = (query[2]! << 8) | query[3]!;
  const keep = flags & ((0xf << OPCODE_SHIFT) | FLAG_RD | FLAG_CD);
  const f = FLAG_QR | keep | (rcode & 0xf);
  out[2] = f >>> 8;
  out[3] = f & 0xff;
  out[4] = 0;
  out[5] = questionEnd > 12 ? 1 : 0;
  out.fill(0, 6, 12);
  return out;
}

/** Offset just after the first question, or 12 when it cannot be read. */
export function firstQuestionEnd(query: Uint8Array): number {
  if (query.length < 12 || ((query[4]! << 8) | query[5]!) < 1) return 12;
  let p = 12;
  for (let hops = 0; hops < 128; hops++) {
    if (p >= query.length) return 12;
    const l = query[p]!;
    if (l === 0) return p + 5 <= query.length ? p + 5 : 12;
    if (l > 63) return 12; // compressed or bad: do not echo
    p += l + 1;
  }
  return 12;
}

/** Query types answered by the stages (not transfers, meta types or obsolete QTYPEs). */
function isPlainQtype(t: number): boolean {
  return t !== T.AXFR && t !== T.IXFR && t !== T.OPT && !(t >= 128 && t <= 254) && t !== 0;
}

/** The UDP/TCP size limit for a response (RFC 6891 §6.2.5: at least 512, at most what we advertise). */
export function sizeLimit(transport: Transport, hasEdns: boolean, udpSize: number): number {
  return transport === 'tcp' ? 65535 : hasEdns ? Math.min(Math.max(udpSize, 512), EDNS_UDP_SIZE) : 512;
}

/**
 * The response-cache variant of a name: (qtype, DO, EDNS present, size limit) as one small integer. The limit
 * is 512..EDNS_UDP_SIZE over UDP or 65535 over TCP (`sizeLimit`), coded in 10 bits; the whole fits a Smi.
 */
function cacheVariant(qtype: number, dnssecOk: boolean, hasEdns: boolean, limit: number): number {
  const limitCode = limit === 65535 ? 1023 : limit - 512;
  return (limitCode * 4 + (hasEdns ? 2 : 0) + (dnssecOk ? 1 : 0)) * 65536 + qtype;
}

/**
 * A cached response for this query: a pooled copy with the client's ID, RD and CD bits and question spelling
 * (RFC 4343 §4.1: the question is echoed with the client's letter case).
 */
function fromCache(cached: Uint8Array, query: Uint8Array, questionEnd: number): Uint8Array {
  const out = Buffer.allocUnsafe(cached.length);
  out.set(cached);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (out[2]! & ~(FLAG_RD >>> 8)) | (query[2]! & (FLAG_RD >>> 8));
  out[3] = (out[3]! & ~FLAG_CD) | (query[3]! & FLAG_CD);
  out.set(query.subarray(12, questionEnd), 12);
  return out;
}

/**
 * What the handler tells the code around it about the response it just returned, read right after the call
 * (handlers are synchronous): the wire form of the wildcard owner whose expansion answered the question (RFC
 * 4592), whichever path answered (response cache, wildcard fragment, full answer), or null. Response rate
 * limiting (rrl.ts) counts such answers per wildcard, as NSD and Knot do.
 */
export interface ResponseNote {
  wildcard: Uint8Array | null;
}

/**
 * The handler over whatever snapshot `current` returns (read once per query). It reports nothing: the query
 * counters of /metrics wrap it (metrics.ts) only when the HTTP endpoint is on, so counting costs nothing otherwise.
 * `note` is filled in for every query (ResponseNote).
 */
export function createHandler(current: () => Snapshot, note: ResponseNote = { wildcard: null }): Responder {
  /** Compression pointer offsets of the response being encoded (for NegativeCache.learn). */
  const pointers: number[] = [];
  return (query, transport, _remote, reserve = 0) => {
    note.wildcard = null;
    if (query.length < 12) return null;
    const flags = (query[2]! << 8) | query[3]!;
    if (flags & FLAG_QR) return null;
    const opcode = (flags >>> OPCODE_SHIFT) & 0xf;
    if (opcode !== OPCODE.QUERY) return bareResponse(query, RCODE.NOTIMP, firstQuestionEnd(query));

    // Fast path: the common shape, straight to the response cache.
    const snap = current();
    const simple = peekSimpleQuery(query);
    const fast =
      reserve === 0 && simple && simple.qclass === CLASS_IN && simple.ednsVersion === 0 && isPlainQtype(simple.qtype);
    if (fast) {
      const limit = sizeLimit(transport, simple.hasEdns, simple.udpSize);
      const variant = cacheVariant(simple.qtype, simple.dnssecOk, simple.hasEdns, limit);
      const cached = snap.cache.lookup(simple.key, variant);
      if (cached) {
        note.wildcard = cached.wildcard;
        return fromCache(cached.bytes, query, simple.questionEnd);
      }
      const nx = respondNxdomain(snap, query, simple, limit);
      if (nx) return nx;
      const wild = respondWildcard(snap, query, simple, limit, variant, note);
      if (wild) return wild;
    }

    let msg: Message;
    try {
      msg = decodeMessage(query);
    } catch (e) {
      if (e instanceof WireError) return bareResponse(query, RCODE.FORMERR, 12);
      throw e;
    }
    const q = msg.questions[0];
    if (msg.questions.length !== 1 || !q) return bareResponse(query, RCODE.FORMERR, 12);
    const qEnd = 12 + q.name.wire.length + 4;
    const edns = msg.edns;
    if (edns && edns.version > 0) {
      // RFC 6891 §6.1.3: BADVERS (16) = extended rcode 1, header rcode 0, with our OPT.
      return respondBare(msg, query, 0, { dnssecOk: edns.dnssecOk, extRcode: 1 });
    }
    // From here on the query was understood: every response echoes the question and, when the query had
    // EDNS, carries our OPT (RFC 6891 §7).
    const optOut = edns ? { dnssecOk: edns.dnssecOk, extRcode: 0 } : null;
    if (q.class !== CLASS_IN) return respondBare(msg, query, RCODE.REFUSED, optOut);
    if (q.type === T.TKEY || q.type === T.TSIG) return respondBare(msg, query, RCODE.FORMERR, optOut);
    if (!isPlainQtype(q.type)) {
      // AXFR is TCP only (RFC 5936 §4.2: NOTIMP over UDP; over TCP transfer.ts takes it before this handler);
      // IXFR is transfer.ts's too (RFC 1995): one that reaches this handler is not a transfer query it could read;
      // meta types and obsolete QTYPEs (MAILA/MAILB) are not queries we answer.
      const refused = q.type === T.IXFR || (q.type === T.AXFR && transport === 'tcp');
      const rcode = refused ? RCODE.REFUSED : RCODE.NOTIMP;
      return respondBare(msg, query, rcode, optOut);
    }

    const dnssecOk = edns ? edns.dnssecOk : false;
    const limit = sizeLimit(transport, edns !== null, edns ? edns.udpSize : 512) - reserve;
    const variant = cacheVariant(q.type, dnssecOk, edns !== null, limit);
    // (A query the fast path took has missed the cache already.)
    const cached = reserve === 0 && !fast ? snap.cache.lookup(q.name.key, variant) : undefined;
    if (cached) {
      note.wildcard = cached.wildcard;
      return fromCache(cached.bytes, query, qEnd);
    }
    const rdcd = flags & (FLAG_RD | FLAG_CD);

    const a = answerQuery(snap.zones, { qname: q.name, qtype: q.type, dnssecOk }, (z) => snap.security.get(z));
    const nxdomain = a.outcome.kind === 'nxdomain';
    const source = nxdomain ? null : answeringWildcard(a, q.name);
    note.wildcard = source ? source.name.wire : null;
    // Random names under a wildcard or a cut are answered from fragments too (wildcard.ts): pointers are kept.
    const wild = !nxdomain && reserve === 0 && a.zone !== null && replayable(a.zone, q.name);
    if (nxdomain || wild) pointers.length = 0;
    const { bytes, truncated } = encodeResponse({
      id: msg.id,
      flags: FLAG_QR | rdcd | (a.aa ? FLAG_AA : 0),
      rcode: a.rcode,
      qname: q.name,
      qtype: q.type,
      qclass: q.class,
      answer: a.answer,
      authority: a.authority,
      additional: a.additional,
      edns: edns ? { dnssecOk, extRcode: 0 } : null,
      limit,
      pointers: nxdomain || wild ? pointers : undefined,
    });
    // Names that do not exist are not cached: random-name floods would only churn the cache (and its GC). Their
    // authority section is kept instead, for every other name with the same proof.
    if (reserve > 0) return bytes;
    const sec = a.zone ? snap.security.get(a.zone) : undefined;
    if (wild && snap.wildcards.learn(a, q.name, dnssecOk ? sec : undefined, bytes, edns !== null, pointers, variant))
      return bytes;
    if (!nxdomain) {
      // NODATA at an existing name is kept once for every type absent there (random QTYPEs share one entry).
      const absent = absentTypes(a, q.name, sec);
      if (absent) snap.cache.set(q.name.key, variant - q.type, bytes, absent);
      else snap.cache.set(q.name.key, variant, bytes, undefined, note.wildcard);
    } else if (!truncated) snap.negative.learn(a, q.name, dnssecOk ? sec : undefined, bytes, edns !== null, pointers);
    return bytes;
  };
}

/**
 * A Handler that can leave `reserve` octets free at the end of the answer (for a TSIG RR, RFC 8945 §5.3: the
 * answer is truncated to fit with it) and then neither reads nor fills the caches. `key` is the TSIG key the
 * request was signed with (dynamic update, update.ts, asks who is asking).
 */
export type Responder = (
  query: Uint8Array,
  transport: Transport,
  remote: Remote,
  reserve?: number,
  key?: TsigKey,
) => Uint8Array | null;

function respondBare(msg: Message, query: Uint8Array, rcode: number, edns: ResponseEdns | null): Uint8Array {
  const q = msg.questions[0]!;
  const { bytes } = encodeResponse({
    id: msg.id,
    flags: FLAG_QR | (((query[2]! << 8) | query[3]!) & (FLAG_RD | FLAG_CD)),
    rcode,
    qname: q.name,
    qtype: q.type,
    qclass: q.class,
    answer: [],
    authority: [],
    additional: [],
    edns,
    limit: 512,
  });
  return bytes;
}
