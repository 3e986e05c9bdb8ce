/**
 * The response cache: whole encoded responses by lower-case qname, then by variant (qtype, DO, EDNS, size
 * limit: handler.ts's `cacheVariant`). Bounded, and built so that a flood cannot pin it:
 *
 * - Admission: while there is room every answer is kept. Once full, a new answer is admitted only when it was
 *   asked before (second-hit admission, as TinyLFU's "doorkeeper"): a Bloom filter remembers recent misses, and
 *   is cleared after as many insertions as the cache holds so that it never fills up. A flood of unique
 *   (name, type) pairs is seen once each and so never displaces anything.
 * - Eviction: second chance (CLOCK over insertion order). Every hit marks its entry; an admitted newcomer
 *   takes the place of the oldest unmarked entry, and marked entries lose the mark and go to the back. An
 *   answer that is asked again between two sweeps stays; junk that got in while there was room leaves first.
 * - Any-type entries: one entry can stand for every QTYPE that has the same answer but for the question (a
 *   NODATA answer at an existing name: the same SOA and NSEC proof for every type absent there, RFC 4035
 *   §3.1.3.1). It is stored under the variant with QTYPE 0 (never a query's) with the test of which QTYPEs it
 *   answers; the handler replays it with the client's question, as any cached answer.
 *
 * Keyed by the name alone so that the string hashed here is the one the zone lookups hash next (V8 keeps a
 * string's hash): a miss, such as a random nonexistent name, costs no key of its own.
 */

/** A kept response, as `lookup` returns it. */
export interface CachedResponse {
  readonly variant: number;
  readonly bytes: Uint8Array;
  /** The wire form of the wildcard owner that answered the name, if one did (rate limiting counts by it). */
  readonly wildcard: Uint8Array | null;
  /** For an any-type entry (variant with QTYPE 0): whether it answers this QTYPE. */
  readonly answers: ((qtype: number) => boolean) | undefined;
  /** Hit since the clock hand last passed (second chance). */
  ref: boolean;
}

/**
 * Counters of the cache, or of every cache of a server when the snapshots share one (publisher.ts): what /metrics
 * and tests read. A cache dropped with its snapshot counts nothing as evicted.
 */
export interface ResponseCacheStats {
  hits: number;
  misses: number;
  /** Entries stored (free room or second-hit admission). */
  admitted: number;
  /** Entries refused when full: first sight of the answer, or nothing evictable within the sweep budget. */
  refused: number;
  evicted: number;
}

/** Bits of the doorkeeper (a Bloom filter with two probes): 1 Mbit, 128 KiB per snapshot. */
const DOORKEEPER_BITS = 1 << 20;

/** Most entries the clock hand looks at for one admission: a cache full of marked entries refuses instead. */
const SWEEP_BUDGET = 64;

/** Variants kept per name: beyond it a name's own unmarked variants make room (EDNS sizes x DO x types). */
const MAX_VARIANTS = 32;

const QTYPE_MASK = 0xffff;

export class ResponseCache {
  private readonly map = new Map<string, CachedResponse[]>();
  private count = 0;
  private readonly doorkeeper = new Uint32Array(DOORKEEPER_BITS / 32);
  private doorkeeperAdds = 0;
  constructor(
    private readonly max = 50_000,
    readonly stats: ResponseCacheStats = { hits: 0, misses: 0, admitted: 0, refused: 0, evicted: 0 },
  ) {}

  /** The response for this variant, or an any-type entry that answers its QTYPE. */
  get(nameKey: string, variant: number): Uint8Array | undefined {
    return this.lookup(nameKey, variant)?.bytes;
  }

  /** As `get`, with what is kept beside the response. */
  lookup(nameKey: string, variant: number): CachedResponse | undefined {
    const list = this.map.get(nameKey);
    if (list) {
      const anyType = variant - (variant & QTYPE_MASK);
      for (const c of list) {
        if (
          c.variant === variant ||
          (c.variant === anyType && c.answers !== undefined && c.answers(variant & QTYPE_MASK))
        ) {
          c.ref = true;
          this.stats.hits++;
          return c;
        }
      }
    }
    this.stats.misses++;
    return undefined;
  }

