/**
 * What the DNSSEC stage of answering needs from a signed zone, declared here so that query/ never depends on
 * dnssec/ or node:crypto (docs/architecture.md, "Layers"): dnssec/zonesign.ts implements it from a signed
 * snapshot. All RRsets returned are pre-built at signing time; nothing here signs per query.
 *
 * Proof shapes follow RFC 4035 §3.1.3 (NSEC): NXDOMAIN = the NSEC covering the name + the NSEC covering the
 * wildcard at the closest encloser; NODATA = the name's own NSEC (an empty non-terminal: the NSEC covering
 * it); wildcard answer = the NSEC covering the next closer name; wildcard NODATA = that + the wildcard's NSEC.
 */
import type { Name } from '../wire/name.js';
import type { RRset, ZoneNode } from '../zone/zone.js';

export interface ZoneSecurity {
  /** The RRSIG RRset covering a stored RRset (served with `ttl`), or undefined for unsigned data (glue, cut NS). */
  signatures(rrset: RRset, ttl: number): RRset | undefined;
  /** RRsets the signer adds at a node: DNSKEY at the apex, NSEC at every owner of data. */
  extra(node: ZoneNode, type: number): RRset | undefined;
  /** Every RRSIG RRset at a node (one per covered type), for qtype RRSIG; empty when nothing there is signed. */
  signaturesAt(node: ZoneNode): RRset[];
  /** NSEC RRsets proving that `qname` does not exist, `encloser` being its closest encloser. */
  nxdomain(qname: Name, encloser: Name): RRset[];
  /**
   * The NSEC RRset covering `qname`, a name strictly below the apex that owns no NSEC: the first RRset of
   * `nxdomain(qname, encloser)`, found without building the rest of the proof (the server keys its
   * pre-encoded NXDOMAIN responses by it; the same object for every name it covers).
   */
  covering(qname: Name): RRset;
  /** NSEC RRsets proving that `qname` (an owner of data or an empty non-terminal) has no RRset of the type asked. */
  nodata(qname: Name): RRset[];
  /** NSEC RRsets proving that `qname` was answered from `wildcard` (no closer match exists). */
  wildcardAnswer(qname: Name, wildcard: Name): RRset[];
  /** NSEC RRsets proving no closer match and no RRset of the type at `wildcard`. */
  wildcardNodata(qname: Name, wildcard: Name): RRset[];
  /** Every RRset the signer added (DNSKEY, NSEC, RRSIG): with the zone's own, the signed zone a transfer sends. */
  addedRRsets(): Iterable<RRset>;
  /**
   * The RRsets of addedRRsets() owned by `node`'s name, in the same order: a transfer asks node by node as it
   * goes (zone/export.ts) instead of gathering every added RRset by owner before its first message.
   */
  addedAt(node: ZoneNode): RRset[];
}
