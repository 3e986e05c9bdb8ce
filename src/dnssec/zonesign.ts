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
import { cdsRRsets } from './cds.js';
import {
  buildNsecChain,
  buildNsecChainSteps,
  nodataProof,
  nxdomainProof,
  wildcardAnswerProof,
  wildcardNodataProof,
  type NsecChain,
  type NsecEntry,
} from './nsec.js';
import { RrsigTable } from './rrsigs.js';
import { digestJitter, SignatureCache, type SignaturePolicy } from './sigcache.js';

export interface ZoneKeys {
  /** Signs the DNSKEY RRset. */
  readonly ksk: ZoneKey;
  /** Signs everything else (the same key as ksk for a CSK). */
  readonly zsk: ZoneKey;
  /** During a KSK or CSK rollover: every key that signs the DNSKEY RRset (default: ksk alone). */
  readonly dnskeySigners?: readonly ZoneKey[];
  /** The DNSKEY RRset's keys, with keys published before or after their use (default: ksk and zsk). */
  readonly published?: readonly ZoneKey[];
  /** The keys whose DS the parent should hold: published as CDS and CDNSKEY (RFC 7344; cds.ts). Default: none. */
  readonly atParent?: readonly ZoneKey[];
  /** Publish the RFC 8078 §4 delete records instead (the zone is going insecure). */
  readonly parentDelete?: boolean;
}

/** The keys that sign the DNSKEY RRset. */
export const dnskeySigners = (keys: ZoneKeys): readonly ZoneKey[] => keys.dnskeySigners ?? [keys.ksk];

/** The keys in the DNSKEY RRset. */
export const publishedKeys = (keys: ZoneKeys): readonly ZoneKey[] =>
  keys.published ?? (keys.ksk === keys.zsk ? [keys.ksk] : [keys.ksk, keys.zsk]);

export interface SignedZone extends ZoneSecurity {
  readonly zone: Zone;
  readonly keys: ZoneKeys;
  readonly dnskey: RRset;
  /** The CDS and CDNSKEY RRsets at the apex (RFC 7344), or none. */
  readonly cds: readonly RRset[];
  readonly chain: NsecChain;
  /** Earliest expiration (seconds since the epoch) of any signature in this snapshot. */
  readonly earliestExpiration: number;
  /** Every record the signer added (DNSKEY, NSEC, RRSIG), for `zone export --signed`. */
  addedRRsets(): Iterable<RRset>;
}

