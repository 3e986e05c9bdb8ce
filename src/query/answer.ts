/**
 * Answering as a visible plan (after Knot's stages in internet.c): select the zone, then classify the name
 * (hit, CNAME/DNAME alias, wildcard, NODATA, NXDOMAIN, referral), then fill the authority section, then the
 * additional section. rcode and AA are decided here and nowhere else. No bytes, no I/O, no crypto.
 *
 * RFCs: 1034 §4.3.2 (the algorithm), 2308 (negative answers), 4592 (wildcards), 6672 (DNAME),
 * 6604 (rcode after CNAME chains), 8482 (minimal ANY), 4035 §3.1.4.1 (DS on the parent side).
 */
import { isSubdomain, labels, nameFromLabels, type Name } from '../wire/name.js';
import { rdataNames } from '../wire/rdata.js';
import { RCODE, T } from '../wire/types.js';
import type { ZoneSet } from '../zone/set.js';
import type { ZoneSecurity } from './security.js';
import { locate, type RRset, type Zone, type ZoneNode } from '../zone/zone.js';

/** An RRset placed in a response under `owner` (the query's spelling, or the wildcard's expansion). */
export interface Placed {
  readonly owner: Name;
  readonly rrset: RRset;
  /** Set when the RRset was synthesised from a wildcard (RFC 4592): DNSSEC needs the proof of the expansion. */
  readonly wildcard?: ZoneNode;
}

/** What kind of answer this was; the DNSSEC stage (next issue) chooses its proofs from it. */
type Outcome =
  | { readonly kind: 'hit'; readonly node: ZoneNode; readonly name: Name }
  | { readonly kind: 'nodata'; readonly node: ZoneNode; readonly name: Name }
  | { readonly kind: 'nxdomain'; readonly encloser: ZoneNode; readonly name: Name }
  | { readonly kind: 'referral'; readonly cut: ZoneNode }
  | { readonly kind: 'alias-out'; readonly target: Name }
  | { readonly kind: 'refused' }
  | { readonly kind: 'yxdomain' };

export interface Answer {
  readonly rcode: number;
  readonly aa: boolean;
  readonly zone: Zone | null;
  readonly outcome: Outcome;
  readonly answer: readonly Placed[];
  readonly authority: readonly Placed[];
  readonly additional: readonly Placed[];
}

interface Query {
  readonly qname: Name;
  readonly qtype: number;
  readonly dnssecOk: boolean;
}

/** CNAME/DNAME chain limit inside one zone (a loop guard; BIND and Knot use similar small bounds). */
const MAX_ALIAS_HOPS = 16;

/** Types whose targets get address records in the additional section (RFC 1035 §3.3.9, §3.3.11; RFC 2782). */
const ADDITIONAL_FOR = new Set<number>([T.NS, T.MX, T.SRV]);

const negativeSoa = new WeakMap<Zone, RRset>();
/** The SOA with the negative-caching TTL min(SOA TTL, SOA MINIMUM) (RFC 2308 §3, §5). */
function negativeSoaOf(zone: Zone): RRset {
  let s = negativeSoa.get(zone);
  if (!s) {
    s = Object.freeze({ ...zone.soa, ttl: zone.negativeTtl });
    negativeSoa.set(zone, s);
  }
  return s;
}

const REFUSED: Answer = Object.freeze<Answer>({
  rcode: RCODE.REFUSED,
  aa: false,
  zone: null,
  outcome: { kind: 'refused' },
  answer: [],
  authority: [],
  additional: [],
});

/**
 * Answers one question from the zone set. Pure: same inputs, same answer. `security` gives the signed view of
 * a zone (DNSKEY, NSEC, RRSIGs, proofs) when it is signed.
 */
export function answerQuery(zones: ZoneSet, q: Query, security?: (zone: Zone) => ZoneSecurity | undefined): Answer {
  const zone = zones.find(q.qname, q.qtype);
  if (!zone) return REFUSED;
  const sec = security?.(zone);
  const a = answerInZone(zone, q, sec);
  return q.dnssecOk && sec ? withDnssec(a, sec) : a;
}

