/**
 * Responses replayed from pre-encoded sections: the part of a response after its question, learnt from one the
 * full path encoded, written again for another qname of the same shape with its compression pointers rebased.
 * Used for NXDOMAIN (negative.ts, which says why the bytes are exact) and wildcard answers (wildcard.ts).
 * A pointer into the question's copy of the closest encloser moves with the question's end; a pointer to the
 * whole question name (the owner of a wildcard expansion) stays at offset 12; names that could have been
 * compressed against labels of the new qname below the encloser (`avoid`) send the query to the full path.
 */
import { isSubdomain, stripLabels, type Name } from '../wire/name.js';
import { rdataNames } from '../wire/rdata.js';
import { FLAG_CD, FLAG_RD, FLAG_TC } from '../wire/header.js';
import type { Answer, Placed } from '../query/answer.js';
import type { Zone, ZoneNode } from '../zone/zone.js';
import { OPT_SIZE, writeOpt, type ResponseEdns } from './respond.js';
import type { SimpleQuery } from './fastpath.js';

/**
 * The encoded sections of a response after its question, ready to be replayed for another qname (NXDOMAIN:
 * negative.ts; wildcard answers: wildcard.ts).
 */
export interface Fragment {
  /** Header flags and rcode of the response, without RD and CD (those are copied from each query). */
  readonly flags: number;
  readonly ancount: number;
  readonly nscount: number;
  /** Additional records, the OPT RR not counted (it is written per query). */
  readonly arcount: number;
  /** The answer, authority and additional records as encoded right after the question. */
  readonly bytes: Uint8Array;
  /** Offset in `bytes` of every compression pointer ... */
  readonly pointerAt: Uint16Array;
  /**
   * ... and its target, relative to the start of `bytes` (negative: into the question's copy of E; QNAME_REL:
   * the question name itself, offset 12, as the owner of a wildcard expansion).
   */
  readonly pointerRel: Int16Array;
  /** Keys of names strictly below E, in no zone node, that names of the fragment end in (negative.ts says why). */
  readonly avoid: readonly string[];
}

/** pointerRel of a pointer to the whole question name (offset 12, wherever the question ends). */
const QNAME_REL = -0x8000;

/** Fragments larger than this are not kept: every pointer must stay below 0x4000 after rebasing. */
const MAX_FRAGMENT = 0x3000;

/**
 * The fragment of a response the full path encoded for `qname` below closest encloser `encloser`: null when it
 * cannot be replayed for another qname (truncated, too large, or a compression pointer into the question
 * other than into its copy of the encloser, or, with `qnamePointers`, to the whole question name).
 */
export function buildFragment(
  zone: Zone,
  encloser: ZoneNode,
  qname: Name,
  a: Answer,
  bytes: Uint8Array,
  hasEdns: boolean,
  pointers: readonly number[],
  qnamePointers: boolean,
  /** Avoid every name of the fragment below the encloser, zone node or not (for referrals: see wildcard.ts). */
  strictAvoid = false,
): Fragment | null {
  const flags = (bytes[2]! << 8) | bytes[3]!;
  if (flags & FLAG_TC) return null;
  const qEnd = 12 + qname.wire.length + 4;
  const end = bytes.length - (hasEdns ? OPT_SIZE : 0);
  if (end - qEnd > MAX_FRAGMENT) return null;
  // The question's copy of E starts here: pointers may go there or into the fragment (or to the whole qname).
  const encloserAt = qEnd - 4 - encloser.name.wire.length;
  const pointerAt = new Uint16Array(pointers.length);
  const pointerRel = new Int16Array(pointers.length);
  for (let i = 0; i < pointers.length; i++) {
    const p = pointers[i]!;
    const target = ((bytes[p]! & 0x3f) << 8) | bytes[p + 1]!;
    if (p < qEnd) return null;
    pointerAt[i] = p - qEnd;
    if (target === 12 && qnamePointers) pointerRel[i] = QNAME_REL;
    else if (target < encloserAt) return null;
    else pointerRel[i] = target - qEnd;
  }
  return Object.freeze({
    flags: flags & ~(FLAG_RD | FLAG_CD),
    ancount: (bytes[6]! << 8) | bytes[7]!,
    nscount: (bytes[8]! << 8) | bytes[9]!,
    arcount: ((bytes[10]! << 8) | bytes[11]!) - (hasEdns ? 1 : 0),
    bytes: bytes.slice(qEnd, end),
    pointerAt,
    pointerRel,
    avoid: Object.freeze(avoidList(zone, encloser, [...a.answer, ...a.authority, ...a.additional], strictAvoid)),
  });
}

