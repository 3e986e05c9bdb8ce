/**
 * The one publish path: every new set of served zones (start, reload, certificate change, signature refresh,
 * key change) becomes the served snapshot here and nowhere else. Publishing is one reference swap for the query
 * path, then a comparison with what was served before: each zone whose served version changed (a new Zone
 * object or a different signed view, RFC 4035 §2) gets a version record, and the subscribers hear of it once.
 * Subscribers today: the log and the serial gauge. Zone transfers (RFC 5936 AXFR, RFC 1995 IXFR journal) and
 * NOTIFY to secondaries (RFC 1996 §3) hang off the same moment. With a serial assigner (server/serials.ts) every
 * new version gets its serial here, recorded before the version is served.
 */
import { nameToText } from '../wire/name.js';
import { soaSerial } from '../zone/build.js';
import { ZoneSet } from '../zone/set.js';
import type { TransferSettings } from '../zone/settings.js';
import type { Zone } from '../zone/zone.js';
import type { ZoneSecurity } from '../query/security.js';
import type { Clock } from './clock.js';
import type { Assigned } from './serials.js';
import { makeSnapshot, type Snapshot } from './handler.js';
import type { ResponseCacheStats } from './response-cache.js';
import type { Secured } from './signer.js';

/** Why a new snapshot was published (a log field; transfers and NOTIFY do not depend on it). */
export type PublishReason = 'start' | 'reload' | 'tlsa' | 'refresh' | 'keys' | 'update' | 'catalog';

/** One published version of a zone. */
export interface ZoneVersion {
  /** The origin as text (`example.com.`). */
  readonly origin: string;
  readonly serial: number;
  readonly zone: Zone;
  /** The signed view served with it; absent for an unsigned zone. */
  readonly signed: ZoneSecurity | undefined;
  /** When it was published (milliseconds since the epoch, from the injected clock). */
  readonly at: number;
}

export interface PublishListener {
  /** A zone's served version changed (or the zone is served for the first time). */
  published?(version: ZoneVersion, reason: PublishReason): void;
  /** A zone is served no more (its file was removed, or its keys vanished before it was ever signed). */
  withdrawn?(origin: string, reason: PublishReason): void;
}

/** Gives a new version its serial (server/serials.ts SerialAssigner); throws when it cannot be recorded. */
export type AssignSerial = (zone: Zone, signed: ZoneSecurity | undefined) => Assigned;

/** A served version and what it was made from (the signer's output), to recognise an unchanged zone. */
interface Served {
  readonly version: ZoneVersion;
  readonly from: Zone;
  readonly fromSigned: ZoneSecurity | undefined;
  /** Seconds since the epoch when its serial is to be decided again (its first signature is due). */
  readonly due: number;
}

export class Publisher {
  private snapshot: Snapshot;
  /** The version served now, per origin key. */
  private versions = new Map<string, ZoneVersion>();
  private sources = new Map<string, Served>();
  private readonly listeners: PublishListener[] = [];
  /** The response cache counters of every snapshot in turn (/metrics: counters never go back at a reload). */
  readonly cacheStats: ResponseCacheStats = { hits: 0, misses: 0, admitted: 0, refused: 0, evicted: 0 };

  constructor(
    private readonly now: Clock,
    /** Told when a listener throws; publishing goes on (the snapshot is already served). */
    private readonly onListenerError: (error: unknown) => void = () => {},
    /** Without one, a version's serial is its zone's own SOA serial (given when the zone was built). */
    private readonly assignSerial?: AssignSerial,
  ) {
    this.snapshot = makeSnapshot(new ZoneSet([]), undefined, { cacheStats: this.cacheStats });
  }

  /** The snapshot the query path answers from (read once per query). */
  current(): Snapshot {
    return this.snapshot;
  }

  /** The versions served now, by origin key. */
  served(): ReadonlyMap<string, ZoneVersion> {
    return this.versions;
  }

  /** When (seconds since the epoch) the first served version's serial is to be decided again; Infinity: never. */
  nextDue(): number {
    let due = Infinity;
    for (const s of this.sources.values()) if (s.due < due) due = s.due;
    return due;
  }