export function answerInZone(zone: Zone, q: Query, sec?: ZoneSecurity): Answer {
  const answer: Placed[] = [];
  const authority: Placed[] = [];
  const seen = new Set<string>();
  let name = q.qname;

  const done = (rcode: number, outcome: Outcome, aa = true): Answer => ({
    rcode,
    aa,
    zone,
    outcome,
    answer,
    authority,
    additional: additionalFor(zone, answer, authority, outcome),
  });

  for (let hop = 0; ; hop++) {
    const loc = locate(zone, name);
    const exact = loc.exact;
    // ---- stage 1: zone cut? (a DS query at the cut itself is answered here, on the parent side)
    const cut = exact
      ? exact.isDelegation
        ? exact
        : exact.cut
      : loc.encloser.isDelegation
        ? loc.encloser
        : loc.encloser.cut;
    if (cut && !(exact === cut && q.qtype === T.DS)) {
      authority.push({ owner: cut.name, rrset: cut.rrsets.get(T.NS)! });
      // A referral is not an authoritative answer (RFC 1034 §4.3.2 step 3b); after an alias it still is.
      return done(RCODE.NOERROR, { kind: 'referral', cut }, answer.length > 0);
    }

    let node: ZoneNode;
    let wildcard: ZoneNode | undefined;
    if (exact) node = exact;
    else {
      // ---- stage 2: DNAME at the closest encloser (RFC 6672 §3.2)
      const dname = loc.encloser.rrsets.get(T.DNAME);
      if (dname) {
        answer.push({ owner: loc.encloser.name, rrset: dname });
        const target = rdataNames(T.DNAME, dname.rdatas[0]!)[0]!;
        let next: Name;
        try {
          const below = name.offsets.length - loc.encloser.name.offsets.length;
          next = nameFromLabels([...labels(name).slice(0, below), ...labels(target)]);
        } catch {
          return done(RCODE.YXDOMAIN, { kind: 'yxdomain' }); // RFC 6672 §2.2: the substituted name is too long
        }
        answer.push({ owner: name, rrset: synthCname(name, next, dname.ttl) });
        if (!followable(zone, next, seen, hop)) return done(RCODE.NOERROR, { kind: 'alias-out', target: next });
        seen.add(name.key);
        name = next;
        continue;
      }
      // ---- stage 3: wildcard at the closest encloser (RFC 4592 §3.3.1); else the name does not exist
      const wc = loc.encloser.wildcardChild;
      if (!wc) {
        authority.push({ owner: zone.origin, rrset: negativeSoaOf(zone) });
        return done(RCODE.NXDOMAIN, { kind: 'nxdomain', encloser: loc.encloser, name });
      }
      node = wc;
      wildcard = wc;
    }

    // ---- stage 4: data at the node
    if (q.qtype === T.ANY) {
      // RFC 8482 §4.1: answer with a subset; one RRset is enough. Prefer a stable, useful choice.
      const rs = pickAnyRRset(node);
      if (rs) {
        answer.push(place(name, rs, wildcard));
        return done(RCODE.NOERROR, { kind: 'hit', node, name });
      }
      authority.push({ owner: zone.origin, rrset: negativeSoaOf(zone) });
      return done(RCODE.NOERROR, { kind: 'nodata', node, name });
    }
    // qtype RRSIG: the signatures at the name (RFC 4035 §3.1.5 leaves it to the server; BIND and Knot answer).
    if (q.qtype === T.RRSIG && sec) {
      // A wildcard expands its data, not its own NSEC (RFC 4592 §3.3.1): the RRSIG covering NSEC stays behind.
      const covered = (sig: RRset): number => (sig.rdatas[0]![0]! << 8) | sig.rdatas[0]![1]!;
      const sigs = sec.signaturesAt(node).filter((sig) => !(wildcard && covered(sig) === T.NSEC));
      if (sigs.length > 0) {
        for (const sig of sigs) answer.push(place(name, sig, wildcard));
        return done(RCODE.NOERROR, { kind: 'hit', node, name });
      }
    }
    // DNSKEY and NSEC come from the signer (answered with or without DO, RFC 4035 §3.1.4 / §3.1.2).
    const rs = node.rrsets.get(q.qtype) ?? sec?.extra(node, q.qtype);
    if (rs) {
      answer.push(place(name, rs, wildcard));
      return done(RCODE.NOERROR, { kind: 'hit', node, name });
    }
    const cname = node.rrsets.get(T.CNAME);
    if (cname) {
      answer.push(place(name, cname, wildcard));
      const target = rdataNames(T.CNAME, cname.rdatas[0]!)[0]!;
      if (!followable(zone, target, seen, hop)) return done(RCODE.NOERROR, { kind: 'alias-out', target });
      seen.add(name.key);
      name = target;
      continue;
    }
    authority.push({ owner: zone.origin, rrset: negativeSoaOf(zone) });
    return done(RCODE.NOERROR, { kind: 'nodata', node, name });
  }
}