/**
 * Names in rdata of `placed` (and their suffixes) strictly below `encloser` that are no node of the zone; with
 * `strict`, every such name, owners included, node or not.
 */
function avoidList(zone: Zone, encloser: ZoneNode, placed: readonly Placed[], strict: boolean): string[] {
  const out = new Set<string>();
  const add = (n: Name): void => {
    for (let i = 0; i < n.offsets.length; i++) {
      const s = stripLabels(n, i);
      if (s.key !== encloser.name.key && isSubdomain(s, encloser.name) && (strict || !zone.nodes.has(s.key)))
        out.add(s.key);
    }
  };
  for (const p of placed) {
    if (strict) add(p.owner);
    for (const rd of p.rrset.rdatas) for (const n of rdataNames(p.rrset.type, rd)) add(n);
  }
  return [...out];
}

/**
 * The question name as a Name without copying it: the lookups read only `key` and `offsets`, so the view of the
 * wire form is made only if something asks for it (a view per query costs more than the rest of the lookup).
 * Valid while `query` is (the handler call).
 */
export class QuestionName implements Name {
  constructor(
    private readonly query: Uint8Array,
    private readonly end: number,
    readonly key: string,
    readonly offsets: readonly number[],
  ) {}
  get wire(): Uint8Array {
    return this.query.subarray(12, this.end);
  }
}

/** Offsets of the labels of the question name (uncompressed: the fast path accepted it). */
export function labelOffsets(query: Uint8Array): number[] {
  const offsets: number[] = [];
  for (let p = 12; query[p] !== 0; p += query[p]! + 1) offsets.push(p - 12);
  return offsets;
}

const OPT_DO: ResponseEdns = Object.freeze({ dnssecOk: true, extRcode: 0 });
const OPT_NO_DO: ResponseEdns = Object.freeze({ dnssecOk: false, extRcode: 0 });

/**
 * The response to query `query` (of the common shape `q`, its name's key and label offsets given) from
 * fragment `frag`; null when a name of the fragment could have been compressed against the new qname (`avoid`)
 * or the response would not fit `limit` whole.
 */
export function replayFragment(
  frag: Fragment,
  query: Uint8Array,
  q: SimpleQuery,
  key: string,
  offsets: readonly number[],
  limit: number,
): Uint8Array | null {
  const qEnd = q.questionEnd;
  const avoid = frag.avoid;
  for (let i = 0; i < avoid.length; i++) {
    const k = avoid[i]!;
    if (key.endsWith(k) && offsets.includes(key.length - k.length)) return null;
  }
  const body = frag.bytes;
  const size = qEnd + body.length + (q.hasEdns ? OPT_SIZE : 0);
  if (size > limit) return null;

  const out = Buffer.allocUnsafe(size);
  out[0] = query[0]!;
  out[1] = query[1]!;
  const flags = frag.flags | (((query[2]! << 8) | query[3]!) & (FLAG_RD | FLAG_CD));
  out[2] = flags >>> 8;
  out[3] = flags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out[6] = frag.ancount >>> 8;
  out[7] = frag.ancount & 0xff;
  out[8] = frag.nscount >>> 8;
  out[9] = frag.nscount & 0xff;
  const ar = frag.arcount + (q.hasEdns ? 1 : 0);
  out[10] = ar >>> 8;
  out[11] = ar & 0xff;
  for (let i = 12; i < qEnd; i++) out[i] = query[i]!; // a short loop beats a subarray view for ~30 octets
  out.set(body, qEnd);
  const at = frag.pointerAt;
  const rel = frag.pointerRel;
  for (let i = 0; i < at.length; i++) {
    const p = qEnd + at[i]!;
    const r = rel[i]!;
    const target = r === QNAME_REL ? 12 : qEnd + r;
    out[p] = 0xc0 | (target >>> 8);
    out[p + 1] = target & 0xff;
  }
  if (q.hasEdns) writeOpt(out, qEnd + body.length, q.dnssecOk ? OPT_DO : OPT_NO_DO);
  return out;
}
