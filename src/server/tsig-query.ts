/**
 * TSIG on every query (RFC 8945): a query that carries a TSIG RR is verified before anything else (§5.2);
 * a failure is answered as §5.3.2 says (tsigerror.ts: BADKEY and BADSIG unsigned with NOTAUTH, BADTIME signed
 * with our time), a good one is answered from the query without its TSIG and the answer is signed with the same
 * key, chained to the request's MAC (§4.3.2). Room for the TSIG is kept in the answer (`reserve`), so a UDP
 * answer that would not fit with it is truncated first (TC), then signed. Unsigned queries go straight through.
 */
import { WireError } from '../wire/errors.js';
import { RCODE } from '../wire/types.js';
import {
  algorithmName,
  DEFAULT_FUDGE,
  findTsig,
  macLength,
  signMessage,
  tsigRRSize,
  verify,
  type KeyLookup,
  type TsigKey,
} from '../dnssec/tsig.js';
import { errorResponse } from '../dnssec/tsigerror.js';
import { bareResponse, firstQuestionEnd, type Responder } from './handler.js';
import type { Handler } from './transport.js';

/** A query whose TSIG verified: the key, the MAC to chain the answer to, and the query without its TSIG. */
export interface SignedQuery {
  readonly key: TsigKey;
  readonly mac: Uint8Array;
  readonly query: Uint8Array;
}

export type TsigCheck =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'signed'; readonly signed: SignedQuery }
  /** The TSIG failed: answer with these bytes and nothing else. */
  | { readonly kind: 'failed'; readonly answer: Uint8Array; readonly reason: string };

/** Verifies the TSIG of a query (a request: QR=0) at `now` (seconds since the epoch). */
export function checkTsig(query: Uint8Array, lookup: KeyLookup, now: number): TsigCheck {
  if (isPlainlyUnsigned(query)) return { kind: 'unsigned' };
  let found;
  try {
    found = findTsig(query);
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    // §5.2: a misplaced or malformed TSIG is FORMERR (the question is echoed only when it is readable).
    return { kind: 'failed', answer: bareResponse(query, RCODE.FORMERR, firstQuestionEnd(query)), reason: e.message };
  }
  if (!found) return { kind: 'unsigned' };
  const v = verify(query, lookup, now);
  if (!v.ok) {
    const bare = bareResponse(query, v.rcode, firstQuestionEnd(query));
    const answer = v.error === 0 ? bare : errorResponse(bare, v, now);
    return { kind: 'failed', answer, reason: v.reason };
  }
  // The query as the rest of the server reads it: without the TSIG RR, ARCOUNT one less.
  const stripped = new Uint8Array(query.subarray(0, v.offset)); // a copy (Buffer#slice would be a view)
  const ar = ((stripped[10]! << 8) | stripped[11]!) - 1;
  stripped[10] = ar >>> 8;
  stripped[11] = ar & 0xff;
  return { kind: 'signed', signed: { key: v.key, mac: v.mac, query: stripped } };
}

/**
 * Most queries, read in constant time: no additional record, or one that is an OPT RR without options ending
 * the message (the TSIG RR would have to be last, RFC 8945 §5.1). Anything else is parsed by findTsig.
 */
function isPlainlyUnsigned(q: Uint8Array): boolean {
  const ar = (q[10]! << 8) | q[11]!;
  if (ar === 0) return true;
  const o = q.length - 11;
  return ar === 1 && o > 12 && q[o] === 0 && q[o + 1] === 0 && q[o + 2] === 41 && q[o + 9] === 0 && q[o + 10] === 0;
}

/** Octets the TSIG RR of an answer signed with `key` takes (full-length MAC, no Other Data). */
export function tsigReserve(key: TsigKey): number {
  return tsigRRSize(key.name, algorithmName(key.algorithm), macLength(key.algorithm));
}

/** Signs an answer to a verified query (§4.3.2: the request's MAC first in what the MAC covers). */
export function signAnswer(answer: Uint8Array, q: SignedQuery, now: number): Uint8Array {
  return signMessage(answer, q.key, { time: now, fudge: DEFAULT_FUDGE, chain: { mac: q.mac } }).bytes;
}

/** The responder with TSIG verified in front of it and signed answers after it. */
export function withTsig(responder: Responder, lookup: () => KeyLookup, nowMs: () => number): Handler {
  return (query, transport, remote) => {
    // Responses (QR=1) and runts are the responder's to drop: never answer a response.
    // Runts, responses (QR=1: the responder drops them) and plainly unsigned queries go straight through.
    if (query.length < 12 || query[2]! & 0x80 || isPlainlyUnsigned(query)) return responder(query, transport, remote);
    const now = Math.floor(nowMs() / 1000);
    const c = checkTsig(query, lookup(), now);
    if (c.kind === 'unsigned') return responder(query, transport, remote);
    if (c.kind === 'failed') return c.answer;
    const out = responder(c.signed.query, transport, remote, tsigReserve(c.signed.key), c.signed.key);
    return out === null ? null : signAnswer(out, c.signed, now);
  };
}
