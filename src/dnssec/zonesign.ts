/**
 * Zone + keys + time -> SignedZone: the DNSKEY RRset, the NSEC chain, and an RRSIG for every authoritative
 * RRset, all built before the snapshot is swapped in (nothing is signed per query). Implements the query
 * stage's ZoneSecurity view.
 *
 * What is signed (RFC 4035 §2.2): every RRset the zone is authoritative for, DS at a cut included; not the NS
 * RRset at a delegation nor glue (RFC 4035 §2.2: "MUST NOT" sign delegation NS and glue). The DNSKEY RRset is
 * signed by the KSK, everything else by the ZSK (one key does both with `keys: csk`). Signatures come from the
 * SignatureCache, so a re-sign after a reload or a refresh tick only signs RRsets that changed or are due.
 */
import type { Name } from '../wire/name.js';
import { T } from '../wire/types.js';
import type { ZoneSecurity } from '../query/security.js';
import type { RRset, Zone, ZoneNode } from '../zone/zone.js';
import type { ZoneKey } from './keys.js';
import { buildNsecChain, nodataProof, nxdomainProof, wildcardAnswerProof, wildcardNodataProof, type NsecChain, type NsecEntry } from './nsec.js';
import { digestJitter, SignatureCache, type SignaturePolicy } from './sigcache.js';

export interface ZoneKeys {
  /** Signs the DNSKEY RRset. */
  readonly ksk: ZoneKey;
  /** Signs everything else (the same key as ksk for a CSK). */
  readonly zsk: ZoneKey;
}

export interface SignedZone extends ZoneSecurity {
  readonly zone: Zone;
  readonly keys: ZoneKeys;
  readonly dnskey: RRset;
  readonly chain: NsecChain;
  /** Earliest expiration (seconds since the epoch) of any signature in this snapshot. */
  readonly earliestExpiration: number;
  /** Every record the signer added (DNSKEY, NSEC, RRSIG), for `zone export --signed`. */
  addedRRsets(): RRset[];
}

/** The signature policy of a zone's `dnssec:` settings. */
export function policyOf(zone: Zone): SignaturePolicy {
  const d = zone.dnssec;
  // Spread expirations over up to 1/14 of the validity (one day for 14 d), never into the refresh window.
  const range = Math.max(1, Math.min(Math.floor(d.signatureValidity / 14), d.signatureValidity - d.refreshBefore - 1));
  return { validity: d.signatureValidity, refreshBefore: d.refreshBefore, inceptionOffset: d.inceptionOffset, jitter: digestJitter(range) };
}

/** The RRsets of a node that the zone signs. */
function signable(node: ZoneNode): RRset[] {
  if (node.belowCut) return []; // glue (and nothing else can be below a cut)
  if (node.isDelegation) {
    const ds = node.rrsets.get(T.DS);
    return ds ? [ds] : [];
  }
  return [...node.rrsets.values()];
}

const rrKey = (rs: RRset): string => `${rs.owner.key}/${rs.type}`;

/**
 * Signs a zone at time `now` (seconds since the epoch). Throws SignError/WireError on a key or data problem; the
 * caller keeps the previous snapshot then.
 */
export function signZone(zone: Zone, keys: ZoneKeys, now: number, cache: SignatureCache): SignedZone {
  const policy = policyOf(zone);
  const apex = zone.origin;
  const dnskeyRdatas = keys.ksk === keys.zsk ? [keys.ksk.dnskeyRdata] : [keys.ksk.dnskeyRdata, keys.zsk.dnskeyRdata];
  const dnskey: RRset = Object.freeze({ owner: apex, type: T.DNSKEY, ttl: zone.soa.ttl, rdatas: Object.freeze(dnskeyRdatas) });
  // RFC 9077: NSEC TTL = min(SOA MINIMUM, SOA TTL), which is the zone's negative TTL.
  const chain = buildNsecChain(zone, { ttl: zone.negativeTtl, apexExtraTypes: [T.DNSKEY] });

  const rrsigs = new Map<string, RRset>();
  let earliest = Infinity;
  const sign = (rs: RRset, key: ZoneKey): void => {
    const s = cache.get(rs, key, now, policy);
    if (s.expiration < earliest) earliest = s.expiration;
    rrsigs.set(rrKey(rs), Object.freeze({ owner: rs.owner, type: T.RRSIG, ttl: rs.ttl, rdatas: Object.freeze([s.rrsig]) }));
  };
  sign(dnskey, keys.ksk);
  for (const node of zone.ordered) for (const rs of signable(node)) sign(rs, keys.zsk);
  for (const e of chain.entries) sign(e.rrset, keys.zsk);

  const sets = (entries: readonly NsecEntry[]): RRset[] => entries.map((e) => e.rrset);
  const ttlVariants = new Map<string, RRset>();
  return {
    zone,
    keys,
    dnskey,
    chain,
    earliestExpiration: earliest,
    signatures(rrset: RRset, ttl: number): RRset | undefined {
      const sig = rrsigs.get(rrKey(rrset));
      if (!sig || sig.ttl === ttl) return sig;
      // The negative-caching SOA is served with a lower TTL than it was signed with; its RRSIG follows it.
      const k = `${rrKey(rrset)}/${ttl}`;
      let v = ttlVariants.get(k);
      if (!v) ttlVariants.set(k, (v = Object.freeze({ ...sig, ttl })));
      return v;
    },
    extra(node: ZoneNode, type: number): RRset | undefined {
      if (type === T.DNSKEY && node.isApex) return dnskey;
      if (type === T.NSEC) return chain.nsecFor(node.name)?.rrset;
      return undefined;
    },
    signaturesAt(node: ZoneNode): RRset[] {
      const out: RRset[] = [];
      const add = (rs: RRset | undefined): void => {
        const sig = rs && rrsigs.get(rrKey(rs));
        if (sig) out.push(sig);
      };
      if (node.isApex) add(dnskey);
      for (const rs of signable(node)) add(rs);
      add(chain.nsecFor(node.name)?.rrset);
      return out;
    },
    nxdomain: (qname: Name, encloser: Name) => sets(nxdomainProof(chain, qname, encloser)),
    covering: (qname: Name) => chain.covering(qname).rrset,
    nodata: (qname: Name) => sets(nodataProof(chain, qname)),
    wildcardAnswer: (qname: Name, wildcard: Name) => sets(wildcardAnswerProof(chain, qname, wildcard)),
    wildcardNodata: (qname: Name, wildcard: Name) => sets(wildcardNodataProof(chain, qname, wildcard)),
    addedRRsets(): RRset[] {
      return [dnskey, ...chain.entries.map((e) => e.rrset), ...rrsigs.values()];
    },
  };
}
