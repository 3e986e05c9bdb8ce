/**
 * Canonical RRset form and the data an RRSIG signs (RFC 4034 §3.1.8.1, §6.1-§6.3; RFC 4035 §5.3.2; RFC 6840
 * §5.1). Pure functions of their arguments: no keys, no clock, no crypto.
 *
 * The signed data is
 *
 *     signature = sign(RRSIG_RDATA | RR(1) | RR(2) | ...)
 *     RR(i)     = owner | type | class | TTL | RDATA length | RDATA          (RFC 4034 §3.1.8.1)
 *
 * where RRSIG_RDATA is the RRSIG rdata without the signature and with the signer's name in canonical form,
 * every owner and every name inside RDATA (for the types RFC 4034 §6.2 item 3 lists, as corrected by RFC 6840
 * §5.1: RRSIG yes, NSEC no) is lower-cased and uncompressed, TTL is the RRSIG's Original TTL (not the TTL the RR is served with),
 * and the RRs are in canonical order with duplicates removed (RFC 4034 §6.3, RFC 2181 §5).
 */
import { WireError } from '../wire/errors.js';
import { isWildcard, labelCount, lowerWire, nameFromWire, type Name } from '../wire/name.js';
import { canonicalRdata } from '../wire/rdata.js';
import { CLASS_IN } from '../wire/types.js';
import type { RRset } from '../wire/rrset.js';

/** Octets of the fixed RRSIG fields before the signer's name (RFC 4034 §3.1). */
const RRSIG_FIXED = 18;

/** The RRSIG rdata fields, times as the raw 32-bit values of the wire (RFC 4034 §3.1.5). */
export interface RrsigFields {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  readonly signer: Name;
}

/** A parsed RRSIG rdata: the fields, the header octets (as on the wire) and the signature. */
interface ParsedRrsig extends RrsigFields {
  /** The rdata up to and including the signer's name, signer's case as received. */
  readonly header: Uint8Array;
  readonly signature: Uint8Array;
}

/*
 * Fields are written and read octet by octet rather than through a DataView: a DataView needs `.buffer`, which
 * moves a small on-heap Uint8Array into a malloc'd backing store of its own (a cost paid per RRset signed).
 */
function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function get32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

function checkUint(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new WireError('E_RDATA', `RRSIG ${what} ${v} out of range 0..${max}`);
}

/**
 * Number of labels for the RRSIG Labels field (RFC 4034 §3.1.3): the owner's labels, not counting the root
 * label nor a leftmost `*` label. "*.a.example." gives 2; a validator seeing an owner with more labels than this
 * knows the answer was synthesized from a wildcard (RFC 4035 §5.3.2).
 */
export function rrsigLabels(owner: Name): number {
  const n = labelCount(owner);
  return isWildcard(owner) ? n - 1 : n;
}

/**
 * The RRSIG rdata without the signature (RFC 4034 §3.1): the prefix of the rdata we publish and the
 * RRSIG_RDATA part of the signed data. The signer's name is lower-cased (RFC 4034 §6.2 item 3 lists RRSIG;
 * RFC 6840 §5.1 keeps it there) and never compressed (RFC 4034 §3.1.7).
 */
export function rrsigHeader(fields: RrsigFields): Uint8Array {
  const out = new Uint8Array(rrsigHeaderLength(fields.signer));
  putRrsigHeader(out, fields);
  return out;
}

/** Octets of the RRSIG rdata before the signature (RFC 4034 §3.1) for a signer: 18 + its wire length. */
export function rrsigHeaderLength(signer: Name): number {
  return RRSIG_FIXED + signer.wire.length;
}

