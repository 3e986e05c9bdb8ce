/**
 * The IXFR journal (RFC 1995 §4): for each zone, the differences between consecutive served versions, each the
 * records deleted and added (every RR of the signed zone: RRSIG, NSEC and DNSKEY too) in uncompressed wire form,
 * and their condensation from a client's serial to ours ("condensed into one" difference, §4). It subscribes to
 * the publisher, so it sees every served version in order. Bounded: the last MAX_VERSIONS differences and at
 * most about the zone's own size in total (MIN_BUDGET for a small zone; the oldest dropped first); a client older than that gets the zone.
 * Kept in memory, and in the state directory when given a store (journal-store.ts).
 */
import { serialGreater } from '../wire/serial.js';
import { CLASS_IN, T } from '../wire/types.js';
import { writeRdata } from '../wire/rdata.js';
import { Writer } from '../wire/writer.js';
import { exportRRsets } from '../zone/export.js';
import type { RRset } from '../zone/zone.js';
import type { JournalStore } from './journal-store.js';
import type { PublishListener, ZoneVersion } from './publisher.js';

/** How many differences a zone keeps. */
export const MAX_VERSIONS = 20;

/** The octets a zone's journal may always keep (about one transfer message), however small the zone. */
export const MIN_BUDGET = 16 * 1024;

/** One RR in uncompressed wire form (owner, type, class, TTL, RDLENGTH, rdata), held as a latin1 string key. */
type WireRR = string;

/** The difference from one version to the next (RFC 1995 §4: old SOA, deletions, new SOA, additions). */
export interface Difference {
  readonly from: number;
  readonly to: number;
  readonly fromSoa: WireRR;
  readonly toSoa: WireRR;
  readonly deleted: readonly WireRR[];
  readonly added: readonly WireRR[];
  /** Octets of the records above. */
  readonly size: number;
}

/** What a version holds: its SOA apart, every other RR. */
interface Content {
  readonly serial: number;
  readonly soa: WireRR;
  readonly records: ReadonlySet<WireRR>;
  readonly size: number;
}

function wireRR(rs: RRset, rd: Uint8Array): WireRR {
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

/** The wire bytes of a journal record. */
export function recordBytes(r: WireRR): Uint8Array {
  return new Uint8Array(Buffer.from(r, 'latin1'));
}

/** Every RR of a served version (the signed zone as AXFR sends it). */
function contentOf(v: ZoneVersion): Content {
  const records = new Set<WireRR>();
  let soa = '';
  let size = 0;
  const signed = v.signed;
  // Node by node (addedAt), as AXFR sends it: no map of every added RRset beside the set being filled.
  for (const rs of exportRRsets(v.zone, signed ? (node) => signed.addedAt(node) : [])) {
    for (const rd of rs.rdatas) {
      const r = wireRR(rs, rd);
      size += r.length;
      if (rs.type === T.SOA && rs === v.zone.soa) soa = r;
      else records.add(r);
    }
  }
  return { serial: v.serial, soa, records, size };
}

/** The difference between two consecutive versions. */
export function diff(a: Content, b: Content): Difference {
  const deleted = [...a.records].filter((r) => !b.records.has(r));
  const added = [...b.records].filter((r) => !a.records.has(r));
  const size = [...deleted, ...added].reduce((n, r) => n + r.length, a.soa.length + b.soa.length);
  return { from: a.serial, to: b.serial, fromSoa: a.soa, toSoa: b.soa, deleted, added, size };
}

/**
 * The differences from `serial` to the newest condensed into one (RFC 1995 §4): a record deleted and added
 * again, or added and deleted again, cancels out. Null when `serial` does not start a difference of `chain`.
 */
export function condense(chain: readonly Difference[], serial: number): Difference | null {
  const i = chain.findIndex((d) => d.from === serial);
  if (i < 0) return null;
  const deleted = new Set<WireRR>();
  const added = new Set<WireRR>();
  for (const d of chain.slice(i)) {
    for (const r of d.deleted) if (!added.delete(r)) deleted.add(r);
    for (const r of d.added) if (!deleted.delete(r)) added.add(r);
  }
  const last = chain.at(-1)!;
  const size = [...deleted, ...added].reduce((n, r) => n + r.length, chain[i]!.fromSoa.length + last.toSoa.length);
  return {
    from: serial,
    to: last.to,
    fromSoa: chain[i]!.fromSoa,
    toSoa: last.toSoa,
    deleted: [...deleted],
    added: [...added],
    size,
  };
}

/** The journal of every served zone, by origin text. */
export class Journal implements PublishListener {
  private readonly latest = new Map<string, Content>();
  private readonly chains = new Map<string, Difference[]>();

  /** With a store, each zone's journal is kept there (journal-store.ts) and taken up again after a restart. */
  constructor(private readonly store?: JournalStore) {}

  published(v: ZoneVersion): void {
    // Only a zone that someone may transfer keeps a journal: it holds every record of the zone once more, which
    // a large zone that nobody transfers should not pay for.
    if (v.zone.transfer.allow.length === 0) {
      this.withdrawn(v.origin);
      return;
    }
    const next = contentOf(v);
    const before = this.latest.get(v.origin);
    this.latest.set(v.origin, next);
    let chain = this.chains.get(v.origin) ?? [];
    if (!before) {
      // First version since start: the stored journal goes on when it led to this very serial (the serial
      // store gives one serial to one content, so the content is the one the differences lead to).
      const stored = this.store?.load(v.origin);
      chain = stored && stored.serial === next.serial ? [...stored.chain] : [];
    } else if (!serialGreater(next.serial, before.serial)) {
      // A version whose serial is not greater than the last one's (RFC 1982) cannot be chained to it.
      chain = [];
    } else chain = [...chain, diff(before, next)];
    let total = chain.reduce((n, d) => n + d.size, 0);
    const budget = Math.max(next.size, MIN_BUDGET);
    while (chain.length > MAX_VERSIONS || (chain.length > 0 && total > budget)) total -= chain.shift()!.size;
    this.chains.set(v.origin, chain);
    this.store?.save(v.origin, { serial: next.serial, chain });
  }

  withdrawn(origin: string): void {
    this.latest.delete(origin);
    this.chains.delete(origin);
  }

  /**
   * The condensed difference from `serial` to `current` for `origin`, or null when the journal cannot answer:
   * `serial` is not in it, its newest version is not `current` (the snapshot moved on meanwhile), or the
   * difference is larger than the zone itself (AXFR-style is then the smaller answer).
   */
  since(origin: string, serial: number, current: number): Difference | null {
    const chain = this.chains.get(origin);
    const latest = this.latest.get(origin);
    if (!chain || !latest || latest.serial !== current || chain.at(-1)?.to !== current) return null;
    const d = condense(chain, serial);
    return d && d.size <= latest.size ? d : null;
  }

  /** What `origin`'s journal holds (for /metrics), or undefined when the zone keeps none (no transfer.allow). */
  size(origin: string): { versions: number; bytes: number } | undefined {
    if (!this.latest.has(origin)) return undefined;
    const chain = this.differences(origin);
    return { versions: chain.length, bytes: chain.reduce((n, d) => n + d.size, 0) };
  }

  /** The differences kept for `origin` (oldest first): for tests and status. */
  differences(origin: string): readonly Difference[] {
    return this.chains.get(origin) ?? [];
  }
}