/**
 * The closest encloser of `qname` when `answerInZone` would answer it NXDOMAIN straight away (stages 1-3 of
 * its first hop: no node at the name, no cut above it, no DNAME and no wildcard at the closest encloser);
 * null for every other outcome. A shortcut for the server's pre-encoded NXDOMAIN responses, so it must agree
 * with `answerInZone` exactly (test/server/negative.test.ts checks it against full answers byte for byte).
 */
export function nxdomainEncloser(zone: Zone, qname: Name): ZoneNode | null {
  const loc = locate(zone, qname);
  if (loc.exact) return null;
  const e = loc.encloser;
  if (e.isDelegation || e.cut || e.wildcardChild || e.rrsets.has(T.DNAME)) return null;
  return e;
}

/**
 * When `a`, the answer to `qname`, is NODATA at qname's own node (no alias followed, no cut, no wildcard), the
 * test of the QTYPEs that get the very same answer but for the question: every type absent at the node whose
 * zone and stages do not depend on the type (not ANY, RRSIG or DS, RFC 4035 §3.1.4.1: DS can select the parent
 * zone). The authority section (negative SOA, and the node's NSEC proof of RFC 4035 §3.1.3.1) names no QTYPE.
 * Null for every other answer. The server keeps one such answer per name for all of them.
 */
export function absentTypes(
  a: Answer,
  qname: Name,
  sec: ZoneSecurity | undefined,
): ((qtype: number) => boolean) | null {
  const o = a.outcome;
  if (o.kind !== 'nodata' || a.answer.length > 0 || o.node.name.key !== qname.key) return null;
  const node = o.node;
  if (node.isDelegation || node.cut || node.rrsets.has(T.CNAME)) return null;
  return (qtype) =>
    qtype !== T.ANY &&
    qtype !== T.RRSIG &&
    qtype !== T.DS &&
    !node.rrsets.has(qtype) &&
    (sec === undefined || sec.extra(node, qtype) === undefined);
}

/**
 * The zone cut above `qname` when `answerInZone` answers it with a referral at its first hop and no node exists
 * at the name (RFC 1034 §4.3.2 step 3b): the answer is the cut's, whatever the name below it. Null otherwise.
 */
export function referralSource(zone: Zone, qname: Name): ZoneNode | null {
  const loc = locate(zone, qname);
  if (loc.exact) return null;
  const e = loc.encloser;
  return e.isDelegation ? e : e.cut;
}

/**
 * The wildcard whose expansion answered `qname` itself (RFC 4592 §3.3.1): the first answer RRset's when it is
 * owned by the qname, or the node of a wildcard NODATA; null for every other answer (exact names, DNAME,
 * NXDOMAIN, referrals). Response rate limiting counts such answers per wildcard, not per name asked.
 */
export function answeringWildcard(a: Answer, qname: Name): ZoneNode | null {
  const first = a.answer[0];
  if (first) return first.owner.key === qname.key ? (first.wildcard ?? null) : null;
  const o = a.outcome;
  return o.kind === 'nodata' && o.name.key === qname.key && o.node.name.key !== qname.key ? o.node : null;
}

/**
 * The wildcard node that `answerInZone` expands for `qname` at its first hop (RFC 4592 §3.3.1: no node at the
 * name, no cut above it, no DNAME at the closest encloser, which has a wildcard child), when that answer depends
 * on the qname only as the owner of what it expands: null otherwise, and for a wildcard owning a CNAME or NS (an
 * alias chain could come back to the qname itself). The server keeps such answers per wildcard (wildcard.ts);
 * test/server/wildcard.test.ts checks them against full answers byte for byte.
 */
export function wildcardSource(zone: Zone, qname: Name): ZoneNode | null {
  const loc = locate(zone, qname);
  if (loc.exact) return null;
  const e = loc.encloser;
  if (e.isDelegation || e.cut || e.rrsets.has(T.DNAME)) return null;
  const wc = e.wildcardChild;
  if (!wc || wc.isDelegation || wc.rrsets.has(T.CNAME) || wc.rrsets.has(T.NS)) return null;
  return wc;
}