/** rrsigHeader written into out[0, rrsigHeaderLength(fields.signer)). */
export function putRrsigHeader(out: Uint8Array, fields: RrsigFields): void {
  checkUint('type covered', fields.typeCovered, 0xffff);
  checkUint('algorithm', fields.algorithm, 0xff);
  checkUint('labels', fields.labels, 0xff);
  checkUint('original TTL', fields.originalTtl, 0xffffffff);
  checkUint('expiration', fields.expiration, 0xffffffff);
  checkUint('inception', fields.inception, 0xffffffff);
  checkUint('key tag', fields.keyTag, 0xffff);
  put16(out, 0, fields.typeCovered);
  out[2] = fields.algorithm;
  out[3] = fields.labels;
  put32(out, 4, fields.originalTtl);
  put32(out, 8, fields.expiration);
  put32(out, 12, fields.inception);
  put16(out, 16, fields.keyTag);
  putLower(out, RRSIG_FIXED, fields.signer.wire);
}

/** Copies `wire` into out at `at` with ASCII letters lower-cased (RFC 4034 §6.2), without an array of its own. */
function putLower(out: Uint8Array, at: number, wire: Uint8Array): void {
  for (let i = 0; i < wire.length; i++) {
    const b = wire[i]!;
    out[at + i] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
  }
}

/**
 * Offset just past the signer's name in RRSIG rdata (or a header). Bounded walk over uncompressed labels;
 * throws WireError E_RDATA when the rdata is too short or the name is malformed.
 */
function signerEnd(rdata: Uint8Array): number {
  if (rdata.length < RRSIG_FIXED + 1) throw new WireError('E_RDATA', `RRSIG rdata of ${rdata.length} octets`);
  let p = RRSIG_FIXED;
  for (;;) {
    const len = rdata[p];
    if (len === undefined) throw new WireError('E_RDATA', 'RRSIG signer name runs past the rdata');
    if (len === 0) return p + 1;
    if (len > 63) throw new WireError('E_RDATA', `RRSIG signer name label length octet 0x${len.toString(16)}`);
    p += len + 1;
  }
}

/**
 * Splits RRSIG rdata into its fields. Throws WireError E_RDATA when it is too short or the signer's name is
 * malformed (input may come from anywhere: bounded reads only).
 */
export function parseRrsig(rdata: Uint8Array): ParsedRrsig {
  const p = signerEnd(rdata);
  let signer: Name;
  try {
    signer = nameFromWire(rdata.subarray(RRSIG_FIXED, p));
  } catch (e) {
    throw e instanceof WireError ? e.withContext('RRSIG.signer') : e;
  }
  const v = new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength);
  return {
    typeCovered: v.getUint16(0),
    algorithm: rdata[2]!,
    labels: rdata[3]!,
    originalTtl: v.getUint32(4),
    expiration: v.getUint32(8),
    inception: v.getUint32(12),
    keyTag: v.getUint16(16),
    signer,
    header: rdata.subarray(0, p),
    signature: rdata.subarray(p),
  };
}

