/**
 * NXDOMAIN responses from pre-encoded authority sections, so that a flood of random nonexistent names (which
 * the response cache cannot help with: unbounded key space) costs a lookup and a copy instead of the answer
 * stages and the encoder. The target: with DO=1 the nonexistent-name rate stays within 0.8x the hit rate.
 *
 * What makes this exact: an NXDOMAIN answer's authority section (SOA, and with DNSSEC the two NSEC proofs of
 * RFC 4035 §3.1.3.2 with their RRSIGs) depends only on the closest encloser E and the NSEC covering the name
 * (the wildcard proof follows from E). Its bytes depend on the question only through name compression, and
 * only in two ways:
 *  - names of the section that end in a suffix of E point into the question, at a fixed distance from the
 *    question's end (every qname below E ends with E, then QTYPE and QCLASS);
 *  - a name of the section could end in a suffix of the qname strictly below E. Those suffixes exist in no zone
 *    node (E is the closest encloser), so only rdata names can match them (the SOA's MNAME and RNAME, e.g. an
 *    RNAME hostmaster.example.com. with no such node): such names are listed in `avoid` and a qname at or below
 *    one of them takes the full path.
 * So every compression pointer moves by exactly (new question end - old question end). A fragment is learnt
 * from a response the full path encoded (the bytes are the full path's own, pointers recorded by the Writer)
 * and replayed with the pointers rebased: byte for byte the response the full path would encode, which
 * test/server/negative.test.ts checks over random names, letter cases, ENTs, wildcards and cuts.
 *
 * Fragments live in the snapshot (a swap drops them with the data they were built from), keyed by
 * (E, covering NSEC), or by E alone without DNSSEC, and bounded in number. A response that would not fit the
 * client's size limit whole is left to the full path, which decides truncation (respond.ts).
 */
import type { Name } from '../wire/name.js';
import { nxdomainEncloser, type Answer } from '../query/answer.js';
import type { ZoneSecurity } from '../query/security.js';
import type { ZoneSet } from '../zone/set.js';
import type { RRset, Zone, ZoneNode } from '../zone/zone.js';
import type { SimpleQuery } from './fastpath.js';
import { buildFragment, labelOffsets, QuestionName, replayFragment, type Fragment } from './fragment.js';

interface Slot {
  plain: Fragment | undefined;
  readonly signed: Map<RRset, Fragment>;
}

/** Most octets of fragments one snapshot keeps (a random-name flood over a large zone stops learning there). */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The NXDOMAIN fragments of one snapshot, by closest encloser and covering NSEC; at most `max` of them and
 * MAX_BYTES in all. Once full, nothing new is learnt until the next snapshot (the full path answers the rest).
 */
export class NegativeCache {
  private readonly byEncloser = new Map<ZoneNode, Slot>();
  private count = 0;
  private bytes = 0;
  constructor(readonly max: number) {}

  get size(): number {
    return this.count;
  }

  /** The fragment for closest encloser `encloser` and covering NSEC `cover` (null: an answer without DNSSEC). */
  get(encloser: ZoneNode, cover: RRset | null): Fragment | undefined {
    const slot = this.byEncloser.get(encloser);
    if (!slot) return undefined;
    return cover ? slot.signed.get(cover) : slot.plain;
  }

  /**
   * Keeps the sections of an NXDOMAIN response the full path just encoded for `qname`, when the fast path could
   * replay them: `a` is the answer it encoded, `pointers` the offsets of its compression pointers, `sec` the
   * zone's signed view when the answer has DNSSEC records. Anything unusual is simply not kept.
   */
  learn(
    a: Answer,
    qname: Name,
    sec: ZoneSecurity | undefined,
    bytes: Uint8Array,
    hasEdns: boolean,
    pointers: readonly number[],
  ): void {
    const zone = a.zone;
    const o = a.outcome;
    if (
      this.count >= this.max ||
      this.bytes >= MAX_BYTES ||
      !zone ||
      o.kind !== 'nxdomain' ||
      a.answer.length > 0 ||
      o.name.key !== qname.key
    )
      return;
    const encloser = o.encloser;
    if (nxdomainEncloser(zone, qname) !== encloser) return;
    const cover = sec ? sec.covering(qname) : null;
    let slot = this.byEncloser.get(encloser);
    if ((cover ? slot?.signed.get(cover) : slot?.plain) !== undefined) return;
    const fragment = buildFragment(zone, encloser, qname, a, bytes, hasEdns, pointers, false);
    if (!fragment) return;
    if (!slot) this.byEncloser.set(encloser, (slot = { plain: undefined, signed: new Map() }));
    if (cover) slot.signed.set(cover, fragment);
    else slot.plain = fragment;
    this.count++;
    this.bytes += fragment.bytes.length;
  }
}

/** What the fast path reads from a snapshot (handler.ts's Snapshot). */
interface NegativeSources {
  readonly zones: ZoneSet;
  readonly security: ReadonlyMap<Zone, ZoneSecurity>;
  readonly negative: NegativeCache;
}

/**
 * The NXDOMAIN response to a query of the common shape (fastpath.ts accepted it; class IN, EDNS version 0, a
 * plain QTYPE), from a learnt fragment; null when the name is not NXDOMAIN at once, no fragment is known yet,
 * or the response would not fit in `limit` whole. The full path answers then.
 */
export function respondNxdomain(
  src: NegativeSources,
  query: Uint8Array,
  q: SimpleQuery,
  limit: number,
): Uint8Array | null {
  const qEnd = q.questionEnd;
  const offsets = labelOffsets(query);
  const key = q.key;
  const qname = new QuestionName(query, qEnd - 4, key, offsets);
  const zone = src.zones.find(qname, q.qtype);
  if (!zone) return null;
  const encloser = nxdomainEncloser(zone, qname);
  if (!encloser) return null;
  const sec = src.security.get(zone);
  const frag = src.negative.get(encloser, q.dnssecOk && sec ? sec.covering(qname) : null);
  if (!frag) return null;
  return replayFragment(frag, query, q, key, offsets, limit);
}
