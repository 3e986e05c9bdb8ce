/**
 * Wildcard answers and wildcard NODATA (RFC 4592 §3.3.1; with DNSSEC the proofs of RFC 4035 §3.1.3.3 and
 * §3.1.3.4) from pre-encoded sections, so that random names under a wildcard, which no response cache can hold,
 * cost a lookup and a copy instead of the answer stages and the encoder.
 *
 * What makes this exact: for a qname the wildcard W (child of closest encloser E) answers, the response after
 * the question depends on the qname only (a) as the owner of the expanded RRsets and their RRSIGs, which the
 * encoder writes as a pointer to the question name (offset 12), and (b) through the NSEC covering the next
 * closer name (the label below E), which is part of the key. Every other compression pointer goes into the
 * question's copy of E or into the sections themselves, and moves by the difference in question length; names
 * that could compress against labels of a qname strictly below E are handled as for NXDOMAIN (`avoid`,
 * fragment.ts). So a fragment learnt from one full answer is replayed for every qname with the same (W,
 * covering NSEC, variant), byte for byte: test/server/wildcard.test.ts checks it over random names and types.
 *
 * Referrals for names below a zone cut that own no node are kept the same way, per (cut, variant): their
 * sections are the cut's (RFC 1034 §4.3.2 step 3b), and every name of them below the cut is avoided.
 *
 * Fragments live in the snapshot, keyed by (W, covering NSEC or null without DNSSEC, response-cache variant),
 * bounded in number and octets; once full, nothing new is learnt until the next snapshot.
 */
import { stripLabels, type Name } from '../wire/name.js';
import { referralSource, wildcardSource, type Answer } from '../query/answer.js';
import type { ZoneSecurity } from '../query/security.js';
import type { ZoneSet } from '../zone/set.js';
import type { RRset, Zone, ZoneNode } from '../zone/zone.js';
import type { SimpleQuery } from './fastpath.js';
import type { ResponseNote } from './handler.js';
import { buildFragment, labelOffsets, QuestionName, replayFragment, type Fragment } from './fragment.js';

/** Most octets of fragments one snapshot keeps. */
const MAX_BYTES = 32 * 1024 * 1024;

export class WildcardCache {
  private readonly byWildcard = new Map<ZoneNode, Map<RRset | null, Map<number, Fragment>>>();
  private count = 0;
  private bytes = 0;
  constructor(readonly max: number) {}

  get size(): number {
    return this.count;
  }

  get(wildcard: ZoneNode, cover: RRset | null, variant: number): Fragment | undefined {
    return this.byWildcard.get(wildcard)?.get(cover)?.get(variant);
  }

  /**
   * Keeps the sections of a response the full path just encoded for `qname` (answer `a`, compression pointers
   * at `pointers`) when it is a wildcard answer or wildcard NODATA at its first hop. `sec`: the zone's signed
   * view when the answer carries DNSSEC records. True when the answer is of that shape (kept, or already known,
   * or the cache full), false when it is not: then the caller may cache it by name.
   */
  learn(
    a: Answer,
    qname: Name,
    sec: ZoneSecurity | undefined,
    bytes: Uint8Array,
    hasEdns: boolean,
    pointers: readonly number[],
    variant: number,
  ): boolean {
    const zone = a.zone;
    if (!zone) return false;
    const wc = wildcardSource(zone, qname);
    const o = a.outcome;
    if (!wc) return this.learnReferral(zone, a, qname, bytes, hasEdns, pointers, variant);
    if (!wc || (o.kind !== 'hit' && o.kind !== 'nodata') || o.node !== wc || o.name.key !== qname.key) return false;
    for (const p of a.answer) if (p.owner.key !== qname.key) return false;
    if (this.count >= this.max || this.bytes >= MAX_BYTES) return true;
    const encloser = wc.parent!;
    const cover = sec ? sec.covering(nextCloser(qname, encloser)) : null;
    let byCover = this.byWildcard.get(wc);
    if (byCover?.get(cover)?.has(variant)) return true;
    const fragment = buildFragment(zone, encloser, qname, a, bytes, hasEdns, pointers, true);
    if (!fragment) return false;
    if (!byCover) this.byWildcard.set(wc, (byCover = new Map()));
    let byVariant = byCover.get(cover);
    if (!byVariant) byCover.set(cover, (byVariant = new Map()));
    byVariant.set(variant, fragment);
    this.count++;
    this.bytes += fragment.bytes.length;
    return true;
  }

