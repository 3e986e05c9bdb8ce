/**
 * The set of zones one server answers for, with longest-match zone selection (parent and child zones may
 * both be served). Immutable: a reload builds a new set and the server swaps one reference.
 */
import type { Name } from '../wire/name.js';
import { T } from '../wire/types.js';
import type { Zone } from './zone.js';

/** Up to this many zones, `longest` compares name ends instead of looking suffixes up. */
const FEW_ZONES = 8;

export class ZoneSet {
  private readonly byKey: ReadonlyMap<string, Zone>;
  /** The most labels of any origin: longer suffixes of a name cannot be an origin and are not looked up. */
  private readonly maxLabels: number;
  /**
   * With a few zones, their origins longest first: comparing a name's end with each origin is cheaper than
   * hashing a suffix string per label (the per-query cost of a nonexistent name).
   */
  private readonly few: readonly Zone[] | null;

  constructor(zones: Iterable<Zone>) {
    const m = new Map<string, Zone>();
    let max = 0;
    for (const z of zones) {
      m.set(z.origin.key, z);
      max = Math.max(max, z.origin.offsets.length);
    }
    this.byKey = m;
    this.maxLabels = max;
    this.few = m.size <= FEW_ZONES ? [...m.values()].sort((a, b) => b.origin.key.length - a.origin.key.length) : null;
  }

  get size(): number {
    return this.byKey.size;
  }

  zones(): IterableIterator<Zone> {
    return this.byKey.values();
  }

  get(origin: Name): Zone | undefined {
    return this.byKey.get(origin.key);
  }

  /** The zone with the longest origin that is an ancestor-or-self of `qname`, starting `skip` labels up. */
  private longest(qname: Name, skip: number): Zone | null {
    const { key, offsets } = qname;
    if (this.few) {
      // The longest origin that is a suffix of the name at a label boundary, `skip` labels up or more.
      const room = skip < offsets.length ? key.length - offsets[skip]! : 1;
      for (const z of this.few) {
        const o = z.origin.key;
        if (o.length <= room && key.endsWith(o) && (o.length === 1 || offsets.includes(key.length - o.length)))
          return z;
      }
      return null;
    }
    for (let i = Math.max(skip, offsets.length - this.maxLabels); i < offsets.length; i++) {
      const z = this.byKey.get(key.slice(offsets[i]!));
      if (z) return z;
    }
    return this.byKey.get(key.slice(key.length - 1)) ?? null;
  }

  /**
   * The zone that answers (qname, qtype). A DS RRset lives on the parent side of a cut (RFC 4035 §3.1.4.1):
   * a DS query for the apex of a served zone goes to the served parent zone, when there is one.
   */
  find(qname: Name, qtype: number): Zone | null {
    const z = this.longest(qname, 0);
    if (z && qtype === T.DS && z.origin.key === qname.key && qname.offsets.length > 0) {
      const parent = this.longest(qname, 1);
      if (parent) return parent;
    }
    return z;
  }
}
