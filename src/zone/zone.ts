/**
 * The zone as an immutable name tree: RRsets by owner, with empty non-terminals as real nodes and the DNS
 * facts a lookup needs (apex, delegation, below a cut, wildcard child) computed once at build time
 * (after Knot's node flags). Lookups only read.
 */
import type { Name } from '../wire/name.js';
import type { RRset } from '../wire/rrset.js';
import type { DnssecSettings, TlsaEntry, TransferSettings } from './settings.js';
import type { UpdateGrant } from './updatepolicy.js';

// The RRset type is defined in wire/rrset.ts (wire/ cannot import zone/) and re-exported with the zone model.
export type { RRset };

/**
 * The RRsets of a node that has exactly one, as a read-only Map: most nodes of a large zone (a host name with
 * one A record). Without the array of RRsetsByType: about 56 bytes less per node.
 */
export class OneRRset implements ReadonlyMap<number, RRset> {
  readonly #rrset: RRset;

  constructor(rrset: RRset) {
    this.#rrset = rrset;
  }

  get size(): number {
    return 1;
  }

  get(type: number): RRset | undefined {
    return this.#rrset.type === type ? this.#rrset : undefined;
  }

  has(type: number): boolean {
    return this.#rrset.type === type;
  }

  forEach(fn: (value: RRset, key: number, map: ReadonlyMap<number, RRset>) => void, thisArg?: unknown): void {
    fn.call(thisArg, this.#rrset, this.#rrset.type, this);
  }

  entries(): MapIterator<[number, RRset]> {
    return [[this.#rrset.type, this.#rrset] as [number, RRset]][Symbol.iterator]() as unknown as MapIterator<
      [number, RRset]
    >;
  }

  keys(): MapIterator<number> {
    return [this.#rrset.type][Symbol.iterator]() as unknown as MapIterator<number>;
  }

  values(): MapIterator<RRset> {
    return [this.#rrset][Symbol.iterator]() as unknown as MapIterator<RRset>;
  }

  [Symbol.iterator](): MapIterator<[number, RRset]> {
    return this.entries();
  }
}

/**
 * The RRsets of one node by type, as a read-only Map over one short array (a node has a handful of types; the
 * key of each entry is its RRset's type). A Map per node costs about 370 bytes, this about 100: a 100k-name
 * zone saves some 27 MB. Iteration order is the order given.
 */
export class RRsetsByType implements ReadonlyMap<number, RRset> {
  readonly #items: readonly RRset[];

  constructor(items: readonly RRset[]) {
    this.#items = items;
  }

  get size(): number {
    return this.#items.length;
  }

  get(type: number): RRset | undefined {
    for (const rs of this.#items) if (rs.type === type) return rs;
    return undefined;
  }

  has(type: number): boolean {
    return this.get(type) !== undefined;
  }

  forEach(fn: (value: RRset, key: number, map: ReadonlyMap<number, RRset>) => void, thisArg?: unknown): void {
    for (const rs of this.#items) fn.call(thisArg, rs, rs.type, this);
  }

  entries(): MapIterator<[number, RRset]> {
    return this.#items.map((rs): [number, RRset] => [rs.type, rs])[Symbol.iterator]() as unknown as MapIterator<
      [number, RRset]
    >;
  }

  keys(): MapIterator<number> {
    return this.#items.map((rs) => rs.type)[Symbol.iterator]() as unknown as MapIterator<number>;
  }

  values(): MapIterator<RRset> {
    return this.#items[Symbol.iterator]() as unknown as MapIterator<RRset>;
  }

  [Symbol.iterator](): MapIterator<[number, RRset]> {
    return this.entries();
  }
}

export interface ZoneNode {
  readonly name: Name;
  /** RRsets by type; empty for an empty non-terminal. */
  readonly rrsets: ReadonlyMap<number, RRset>;
  readonly parent: ZoneNode | null;
  readonly isApex: boolean;
  /** Not the apex and owns NS: a zone cut. */
  readonly isDelegation: boolean;
  /** Strictly below a zone cut (glue or occluded data): not authoritative. */
  readonly belowCut: boolean;
  /** The delegation node above, for nodes below a cut (and the cut node itself). */
  readonly cut: ZoneNode | null;
  /** Has a child whose leftmost label is `*`. */
  readonly wildcardChild: ZoneNode | null;
  /** Number of child nodes (0 for a leaf). */
  readonly childCount: number;
}

export interface Zone {
  readonly origin: Name;
  readonly file: string;
  readonly apex: ZoneNode;
  /** Every node (including empty non-terminals) by the lower-case key of its name. */
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /** Every node in canonical order (RFC 4034 §6.1), apex first. */
  readonly ordered: readonly ZoneNode[];
  readonly soa: RRset;
  /** TTL of negative answers: min(SOA TTL, SOA minimum) (RFC 2308 §5). */
  readonly negativeTtl: number;
  readonly dnssec: DnssecSettings;
  readonly tlsa: readonly TlsaEntry[];
  /** Who may transfer the zone; not part of the content hash (who may read the zone is not zone content). */
  readonly transfer: TransferSettings;
  /** Who may change which names and types by dynamic update (RFC 2136); not part of the content hash. */
  readonly update: readonly UpdateGrant[];
  /** Digest of the zone content (excluding the SOA serial), used to decide whether the serial must rise. */
  readonly contentHash: string;
  /**
   * The file's `soa.serial`: a number (the floor of the served serial) or `auto` (the server's, from the clock);
   * the publish path gives every served version its serial from it (RFC 1982).
   */
  readonly serialSetting: number | 'auto';
}

/** Result of locating a name in a zone. */
export interface Located {
  /** The node of the name itself, when it exists (possibly an empty non-terminal). */
  readonly exact: ZoneNode | null;
  /** The deepest existing ancestor-or-self of the name (RFC 4592 closest encloser). */
  readonly encloser: ZoneNode;
  /** Labels of the qname below the encloser (0 when exact). */
  readonly depthBelow: number;
}

/**
 * Finds the closest encloser of `qname`, which must be at or below the zone origin. Uses the lower-case key's
 * label suffixes, so it allocates no Name objects.
 */
export function locate(zone: Zone, qname: Name): Located {
  const key = qname.key;
  const exact = zone.nodes.get(key);
  if (exact) return { exact, encloser: exact, depthBelow: 0 };
  const offs = qname.offsets;
  const maxStrip = offs.length - zone.origin.offsets.length;
  for (let i = 1; i < maxStrip; i++) {
    const n = zone.nodes.get(key.slice(offs[i]!));
    if (n) return { exact: null, encloser: n, depthBelow: i };
  }
  return { exact: null, encloser: zone.apex, depthBelow: maxStrip };
}

/** The zone cut that makes `node` non-authoritative, or the node itself when it is a delegation. */
export function cutOf(node: ZoneNode): ZoneNode | null {
  if (node.isDelegation) return node;
  return node.cut;
}
