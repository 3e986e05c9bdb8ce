/**
 * The difference between two consecutive served versions of a zone, for the IXFR journal (RFC 1995 §4: the
 * records deleted and the records added, every RR of the signed zone, RRSIG, NSEC and DNSKEY too). Computed
 * owner by owner: an owner whose RRsets are the same (the same objects, or the same owner, type, TTL and rdata
 * octets) costs a comparison, and only the owners that differ are encoded. The walks are generators that yield
 * every few dozen owners, so that the journal runs them in slices (slices.ts) and queries are answered meanwhile.
 * The records come out in the order of the versions' transfers (zone/export.ts): deleted ones in the old
 * version's order, added ones in the new one's.
 */
import { CLASS_IN } from '../wire/types.js';
import { writeRdata } from '../wire/rdata.js';
import { Writer } from '../wire/writer.js';
import { nodeRRsets } from '../zone/export.js';
import type { RRset, ZoneNode } from '../zone/zone.js';
import type { ZoneVersion } from './publisher.js';

/** One RR in uncompressed wire form (owner, type, class, TTL, RDLENGTH, rdata), held as a latin1 string key. */
export type WireRR = string;

/** Owners walked between two yields. */
const OWNERS_PER_STEP = 64;

/** A version as the journal keeps it: the version itself, its SOA record and the octets of all its records. */
export interface Content {
  readonly serial: number;
  readonly soa: WireRR;
  readonly size: number;
  readonly version: ZoneVersion;
}

/** The records deleted and added from one version to the next, and the next version's content. */
export interface Change {
  readonly deleted: WireRR[];
  readonly added: WireRR[];
  readonly next: Content;
}

export function wireRR(rs: RRset, rd: Uint8Array): WireRR {
  const w = new Writer(Infinity, rs.owner.wire.length + 10 + rd.length);
  w.bytes(rs.owner.wire);
  w.u16(rs.type);
  w.u16(CLASS_IN);
  w.u32(rs.ttl);
  const lenAt = w.pos;
  w.u16(0);
  writeRdata(w, rs.type, rd, false);
  w.patchU16(lenAt, w.pos - lenAt - 2);
  return Buffer.from(w.view()).toString('latin1');
}

/** The RRsets a version's transfer sends at `node` (the signer's DNSKEY, NSEC and RRSIG ones too). */
function rrsetsAt(v: ZoneVersion, node: ZoneNode): RRset[] {
  const signed = v.signed;
  return [...nodeRRsets(node, signed ? (n) => signed.addedAt(n) : () => [])];
}

/** The octets of an RR in wire form: the rdata goes uncompressed, as it is held. */
const rrSize = (rs: RRset, rd: Uint8Array): number => rs.owner.wire.length + 10 + rd.length;

function soaOf(v: ZoneVersion): WireRR {
  return wireRR(v.zone.soa, v.zone.soa.rdatas[0]!);
}

/** The content of a version seen for the first time: every owner walked once, to count its octets. */
export function* contentOf(v: ZoneVersion): Generator<void, Content, undefined> {
  let size = 0;
  for (const rd of v.zone.soa.rdatas) size += rrSize(v.zone.soa, rd);
  let n = 0;
  for (const node of v.zone.ordered) {
    for (const rs of rrsetsAt(v, node)) for (const rd of rs.rdatas) size += rrSize(rs, rd);
    if (++n % OWNERS_PER_STEP === 0) yield;
  }
  return { serial: v.serial, soa: soaOf(v), size, version: v };
}

/** The difference from `a` to the version `b`. */
export function* changeOf(a: Content, b: ZoneVersion): Generator<void, Change, undefined> {
  const deleted: WireRR[] = [];
  const added: WireRR[] = [];
  const addedAt = new Map<string, WireRR[]>();
  const empty: RRset[] = [];
  let n = 0;
  // The owners of each version by key, from the lists the transfers walk (not zone.nodes: the same owners, but
  // the journal's difference is between what the transfers send).
  const ownersOf = function* (list: readonly ZoneNode[]): Generator<void, Map<string, ZoneNode>, undefined> {
    const m = new Map<string, ZoneNode>();
    for (const node of list) {
      m.set(node.name.key, node);
      if (++n % (OWNERS_PER_STEP * 16) === 0) yield;
    }
    return m;
  };
  const oldOwners = yield* ownersOf(a.version.zone.ordered);
  const newOwners = yield* ownersOf(b.zone.ordered);
  // The old version's owners in its order: what each lost, and what each shared owner gained (kept aside).
  for (const node of a.version.zone.ordered) {
    const other = newOwners.get(node.name.key);
    const before = rrsetsAt(a.version, node);
    const after = other ? rrsetsAt(b, other) : empty;
    if (!sameRRsets(before, after)) {
      const [del, add] = ownerChange(before, after);
      deleted.push(...del);
      if (add.length > 0) addedAt.set(node.name.key, add);
    }
    if (++n % OWNERS_PER_STEP === 0) yield;
  }
  // The new version's owners in its order: the gains of shared owners, and every record of a new owner.
  for (const node of b.zone.ordered) {
    if (!oldOwners.has(node.name.key)) {
      for (const rs of rrsetsAt(b, node)) for (const rd of rs.rdatas) added.push(wireRR(rs, rd));
    } else {
      const add = addedAt.get(node.name.key);
      if (add) added.push(...add);
    }
    if (++n % OWNERS_PER_STEP === 0) yield;
  }
  const soa = soaOf(b);
  let size = a.size - a.soa.length + soa.length;
  for (const r of deleted) size -= r.length;
  for (const r of added) size += r.length;
  return { deleted, added, next: { serial: b.serial, soa, size, version: b } };
}

/** The records of one owner deleted and added (each once, in the order of its RRsets in each version). */
function ownerChange(before: readonly RRset[], after: readonly RRset[]): [WireRR[], WireRR[]] {
  const wire = (list: readonly RRset[]): Set<WireRR> => {
    const out = new Set<WireRR>();
    // The apex SOA is not among them (nodeRRsets leaves it out): it is the difference's own (fromSoa / toSoa).
    for (const rs of list) for (const rd of rs.rdatas) out.add(wireRR(rs, rd));
    return out;
  };
  const a = wire(before);
  const b = wire(after);
  return [[...a].filter((r) => !b.has(r)), [...b].filter((r) => !a.has(r))];
}

/** Whether two lists of RRsets hold the same records in the same order (owner octets, type, TTL, rdata). */
function sameRRsets(a: readonly RRset[], b: readonly RRset[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x.type !== y.type || x.ttl !== y.ttl || x.rdatas.length !== y.rdatas.length) return false;
    if (!sameBytes(x.owner.wire, y.owner.wire)) return false;
    for (let j = 0; j < x.rdatas.length; j++) if (!sameBytes(x.rdatas[j]!, y.rdatas[j]!)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