  /**
   * Keeps a response (admission permitting). `answers`: the variant has QTYPE 0 and the entry answers every
   * QTYPE for which it returns true. `wildcard`: the owner of the wildcard that answered the name.
   */
  set(
    nameKey: string,
    variant: number,
    bytes: Uint8Array,
    answers?: (qtype: number) => boolean,
    wildcard: Uint8Array | null = null,
  ): void {
    const list = this.map.get(nameKey);
    if (list?.some((c) => c.variant === variant)) return;
    const entry: CachedResponse = {
      variant,
      bytes,
      answers,
      wildcard,
      ref: false,
    };
    if (list && list.length >= MAX_VARIANTS) {
      // A name's own variants make room for each other: one name's junk cannot grow a long list to scan.
      if (!this.seenBefore(nameKey, variant)) return this.refuse();
      const i = list.findIndex((c) => !c.ref);
      if (i < 0) {
        for (const c of list) c.ref = false;
        return this.refuse();
      }
      // The newcomer goes to the back: the next one takes the oldest unmarked variant, not this one.
      list.splice(i, 1);
      list.push(entry);
      this.stats.evicted++;
      this.stats.admitted++;
      return;
    }
    if (this.count >= this.max) {
      if (this.max <= 0 || !this.seenBefore(nameKey, variant) || !this.evictOne(nameKey)) return this.refuse();
    }
    const now = this.map.get(nameKey); // evictOne may have removed the name's own list
    if (now) now.push(entry);
    else this.map.set(nameKey, [entry]);
    this.count++;
    this.stats.admitted++;
  }

  get size(): number {
    return this.count;
  }

  private refuse(): void {
    this.stats.refused++;
  }

  /**
   * Whether this (name, variant) missed before since the doorkeeper was last cleared; records it if not.
   * Two probes from one FNV-1a hash (Kirsch-Mitzenmacher), cleared after `max` new records.
   */
  private seenBefore(nameKey: string, variant: number): boolean {
    let h = 0x811c9dc5 ^ variant;
    for (let i = 0; i < nameKey.length; i++) h = Math.imul(h ^ nameKey.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const h1 = h >>> 0;
    const h2 = (Math.imul(h, 0xc2b2ae35) ^ (h >>> 15)) | 1;
    const b1 = h1 & (DOORKEEPER_BITS - 1);
    const b2 = (h1 + h2) & (DOORKEEPER_BITS - 1);
    const d = this.doorkeeper;
    const seen = (d[b1 >>> 5]! & (1 << (b1 & 31))) !== 0 && (d[b2 >>> 5]! & (1 << (b2 & 31))) !== 0;
    if (seen) return true;
    if (++this.doorkeeperAdds > Math.max(this.max, 1024)) {
      d.fill(0);
      this.doorkeeperAdds = 1;
    }
    d[b1 >>> 5]! |= 1 << (b1 & 31);
    d[b2 >>> 5]! |= 1 << (b2 & 31);
    return false;
  }

  /**
   * Second chance over the names in insertion order: the oldest name's unmarked variants go; if some were
   * marked, they lose the mark and the name goes to the back. True once an entry was freed.
   */
  private evictOne(keep: string): boolean {
    for (let step = 0; step < SWEEP_BUDGET; step++) {
      const first = this.map.entries().next();
      if (first.done) return false;
      const [key, list] = first.value;
      const kept = list.filter((c) => c.ref);
      const freed = list.length - kept.length;
      this.map.delete(key);
      for (const c of kept) c.ref = false;
      // The newcomer's own name stays (set() appends to its list), at the back like a marked one.
      if (kept.length > 0 || key === keep) this.map.set(key, kept);
      if (freed > 0) {
        this.count -= freed;
        this.stats.evicted += freed;
        return true;
      }
    }
    return false;
  }
}