function place(owner: Name, rrset: RRset, wildcard: ZoneNode | undefined): Placed {
  return wildcard ? { owner, rrset, wildcard } : { owner, rrset };
}

/** Follow an alias only inside this zone, without revisiting a name, within the hop limit. */
function followable(zone: Zone, target: Name, seen: Set<string>, hop: number): boolean {
  return hop + 1 < MAX_ALIAS_HOPS && !seen.has(target.key) && isSubdomain(target, zone.origin);
}

function synthCname(owner: Name, target: Name, ttl: number): RRset {
  return { owner, type: T.CNAME, ttl, rdatas: [target.wire] };
}

/**
 * ANY gets one RRset (RFC 8482 §4.1 leaves the subset to the server): the one with the lowest type code, a
 * deterministic choice that is also Knot DNS's.
 */
function pickAnyRRset(node: ZoneNode): RRset | undefined {
  let best: RRset | undefined;
  for (const rs of node.rrsets.values()) if (!best || rs.type < best.type) best = rs;
  return best;
}

/**
 * Additional section: A and AAAA of in-zone targets of NS, MX and SRV records in the answer and authority
 * sections (glue below a cut included for referrals). No record already in the answer is repeated.
 */
function additionalFor(
  zone: Zone,
  answer: readonly Placed[],
  authority: readonly Placed[],
  outcome: Outcome,
): Placed[] {
  const out: Placed[] = [];
  const added = new Set<string>();
  for (const p of answer) added.add(`${p.owner.key}/${p.rrset.type}`);
  const visit = (p: Placed, allowGlue: boolean): void => {
    if (!ADDITIONAL_FOR.has(p.rrset.type)) return;
    for (const rd of p.rrset.rdatas) {
      const target = rdataNames(p.rrset.type, rd).at(-1);
      if (!target || !isSubdomain(target, zone.origin)) continue;
      const node = zone.nodes.get(target.key);
      if (!node || (node.belowCut && !allowGlue)) continue;
      for (const t of [T.A, T.AAAA]) {
        const rs = node.rrsets.get(t);
        const k = `${node.name.key}/${t}`;
        if (rs && !added.has(k)) {
          added.add(k);
          out.push({ owner: node.name, rrset: rs });
        }
      }
    }
  };
  for (const p of answer) visit(p, false);
  for (const p of authority) visit(p, outcome.kind === 'referral');
  return out;
}

/**
 * The DNSSEC stage (RFC 4035 §3.1): an RRSIG after every signed RRset in every section (RFC 4035 §3.1.1;
 * glue and delegation NS are not signed), then the denial or wildcard proofs the outcome needs (§3.1.3), and
 * at a referral either the DS RRset or the NSEC proving there is none (§3.1.4). Proofs are authority data:
 * if they do not fit, the encoder sets TC rather than dropping them.
 */
function withDnssec(a: Answer, sec: ZoneSecurity): Answer {
  const proofs: RRset[] = [];
  const o = a.outcome;
  // Every wildcard expansion in the answer (also inside a CNAME chain) needs its next-closer proof.
  for (const p of a.answer) if (p.wildcard) proofs.push(...sec.wildcardAnswer(p.owner, p.wildcard.name));
  if (o.kind === 'nxdomain') proofs.push(...sec.nxdomain(o.name, o.encloser.name));
  else if (o.kind === 'nodata') {
    if (o.node.name.key !== o.name.key) proofs.push(...sec.wildcardNodata(o.name, o.node.name));
    else proofs.push(...sec.nodata(o.name));
  } else if (o.kind === 'referral') {
    const ds = o.cut.rrsets.get(T.DS);
    if (ds) proofs.push(ds);
    else proofs.push(...sec.nodata(o.cut.name));
  }
  const seen = new Set<string>();
  const authority: Placed[] = [...a.authority];
  for (const rs of proofs) {
    const k = `${rs.owner.key}/${rs.type}`;
    if (seen.has(k)) continue;
    seen.add(k);
    authority.push({ owner: rs.owner, rrset: rs });
  }
  const signed = (section: readonly Placed[]): Placed[] => {
    const out: Placed[] = [];
    for (const p of section) {
      out.push(p);
      const sig = sec.signatures(p.rrset, p.rrset.ttl);
      if (sig) out.push({ owner: p.owner, rrset: sig });
    }
    return out;
  };
  return { ...a, answer: signed(a.answer), authority: signed(authority), additional: signed(a.additional) };
}