/** Octet-wise comparison, a missing octet sorting before a zero octet (RFC 4034 §6.3). */
export function compareOctets(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The canonical rdatas of an RRset: names lower-cased, sorted octet-wise, duplicates removed (RFC 4034 §6.3). */
export function canonicalRdatas(type: number, rdatas: readonly Uint8Array[]): Uint8Array[] {
  const c = rdatas.map((r) => canonicalRdata(type, r));
  if (c.length < 2) return c;
  c.sort(compareOctets);
  const out: Uint8Array[] = [c[0]!];
  for (let i = 1; i < c.length; i++) {
    // Duplicates can only appear after lower-casing (e.g. "MAIL." and "mail."); RFC 2181 §5 makes them one RR.
    if (compareOctets(c[i]!, out[out.length - 1]!) !== 0) out.push(c[i]!);
  }
  return out;
}

/**
 * The owner name a validator reconstructs for the signed data (RFC 4035 §5.3.2): the owner itself when its
 * label count equals `labels`, else `*.` + its rightmost `labels` labels (a wildcard expansion). The RRset as
 * stored at `*.x` already has that form, so signers simply pass it.
 */
function signingOwnerWire(owner: Name, labels: number): Uint8Array {
  const n = labelCount(owner);
  if (labels > n) throw new WireError('E_RDATA', `RRSIG labels ${labels} exceeds the ${n} labels of the owner`);
  if (labels === n) return lowerWire(owner.wire);
  const suffix =
    labels === 0 ? owner.wire.subarray(owner.wire.length - 1) : owner.wire.subarray(owner.offsets[n - labels]!);
  const out = new Uint8Array(2 + suffix.length);
  out[0] = 1;
  out[1] = 0x2a;
  out.set(lowerWire(suffix), 2);
  return out;
}

/**
 * RR(1) | RR(2) | ... of RFC 4034 §3.1.8.1 for an RRset: the canonical RRset bytes, with `originalTtl` in every
 * RR and `ownerWire` (already canonical; default: the RRset's owner, lower-cased) as the owner. Also the input
 * of the signature cache's digest. With `room`, the bytes start after that many zero octets (where a signer
 * writes the RRSIG header: see sign.ts signingInput).
 */
export function canonicalRRsetBytes(rrset: RRset, originalTtl: number, ownerWire?: Uint8Array, room = 0): Uint8Array {
  checkUint('original TTL', originalTtl, 0xffffffff);
  const rdatas = canonicalRdatas(rrset.type, rrset.rdatas);
  const owner = ownerWire ?? rrset.owner.wire;
  let size = room;
  for (const r of rdatas) {
    if (r.length > 0xffff) throw new WireError('E_RDATA', `rdata of ${r.length} octets (max 65535)`);
    size += owner.length + 10 + r.length;
  }
  const out = new Uint8Array(size);
  let p = room;
  for (const r of rdatas) {
    if (ownerWire) out.set(ownerWire, p);
    else if (p === room) putLower(out, p, owner);
    else out.copyWithin(p, room, room + owner.length); // the first RR's owner, lower-cased already
    p += owner.length;
    put16(out, p, rrset.type);
    put16(out, p + 2, CLASS_IN);
    put32(out, p + 4, originalTtl);
    put16(out, p + 8, r.length);
    p += 10;
    out.set(r, p);
    p += r.length;
  }
  return out;
}

/**
 * The octets an RRSIG signs (RFC 4034 §3.1.8.1): `header` (from rrsigHeader, or the prefix of a received RRSIG
 * rdata; its signer's name is lower-cased here) followed by the canonical RRset. Type covered, labels and
 * original TTL are taken from the header, so a verifier gets exactly what the signer signed. `ownerForSigning`
 * overrides the RRset's owner (e.g. the query name of a wildcard expansion); either way the owner is reduced
 * to `*.` + the rightmost Labels labels when it has more labels than the header's Labels field. `canonical`
 * may pass canonicalRRsetBytes(rrset, rrset.ttl) when the caller has computed it already.
 */
export function signedData(
  header: Uint8Array,
  rrset: RRset,
  ownerForSigning?: Name,
  canonical?: Uint8Array,
): Uint8Array {
  if (signerEnd(header) !== header.length) throw new WireError('E_TRAILING', 'RRSIG header runs past the signer name');
  const typeCovered = (header[0]! << 8) | header[1]!;
  const originalTtl = get32(header, 4);
  if (typeCovered !== rrset.type) {
    throw new WireError('E_RDATA', `RRSIG covers type ${typeCovered}, the RRset has type ${rrset.type}`);
  }
  // `canonical` (the signature cache has it: its digest input) is only used when it is what would be built
  // here: the RRset's own owner, its own TTL as Original TTL, and the Labels field that owner gives.
  const rrs =
    canonical && ownerForSigning === undefined && originalTtl === rrset.ttl && header[3] === rrsigLabels(rrset.owner)
      ? canonical
      : canonicalRRsetBytes(rrset, originalTtl, signingOwnerWire(ownerForSigning ?? rrset.owner, header[3]!));
  const out = new Uint8Array(header.length + rrs.length);
  out.set(header, 0);
  // The signer's name in canonical form (RFC 4034 §3.1.8.1): a received RRSIG may carry it in any case.
  putLower(out, RRSIG_FIXED, header.subarray(RRSIG_FIXED));
  out.set(rrs, header.length);
  return out;
}
