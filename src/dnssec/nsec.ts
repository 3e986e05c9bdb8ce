/**
 * The NSEC chain of a zone (RFC 4034 §4, RFC 4035 §2.3) and the denial proofs built from it (RFC 4035 §3.1.3,
 * RFC 4592 §4.6 for wildcards). Pure: no I/O, no signing; the signer signs `entry.rrset`, the query stage picks
 * entries with the proof helpers.
 *
 * Which names get an NSEC: every name that owns authoritative data or is a delegation point, i.e. the apex, the
 * authoritative names, and the cuts; not the names strictly below a cut (glue, occluded data) and not empty
 * non-terminals (RFC 4035 §2.3; ENTs are proven by a covering NSEC whose next name is below them).
 *
 * Type bitmaps (checked against Knot DNS 3.2 by test/integration/nsec-oracle.test.ts):
 *   - authoritative names: their types + RRSIG + NSEC;
 *   - the apex: the same + `apexExtraTypes` (DNSKEY, which the signer adds);
 *   - a delegation point: NS, DS when present, RRSIG, NSEC. RRSIG is listed at an insecure cut too: the NSEC at
 *     the cut is itself signed (RFC 4035 §2.3), although the NS RRset is not. Glue addresses stored at the cut
 *     node itself are not listed (they are not authoritative data of this zone).
 *
 * Letter case: the owner keeps the case the zone stores (the signer lower-cases owners for signing anyway,
 * RFC 4034 §6.2), the next domain name is written lower-cased. RFC 4034 §6.2 lower-cases it in the canonical
 * form, RFC 6840 §5.1 says not to; with a lower-case next name both readings give the same signed bytes, so
 * every validator accepts the signature. Knot lower-cases every name it loads, so its NSEC rdata is byte-equal.
 */
import type { RRset, Zone, ZoneNode } from '../zone/zone.js';
import {
  canonicalKey,
  compareNames,
  isSubdomain,
  isWildcard,
  labelCount,
  nameToText,
  prependLabel,
  stripLabels,
  toLower,
  WILDCARD_LABEL,
  type Name,
} from '../wire/name.js';
import { placeable, placeView, slabAlloc, slabPlace } from '../wire/slab.js';
import { encodeTypeBitmap } from '../wire/typebitmap.js';
import { T } from '../wire/types.js';

// ---- the chain ---------------------------------------------------------------------------------------------

export interface NsecEntry {
  /** Owner name, letter case as stored in the zone. */
  readonly owner: Name;
  /** Next owner in canonical order (the apex after the last), lower-cased. */
  readonly next: Name;
  /** Types in the bitmap, ascending. */
  readonly types: readonly number[];
  /** NSEC rdata: `next` in uncompressed wire form + the type bitmap. */
  readonly rdata: Uint8Array;
  /** The NSEC RRset (TTL = the chain's TTL), ready for signing and for the answer stage. */
  readonly rrset: RRset;
  /** Position in `entries`. */
  readonly index: number;
}

export interface NsecChain {
  readonly origin: Name;
  readonly ttl: number;
  /** One entry per owner, in canonical order, the apex first. */
  readonly entries: readonly NsecEntry[];
  /** The NSEC whose owner is `name` (any letter case), if `name` owns one. */
  nsecFor(name: Name): NsecEntry | undefined;
  /**
   * The NSEC that covers `name`: the entry with the greatest owner canonically before `name`; names after the
   * last owner are covered by the last entry, whose next name is the apex. Meant for names that own no NSEC
   * (nonexistent names, empty non-terminals); for an owner it returns the entry before it, which does not
   * cover it. Throws RangeError when `name` is not strictly below the origin.
   */
  covering(name: Name): NsecEntry;
}

interface NsecOptions {
  /** TTL of every NSEC: min(SOA minimum, SOA TTL) (RFC 9077, RFC 4034 §4); callers pass `zone.negativeTtl`. */
  readonly ttl: number;
  /** Types the signer adds at the apex and the bitmap must list (default [DNSKEY]). */
  readonly apexExtraTypes?: readonly number[];
}

/** Types that can never come from the zone data (the signer makes them); skipped if a zone ever holds them. */
const SIGNER_TYPES = new Set<number>([T.RRSIG, T.NSEC]);

/** True when a wire name has no upper-case ASCII letter (length octets are below 0x41, so all octets are checked). */
function isLowerWire(wire: Uint8Array): boolean {
  for (let i = 0; i < wire.length; i++) if (wire[i]! >= 0x41 && wire[i]! <= 0x5a) return false;
  return true;
}

