/**
 * The IXFR journal (RFC 1995 §4): for each zone, the differences between consecutive served versions, each the
 * records deleted and added (every RR of the signed zone: RRSIG, NSEC and DNSKEY too) in uncompressed wire form,
 * and their condensation from a client's serial to ours ("condensed into one" difference, §4). It subscribes to
 * the publisher, so it sees every served version in order. Bounded: the last MAX_VERSIONS differences and at
 * most about the zone's own size in total (MIN_BUDGET for a small zone; the oldest dropped first); a client older than that gets the zone.
 * Kept in memory, and in the state directory when given a store (journal-store.ts).
 * A difference is computed owner by owner (journal-diff.ts) in slices (slices.ts) after the version is served:
 * until it is there, the journal does not answer for the zone (since() gives null: the client gets the zone).
 */
import { serialGreater } from '../wire/serial.js';
import { changeOf, contentOf, type Change, type Content, type WireRR } from './journal-diff.js';
import type { JournalStore } from './journal-store.js';
import type { PublishListener, ZoneVersion } from './publisher.js';
import { SliceQueue } from './slices.js';

/** How many differences a zone keeps. */
export const MAX_VERSIONS = 20;

/** The octets a zone's journal may always keep (about one transfer message), however small the zone. */
export const MIN_BUDGET = 16 * 1024;

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

/** The wire bytes of a journal record. */
export function recordBytes(r: WireRR): Uint8Array {
  return new Uint8Array(Buffer.from(r, 'latin1'));
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

export interface JournalOptions {
  /** Told when computing a difference failed (the zone's journal starts over). */
  readonly onError?: (origin: string, error: unknown) => void;
  /**
   * Milliseconds of work between two turns of the event loop (slices.ts); by default there are none: each
   * version is taken in before published() returns. The server gives SLICE_MS.
   */
  readonly sliceMs?: number;
}

/** The journal of every served zone, by origin text. */
export class Journal implements PublishListener {
  private readonly latest = new Map<string, Content>();
  private readonly chains = new Map<string, Difference[]>();
  /** Versions and withdrawals, taken in the order they were served. */
  private readonly work: SliceQueue;

  /** With a store, each zone's journal is kept there (journal-store.ts) and taken up again after a restart. */
  constructor(
    private readonly store?: JournalStore,
    opts: JournalOptions = {},
  ) {
    this.work = new SliceQueue((e) => {
      const origin = e instanceof VersionError ? e.origin : undefined;
      if (origin !== undefined) this.forget(origin);
      opts.onError?.(origin ?? '', e instanceof VersionError ? e.cause : e);
    }, opts.sliceMs ?? Infinity);
  }

  published(v: ZoneVersion): void {
    // Only a zone that someone may transfer keeps a journal: it holds every record of the zone once more, which
    // a large zone that nobody transfers should not pay for.
    if (v.zone.transfer.allow.length === 0) {
      this.withdrawn(v.origin);
      return;
    }
    // Dropped at once: until the new difference is there, since() must not answer from the old version.
    this.latest.delete(v.origin);
    this.work.add(this.take(v));
  }

  withdrawn(origin: string): void {
    this.latest.delete(origin);
    this.work.add(this.drop(origin));
  }

  /** Resolves once every version published so far is in the journal (for tests and the bench). */
  settled(): Promise<void> {
    return this.work.settled();
  }

  private *drop(origin: string): Generator<void, void, undefined> {
    this.forget(origin);
  }

  private forget(origin: string): void {
    this.latest.delete(origin);
    this.before.delete(origin);
    this.chains.delete(origin);
  }

  /** The last version taken in per zone (latest holds it only while it is the served one and complete). */
  private readonly before = new Map<string, Content>();

  /** Differences computed ahead by prepareSteps(), by origin, for the version they were computed for. */
  private readonly prepared = new Map<string, { version: ZoneVersion; before: Content | undefined; ahead: Ahead }>();

  /**
   * Computes ahead, in steps, what taking in `v` will need (its difference from the version before, or its
   * content when it is the first), so that published() of that very version (the same zone and signed view)
   * takes it in at once and the journal answers as soon as the version is served. The server calls it just
   * before it publishes.
   */
  *prepareSteps(v: ZoneVersion): Generator<void, void, undefined> {
    if (v.zone.transfer.allow.length === 0) return;
    const before = this.before.get(v.origin);
    const ahead: Ahead =
      before && serialGreater(v.serial, before.serial)
        ? { change: yield* changeOf(before, v) }
        : { content: yield* contentOf(v) };
    this.prepared.set(v.origin, { version: v, before, ahead });
  }

  /** Drops what prepareSteps() computed and no version took. */
  dropPrepared(): void {
    this.prepared.clear();
  }

  /** What was computed ahead for `v`, when it was for this very version and from the version taken in last. */
  private ahead(v: ZoneVersion, before: Content | undefined): Ahead | undefined {
    const p = this.prepared.get(v.origin);
    this.prepared.delete(v.origin);
    if (!p || p.before !== before) return undefined;
    const same = p.version.zone === v.zone && p.version.signed === v.signed && p.version.serial === v.serial;
    return same ? p.ahead : undefined;
  }

  private *take(v: ZoneVersion): Generator<void, void, undefined> {
    try {
      const before = this.before.get(v.origin);
      const ahead = this.ahead(v, before);
      let next: Content;
      let chain = this.chains.get(v.origin) ?? [];
      if (!before) {
        next = ahead?.content ?? (yield* contentOf(v));
        // First version since start: the stored journal goes on when it led to this very serial (the serial
        // store gives one serial to one content, so the content is the one the differences lead to).
        const stored = this.store?.load(v.origin);
        chain = stored && stored.serial === next.serial ? [...stored.chain] : [];
      } else if (!serialGreater(v.serial, before.serial)) {
        // A version whose serial is not greater than the last one's (RFC 1982) cannot be chained to it.
        next = ahead?.content ?? (yield* contentOf(v));
        chain = [];
      } else {
        const change = ahead?.change ?? (yield* changeOf(before, v));
        next = change.next;
        const { deleted, added } = change;
        const size = [...deleted, ...added].reduce((n, r) => n + r.length, before.soa.length + next.soa.length);
        const d: Difference = {
          from: before.serial,
          to: next.serial,
          fromSoa: before.soa,
          toSoa: next.soa,
          deleted,
          added,
          size,
        };
        chain = [...chain, d];
      }
      let total = chain.reduce((n, d) => n + d.size, 0);
      const budget = Math.max(next.size, MIN_BUDGET);
      while (chain.length > MAX_VERSIONS || (chain.length > 0 && total > budget)) total -= chain.shift()!.size;
      this.before.set(v.origin, next);
      this.latest.set(v.origin, next);
      this.chains.set(v.origin, chain);
      this.store?.save(v.origin, { serial: next.serial, chain });
    } catch (e) {
      throw new VersionError(v.origin, e);
    }
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
    if (!this.before.has(origin)) return undefined;
    const chain = this.differences(origin);
    return { versions: chain.length, bytes: chain.reduce((n, d) => n + d.size, 0) };
  }

  /** The differences kept for `origin` (oldest first): for tests and status. */
  differences(origin: string): readonly Difference[] {
    return this.chains.get(origin) ?? [];
  }
}

/** Computed ahead for a version: its difference from the one before, or its content (a first version). */
interface Ahead {
  readonly change?: Change;
  readonly content?: Content;
}

/** A failure while taking in a version of `origin`. */
class VersionError extends Error {
  constructor(
    readonly origin: string,
    override readonly cause: unknown,
  ) {
    super(`journal of ${origin}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