  /** Subscribes; the returned function unsubscribes. */
  onPublished(listener: PublishListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The zones of `secured` that publish() would give a serial (assignSerial) if it ran now. */
  toAssign(secured: Secured): [Zone, ZoneSecurity | undefined][] {
    const nowSec = Math.floor(this.now() / 1000);
    const out: [Zone, ZoneSecurity | undefined][] = [];
    for (const zone of secured.zones) {
      const signed = secured.security.get(zone);
      const before = this.sources.get(zone.origin.key);
      if (!(before && before.from === zone && before.fromSigned === signed && nowSec < before.due))
        out.push([zone, signed]);
    }
    return out;
  }

  /**
   * Serves `secured` from now on. Synchronous: the swap happens before this returns, and a query that read the
   * previous snapshot finishes with it (snapshots are immutable apart from their caches).
   */
  publish(secured: Secured, reason: PublishReason): void {
    const at = this.now();
    const nowSec = Math.floor(at / 1000);
    const next = new Map<string, Served>();
    const changed: ZoneVersion[] = [];
    // Every serial is decided (and recorded) before anything is served: a failure leaves the last snapshot.
    for (const zone of secured.zones) {
      const key = zone.origin.key;
      const signed = secured.security.get(zone);
      const before = this.sources.get(key);
      if (before && before.from === zone && before.fromSigned === signed && nowSec < before.due) {
        next.set(key, before);
        continue;
      }
      const assigned: Assigned = this.assignSerial?.(zone, signed) ?? {
        serial: soaSerial(zone.soa.rdatas[0]!),
        zone,
        signed,
        due: Infinity,
      };
      const same = before?.version;
      // Unchanged content under the same serial (a reload of an unchanged file, a key check that changed
      // nothing): the version served stays, with its caches, and nobody is told of a new one. Settings that are
      // not zone content (who may transfer it, whom to NOTIFY) may have changed all the same: then the new
      // objects, the same octets under the same serial, are served from now on, still without a new version.
      if (
        same &&
        ((same.zone === assigned.zone && same.signed === assigned.signed) ||
          (assigned.unchanged && same.serial === assigned.serial))
      ) {
        const kept = sameTransfer(same.zone.transfer, assigned.zone.transfer)
          ? same
          : { ...same, zone: assigned.zone, signed: assigned.signed };
        next.set(key, { version: kept, from: zone, fromSigned: signed, due: assigned.due });
        continue;
      }
      const version: ZoneVersion = {
        origin: nameToText(zone.origin),
        serial: assigned.serial,
        zone: assigned.zone,
        signed: assigned.signed,
        at,
      };
      next.set(key, { version, from: zone, fromSigned: signed, due: assigned.due });
      changed.push(version);
    }
    const withdrawn = [...this.versions].filter(([key]) => !next.has(key)).map(([, v]) => v.origin);
    this.sources = next;
    this.versions = new Map([...next].map(([key, s]) => [key, s.version]));
    const security = new Map<Zone, ZoneSecurity>();
    for (const { version } of next.values()) if (version.signed) security.set(version.zone, version.signed);
    const zones = new ZoneSet([...next.values()].map((s) => s.version.zone));
    this.snapshot = makeSnapshot(zones, security, { cacheStats: this.cacheStats });
    for (const v of changed) this.tell((l) => l.published?.(v, reason));
    for (const origin of withdrawn) this.tell((l) => l.withdrawn?.(origin, reason));
  }

  private tell(call: (l: PublishListener) => void): void {
    for (const l of [...this.listeners])
      try {
        call(l);
      } catch (e) {
        this.onListenerError(e);
      }
  }
}

/** Whether two `transfer:` sections say the same (line numbers aside). */
function sameTransfer(a: TransferSettings, b: TransferSettings): boolean {
  if (a === b) return true;
  const text = (t: TransferSettings): string =>
    JSON.stringify([t.allow.map((x) => [x.key, x.address?.text]), t.notify.map((n) => [n.address, n.port, n.key])]);
  return text(a) === text(b);
}