  /**
   * A referral for a name below a cut that owns no node: its sections are the cut's, with no name of the
   * question's own except through compression. Names below the cut (NS targets, glue owners) can be suffixes of
   * a qname below them, so all of them are avoided (`strictAvoid`).
   */
  private learnReferral(
    zone: Zone,
    a: Answer,
    qname: Name,
    bytes: Uint8Array,
    hasEdns: boolean,
    pointers: readonly number[],
    variant: number,
  ): boolean {
    const cut = referralSource(zone, qname);
    const o = a.outcome;
    if (!cut || o.kind !== 'referral' || o.cut !== cut || a.answer.length > 0) return false;
    if (this.count >= this.max || this.bytes >= MAX_BYTES) return true;
    let byCover = this.byWildcard.get(cut);
    if (byCover?.get(null)?.has(variant)) return true;
    const fragment = buildFragment(zone, cut, qname, a, bytes, hasEdns, pointers, false, true);
    if (!fragment) return false;
    if (!byCover) this.byWildcard.set(cut, (byCover = new Map()));
    let byVariant = byCover.get(null);
    if (!byVariant) byCover.set(null, (byVariant = new Map()));
    byVariant.set(variant, fragment);
    this.count++;
    this.bytes += fragment.bytes.length;
    return true;
  }
}

/** Whether answers to `qname` are of a shape kept here (a wildcard expansion, or a referral below a cut). */
export function replayable(zone: Zone, qname: Name): boolean {
  return wildcardSource(zone, qname) !== null || referralSource(zone, qname) !== null;
}

/** The next closer name of `qname` below closest encloser `encloser` (RFC 5155 §1.3; the NSEC proofs use it). */
function nextCloser(qname: Name, encloser: ZoneNode): Name {
  return stripLabels(qname, qname.offsets.length - encloser.name.offsets.length - 1);
}

/** What the fast path reads from a snapshot (handler.ts's Snapshot). */
interface WildcardSources {
  readonly zones: ZoneSet;
  readonly security: ReadonlyMap<Zone, ZoneSecurity>;
  readonly wildcards: WildcardCache;
}

/**
 * The response to a query of the common shape (class IN, EDNS version 0, a plain QTYPE) that a wildcard
 * answers, from a learnt fragment; null when no wildcard answers it at once, no fragment is known yet, or the
 * response would not fit `limit` whole (the full path answers then). A wildcard answer is told to `note`.
 */
export function respondWildcard(
  src: WildcardSources,
  query: Uint8Array,
  q: SimpleQuery,
  limit: number,
  variant: number,
  note?: ResponseNote,
): Uint8Array | null {
  const offsets = labelOffsets(query);
  const qname = new QuestionName(query, q.questionEnd - 4, q.key, offsets);
  const zone = src.zones.find(qname, q.qtype);
  if (!zone) return null;
  const wc = wildcardSource(zone, qname);
  if (!wc) {
    const cut = referralSource(zone, qname);
    const frag = cut ? src.wildcards.get(cut, null, variant) : undefined;
    return frag ? replayFragment(frag, query, q, q.key, offsets, limit) : null;
  }
  const sec = q.dnssecOk ? src.security.get(zone) : undefined;
  const frag = src.wildcards.get(wc, sec ? sec.covering(nextCloser(qname, wc.parent!)) : null, variant);
  const out = frag ? replayFragment(frag, query, q, q.key, offsets, limit) : null;
  if (out && note) note.wildcard = wc.name.wire;
  return out;
}