/**
 * An NsecEntry of a built chain, which is also its own NSEC RRset (`rrset` is the entry itself): a 100k-name
 * zone has 100k entries, and an RRset object of their own would cost about 48 bytes more each. The rdata stays
 * where it was made (a shared slab, wire/slab.ts) as buffer, offset and length; `rdatas` and `rdata` are views
 * made when read, as in wire/rrset.ts (so `{ ...entry }` does not copy them).
 */
class StoredNsec implements NsecEntry, RRset {
  readonly type = T.NSEC;
  readonly #buffer: ArrayBufferLike;
  /** Where the rdata is in #buffer (wire/slab.ts slabPlace). */
  readonly #place: number;

  constructor(
    readonly owner: Name,
    readonly next: Name,
    readonly types: readonly number[],
    readonly ttl: number,
    rdata: Uint8Array,
    readonly index: number,
  ) {
    const at = placeable(rdata);
    this.#buffer = at.buffer;
    this.#place = slabPlace(at);
    Object.freeze(this);
  }

  get rdata(): Uint8Array {
    return placeView(this.#buffer, this.#place);
  }

  get rdatas(): readonly Uint8Array[] {
    return Object.freeze([this.rdata]);
  }

  get rrset(): RRset {
    return this;
  }
}

/** Builds the NSEC chain of `zone` (see the file comment for which names and which bitmaps). */
export function buildNsecChain(zone: Zone, opts: NsecOptions): NsecChain {
  const steps = buildNsecChainSteps(zone, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Owners between two yields of buildNsecChainSteps. */
const OWNERS_PER_STEP = 256;

/** buildNsecChain as a generator that yields every few hundred owners (for a caller that runs it in slices). */
export function* buildNsecChainSteps(zone: Zone, opts: NsecOptions): Generator<void, NsecChain, undefined> {
  if (!Number.isInteger(opts.ttl) || opts.ttl < 0 || opts.ttl > 0x7fffffff)
    throw new RangeError(`NSEC TTL ${opts.ttl} out of range`);
  const apexExtra = opts.apexExtraTypes ?? [T.DNSKEY];
  const owners: ZoneNode[] = [];
  for (let i = 0; i < zone.ordered.length; i++) {
    const n = zone.ordered[i]!;
    if (n.isApex || (!n.belowCut && n.rrsets.size > 0)) owners.push(n);
    if (i % (16 * OWNERS_PER_STEP) === 16 * OWNERS_PER_STEP - 1) yield;
  }
  if (owners[0] !== zone.apex) throw new Error('buildNsecChain: zone.ordered must start with the apex');

  const entries: NsecEntry[] = [];
  const byKey = new Map<string, NsecEntry>();
  const typeLists = new Map<string, readonly number[]>();
  for (let index = 0; index < owners.length; index++) {
    const node = owners[index]!;
    if (index % OWNERS_PER_STEP === OWNERS_PER_STEP - 1) yield;
    const types = new Set<number>([T.RRSIG, T.NSEC]);
    if (node.isDelegation) {
      types.add(T.NS);
      if (node.rrsets.has(T.DS)) types.add(T.DS);
    } else {
      for (const t of node.rrsets.keys()) if (!SIGNER_TYPES.has(t)) types.add(t);
      if (node.isApex) for (const t of apexExtra) types.add(t);
    }
    const sorted = [...types].sort((a, b) => a - b);
    // Most owners have one of a few type sets: one frozen list per set.
    const typesKey = sorted.join(',');
    let sortedTypes = typeLists.get(typesKey);
    if (!sortedTypes) typeLists.set(typesKey, (sortedTypes = Object.freeze(sorted)));
    // The next owner's own Name when it is already lower-case (the usual case): no second copy of every name.
    const nextOwner = (owners[index + 1] ?? zone.apex).name;
    const next = isLowerWire(nextOwner.wire) ? nextOwner : toLower(nextOwner);
    const bitmap = encodeTypeBitmap(sortedTypes);
    const rdata = slabAlloc(next.wire.length + bitmap.length);
    rdata.set(next.wire, 0);
    rdata.set(bitmap, next.wire.length);
    const entry: NsecEntry = new StoredNsec(node.name, next, sortedTypes, opts.ttl, rdata, index);
    entries.push(entry);
    byKey.set(node.name.key, entry);
  }
  Object.freeze(entries);

  const origin = zone.origin;
  // Owners as canonicalKey strings below the origin (the apex is ''): the covering search compares natively.
  const skip = labelCount(origin);
  const sortKeys: string[] = [];
  for (const e of entries) {
    sortKeys.push(canonicalKey(e.owner, skip));
    if (sortKeys.length % OWNERS_PER_STEP === 0) yield;
  }
  const covering = (name: Name): NsecEntry => {
    if (!isSubdomain(name, origin) || labelCount(name) === skip) {
      throw new RangeError('NSEC covering: the name is not below the zone origin');
    }
    // Greatest index whose owner sorts before `name` (entries[0] is the apex, which always does).
    const k = canonicalKey(name, skip);
    let lo = 0;
    let hi = sortKeys.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (sortKeys[mid]! < k) lo = mid;
      else hi = mid - 1;
    }
    return entries[lo]!;
  };

  return Object.freeze({
    origin,
    ttl: opts.ttl,
    entries,
    nsecFor: (name: Name) => byKey.get(name.key),
    covering,
  });
}

// ---- proofs (RFC 4035 §3.1.3) -----------------------------------------------------------------------------

/** True when the entry covers `name`: owner < name < next, or owner < name after the last owner. */
export function covers(entry: NsecEntry, name: Name, chain: NsecChain): boolean {
  if (compareNames(entry.owner, name) >= 0) return false;
  return entry.index === chain.entries.length - 1 || compareNames(name, entry.next) < 0;
}

function dedupe(list: readonly NsecEntry[]): NsecEntry[] {
  return list.filter((e, i) => list.indexOf(e) === i);
}

function coverOf(chain: NsecChain, name: Name, what: string): NsecEntry {
  if (chain.nsecFor(name)) throw new Error(`${what}: ${nameToText(name)} owns an NSEC, so no NSEC covers it`);
  return chain.covering(name);
}

/**
 * NXDOMAIN (RFC 4035 §3.1.3.2): the NSEC covering `qname` and the NSEC covering `*.closestEncloser` (which
 * proves no wildcard could have matched), one entry when the same NSEC does both. Throws when either name owns
 * an NSEC (then the answer is not NXDOMAIN).
 */
export function nxdomainProof(chain: NsecChain, qname: Name, closestEncloser: Name): NsecEntry[] {
  const q = coverOf(chain, qname, 'nxdomainProof');
  const w = coverOf(chain, prependLabel(WILDCARD_LABEL, closestEncloser), 'nxdomainProof (wildcard)');
  return dedupe([q, w]);
}

/**
 * NODATA (RFC 4035 §3.1.3.1): the NSEC of `qname` when it owns one (the caller checks the bitmap lacks the
 * qtype and CNAME). For an empty non-terminal, the NSEC covering it: no NSEC at the name proves it has no types,
 * and the covering NSEC's next name being below it proves the name exists (so NOERROR, never NXDOMAIN:
 * RFC 8020). Throws when `qname` neither owns an NSEC nor is an empty non-terminal by the chain.
 */
export function nodataProof(chain: NsecChain, qname: Name): NsecEntry[] {
  const own = chain.nsecFor(qname);
  if (own) return [own];
  const cover = chain.covering(qname);
  if (!isSubdomain(cover.next, qname)) {
    throw new Error(`nodataProof: ${nameToText(qname)} is neither an owner nor an empty non-terminal`);
  }
  return [cover];
}

/** The next closer name of `qname` for a wildcard `*.<closest encloser>` (RFC 5155 §1.3 terminology). */
function nextCloser(qname: Name, wildcardOwner: Name, what: string): Name {
  if (!isWildcard(wildcardOwner)) throw new Error(`${what}: ${nameToText(wildcardOwner)} is not a wildcard name`);
  const encloser = stripLabels(wildcardOwner, 1);
  const depth = labelCount(wildcardOwner); // the next closer has one label more than the closest encloser
  if (!isSubdomain(qname, encloser) || labelCount(qname) < depth) {
    throw new Error(`${what}: ${nameToText(qname)} is not below ${nameToText(encloser)}`);
  }
  return stripLabels(qname, labelCount(qname) - depth);
}

/**
 * Wildcard answer (RFC 4035 §3.1.3.3, RFC 4592 §4.6): the NSEC covering the next closer name, proving that no
 * closer match for `qname` exists.
 */
export function wildcardAnswerProof(chain: NsecChain, qname: Name, wildcardOwner: Name): NsecEntry[] {
  return [coverOf(chain, nextCloser(qname, wildcardOwner, 'wildcardAnswerProof'), 'wildcardAnswerProof')];
}

/**
 * Wildcard NODATA (RFC 4035 §3.1.3.4): the NSEC covering the next closer name + the wildcard's own NSEC (its
 * bitmap lacks the qtype); a wildcard that is an empty non-terminal is proven like any ENT. One entry when the
 * same NSEC does both.
 */
export function wildcardNodataProof(chain: NsecChain, qname: Name, wildcardOwner: Name): NsecEntry[] {
  const cover = coverOf(chain, nextCloser(qname, wildcardOwner, 'wildcardNodataProof'), 'wildcardNodataProof');
  return dedupe([cover, ...nodataProof(chain, wildcardOwner)]);
}