/** The signature policy of a zone's `dnssec:` settings. */
export function policyOf(zone: Zone): SignaturePolicy {
  const d = zone.dnssec;
  // Spread expirations over up to 1/14 of the validity (one day for 14 d), never into the refresh window.
  const range = Math.max(1, Math.min(Math.floor(d.signatureValidity / 14), d.signatureValidity - d.refreshBefore - 1));
  return {
    validity: d.signatureValidity,
    refreshBefore: d.refreshBefore,
    inceptionOffset: d.inceptionOffset,
    jitter: digestJitter(range),
  };
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

/**
 * Every RRset the zone signs, in a fixed order: the DNSKEY RRset, the CDS and CDNSKEY RRsets, the authoritative
 * RRsets in canonical order, the NSEC chain.
 */
function* signedRRsets(zone: Zone, dnskey: RRset, cds: readonly RRset[], chain: NsecChain): Generator<RRset> {
  yield dnskey;
  yield* cds;
  for (const node of zone.ordered) yield* signable(node);
  for (const e of chain.entries) yield e.rrset;
}

/**
 * Every signature the zone gets, as (RRset, key): the DNSKEY, CDS and CDNSKEY RRsets by each of the DNSKEY
 * RRset's signers (RFC 7344 §4.1: signed by a key the parent's DS points to, as the DNSKEY RRset is), the rest by
 * the ZSK.
 */
function* signingJobs(
  zone: Zone,
  keys: ZoneKeys,
  dnskey: RRset,
  cds: readonly RRset[],
  chain: NsecChain,
): Generator<[RRset, ZoneKey]> {
  for (const rs of [dnskey, ...cds]) for (const key of dnskeySigners(keys)) yield [rs, key];
  for (const rs of signedRRsets(zone, dnskey, cds, chain)) if (rs !== dnskey && !cds.includes(rs)) yield [rs, keys.zsk];
}

/**
 * The TTLs a key rollover is timed by: the DNSKEY RRset's (the SOA TTL, as additions() gives it), and the
 * largest of every signed RRset's, NSEC included (a signature is cached as long as the RRset it covers).
 */
export function rolloverTtls(zone: Zone): { dnskeyTtl: number; maxTtl: number } {
  let maxTtl = Math.max(zone.soa.ttl, zone.negativeTtl);
  for (const node of zone.ordered) for (const rs of signable(node)) if (rs.ttl > maxTtl) maxTtl = rs.ttl;
  return { dnskeyTtl: zone.soa.ttl, maxTtl };
}

/**
 * The DNSKEY RRset, the CDS and CDNSKEY RRsets, and the NSEC chain: what the signer adds before signing. A zone
 * file that writes its own CDS or CDNSKEY at the apex keeps them, and the signer adds none.
 */
function additions(zone: Zone, keys: ZoneKeys): { dnskey: RRset; cds: RRset[]; chain: NsecChain } {
  const cds = cdsOf(zone, keys);
  return { dnskey: dnskeyRRset(zone, keys), cds, chain: buildNsecChain(zone, nsecOptions(zone, cds)) };
}

/** The CDS and CDNSKEY RRsets the signer adds (none when the zone file has its own). */
function cdsOf(zone: Zone, keys: ZoneKeys): RRset[] {
  const own = zone.apex.rrsets.has(T.CDS) || zone.apex.rrsets.has(T.CDNSKEY);
  return own ? [] : cdsRRsets(zone.origin, keys.atParent ?? [], zone.soa.ttl, keys.parentDelete);
}

function dnskeyRRset(zone: Zone, keys: ZoneKeys): RRset {
  const dnskeyRdatas = publishedKeys(keys).map((k) => k.dnskeyRdata);
  return Object.freeze({
    owner: zone.origin,
    type: T.DNSKEY,
    ttl: zone.soa.ttl,
    rdatas: Object.freeze(dnskeyRdatas),
  });
}

/** RFC 9077: NSEC TTL = min(SOA MINIMUM, SOA TTL), which is the zone's negative TTL. */
const nsecOptions = (zone: Zone, cds: readonly RRset[]): { ttl: number; apexExtraTypes: number[] } => ({
  ttl: zone.negativeTtl,
  apexExtraTypes: [T.DNSKEY, ...cds.map((r) => r.type)],
});

/**
 * Signs a zone at time `now` (seconds since the epoch). Throws SignError/WireError on a key or data problem; the
 * caller keeps the previous snapshot then.
 */
export function signZone(zone: Zone, keys: ZoneKeys, now: number, cache: SignatureCache): SignedZone {
  const steps = signZoneSteps(zone, keys, now, cache);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Signing jobs between two yields of signZoneSteps. */
const JOBS_PER_STEP = 32;

/**
 * signZone as a generator that yields every few dozen RRsets, for a caller that runs it in slices and answers
 * queries between them (server/slices.ts): a reload signs on the main thread without stopping the answers.
 */
export function* signZoneSteps(
  zone: Zone,
  keys: ZoneKeys,
  now: number,
  cache: SignatureCache,
): Generator<void, SignedZone, undefined> {
  const policy = policyOf(zone);
  const dnskey = dnskeyRRset(zone, keys);
  const cds = cdsOf(zone, keys);
  const chain = yield* buildNsecChainSteps(zone, nsecOptions(zone, cds));
  const table = new RrsigTable();
  let n = 0;
  for (const [rs, key] of signingJobs(zone, keys, dnskey, cds, chain)) {
    const s = cache.get(rs, key, now, policy);
    table.setSignature(table.addJob(rs.owner.key, rs.type), s.rrsig, s.expiration);
    if (++n % JOBS_PER_STEP === 0) yield;
  }
  table.seal();
  return assemble(zone, keys, { dnskey, cds, chain }, tableLookup(table), table.earliestExpiration);
}

/**
 * signZone with up to `concurrency` signatures computed at a time on libuv's thread pool
 * (SignatureCache.getAsync): the same signed zone, made faster on a multi-core machine. Used for the first
 * signing of a large zone at start; reloads and refreshes sign little and stay synchronous.
 */
export async function signZoneAsync(
  zone: Zone,
  keys: ZoneKeys,
  now: number,
  cache: SignatureCache,
  concurrency = 64,
  turn: () => Promise<void> | undefined = () => undefined,
): Promise<SignedZone> {
  const policy = policyOf(zone);
  // Promise callbacks alone never give I/O a turn (a zone whose signatures are all in the cache would hold the
  // event loop for seconds): `turn` (the server's slicer) is awaited while the NSEC chain is built and between
  // signatures whenever it gives a promise.
  const cds = cdsOf(zone, keys);
  const dnskey = dnskeyRRset(zone, keys);
  const building = buildNsecChainSteps(zone, nsecOptions(zone, cds));
  let built = building.next();
  for (; !built.done; built = building.next()) {
    const t = turn();
    if (t) await t;
  }
  const chain = built.value;
  const table = new RrsigTable();
  const jobs = signingJobs(zone, keys, dnskey, cds, chain);
  const worker = async (): Promise<void> => {
    for (let r = jobs.next(); !r.done; r = jobs.next()) {
      const [rs, key] = r.value;
      const i = table.addJob(rs.owner.key, rs.type);
      const s = await cache.getAsync(rs, key, now, policy);
      table.setSignature(i, s.rrsig, s.expiration);
      const t = turn();
      if (t) await t;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  table.seal();
  return assemble(zone, keys, { dnskey, cds, chain }, tableLookup(table), table.earliestExpiration);
}

/**
 * `signed` with the SOA RRset of `zone` (the same zone with another serial, zone/reserial.ts) and its new
 * signature by the zone signer (RFC 4034 §3: the RRSIG covers the SOA rdata, serial included); everything else,
 * NSEC chain and DNSKEY RRset included, is shared: the serial is in no other RRset. The signature comes from the
 * cache, so asking again for the same serial gives the same octets until the signature is due.
 */
export function signedWithSerial(signed: SignedZone, zone: Zone, now: number, cache: SignatureCache): SignedZone {
  if (zone.soa === signed.zone.soa) return signed;
  const sig = cache.get(zone.soa, signed.keys.zsk, now, policyOf(zone));
  const soaSigs: readonly Uint8Array[] = [sig.rrsig];
  const apexKey = zone.origin.key;
  const lookup = (rs: RRset): readonly Uint8Array[] | undefined =>
    rs.type === T.SOA && rs.owner.key === apexKey ? soaSigs : signed.signatures(rs, rs.ttl)?.rdatas;
  const earliest = Math.min(signed.earliestExpiration, sig.expiration);
  return assemble(zone, signed.keys, signed, lookup, earliest);
}

/** The signatures of an RRset in a table of signing jobs, by owner and covered type. */
function tableLookup(table: RrsigTable): (rs: RRset) => readonly Uint8Array[] | undefined {
  return (rs) => {
    const all = table.findAll(rs.owner.key, rs.type);
    return all.length > 0 ? all : undefined;
  };
}

/** The RRSIG RRset of an RRset's signatures, at its owner and with its TTL (RFC 4034 §3). */
const rrsigRRset = (covered: RRset, ttl: number, rrsigs: readonly Uint8Array[]): RRset =>
  Object.freeze({ owner: covered.owner, type: T.RRSIG, ttl, rdatas: Object.freeze(rrsigs) });

/**
 * The signed view, from the signatures of signingJobs() (`lookup` finds them by owner and covered type; the
 * DNSKEY RRset has two during a KSK rollover). The RRSIG RRset objects are made when asked for: answers that need one
 * are few (the response cache holds whole answers).
 */
function assemble(
  zone: Zone,
  keys: ZoneKeys,
  { dnskey, cds, chain }: { dnskey: RRset; cds: readonly RRset[]; chain: NsecChain },
  lookup: (rs: RRset) => readonly Uint8Array[] | undefined,
  earliest: number,
): SignedZone {
  const sets = (entries: readonly NsecEntry[]): RRset[] => entries.map((e) => e.rrset);
  return {
    zone,
    keys,
    dnskey,
    cds,
    chain,
    earliestExpiration: earliest,
    signatures(rrset: RRset, ttl: number): RRset | undefined {
      // `ttl` is the TTL the RRset is served with: the negative-caching SOA is served with a lower TTL than it
      // was signed with, and its RRSIG follows it.
      const rd = lookup(rrset);
      return rd && rrsigRRset(rrset, ttl, rd);
    },
    extra(node: ZoneNode, type: number): RRset | undefined {
      if (type === T.DNSKEY && node.isApex) return dnskey;
      if ((type === T.CDS || type === T.CDNSKEY) && node.isApex) return cds.find((r) => r.type === type);
      if (type === T.NSEC) return chain.nsecFor(node.name)?.rrset;
      return undefined;
    },
    signaturesAt(node: ZoneNode): RRset[] {
      const out: RRset[] = [];
      const add = (rs: RRset | undefined): void => {
        const rd = rs && lookup(rs);
        if (rd) out.push(rrsigRRset(rs, rs.ttl, rd));
      };
      if (node.isApex) for (const rs of [dnskey, ...cds]) add(rs);
      for (const rs of signable(node)) add(rs);
      add(chain.nsecFor(node.name)?.rrset);
      return out;
    },
    nxdomain: (qname: Name, encloser: Name) => sets(nxdomainProof(chain, qname, encloser)),
    covering: (qname: Name) => chain.covering(qname).rrset,
    nodata: (qname: Name) => sets(nodataProof(chain, qname)),
    wildcardAnswer: (qname: Name, wildcard: Name) => sets(wildcardAnswerProof(chain, qname, wildcard)),
    wildcardNodata: (qname: Name, wildcard: Name) => sets(wildcardNodataProof(chain, qname, wildcard)),
    addedAt(node: ZoneNode): RRset[] {
      // The order addedRRsets() lists them in, restricted to this owner: DNSKEY, CDS, CDNSKEY, the NSEC, then
      // the RRSIGs of those at the apex, of the node's signed RRsets and of the NSEC (the AXFR order, pinned by a
      // test).
      const nsec = chain.nsecFor(node.name)?.rrset;
      const apexSets = node.isApex ? [dnskey, ...cds] : [];
      const out: RRset[] = [...apexSets];
      if (nsec) out.push(nsec);
      for (const rs of apexSets) out.push(rrsigRRset(rs, rs.ttl, lookup(rs)!));
      for (const rs of signable(node)) out.push(rrsigRRset(rs, rs.ttl, lookup(rs)!));
      if (nsec) out.push(rrsigRRset(nsec, nsec.ttl, lookup(nsec)!));
      return out;
    },
    // One at a time: the RRSIG RRsets of a large zone are made as they are read, never all held at once.
    *addedRRsets(): Generator<RRset> {
      yield dnskey;
      yield* cds;
      for (const e of chain.entries) yield e.rrset;
      for (const rs of signedRRsets(zone, dnskey, cds, chain)) yield rrsigRRset(rs, rs.ttl, lookup(rs)!);
    },
  };
}
