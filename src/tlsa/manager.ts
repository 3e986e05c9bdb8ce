/**
 * The automatic TLSA hosts of every zone: reads their certificate/key files, advances each host's rollover
 * (rollover.ts), keeps the history in the state directory, and tells the server which zones changed. It does
 * not log (only the edges do): `refresh` returns events, and only when something changed, so a periodic
 * re-read is quiet.
 *
 * A file that cannot be read or parsed never changes what is published: the last good reading of that file
 * (this process) or, after a restart, the records the state file says it had, stay wanted. A `next:` file that
 * does not exist is normal: nothing is wanted for it, and a record it had retires with the usual retention.
 *
 * When a zone has watched servers (secondaries that answer the public; `propagation`, server/watch.ts), a record
 * is ready one TTL after every one of them serves it, and a retired record's retention counts from when every one
 * serves the version without it (labels.ts). A renewal to a key that a watched server does not serve yet is an
 * error naming those servers.
 */
import type { TlsaEntry } from '../zone/settings.js';
import type { RolloverStore } from '../state/rollover.js';
import type { AutoTlsa } from './augment.js';
import {
  coldRolloverAt,
  holdRetired,
  labelRecords,
  readyAt,
  rotationWarnings,
  shortKey,
  type Everywhere,
} from './labels.js';
import {
  advance,
  mergeHistory,
  nextWithdrawal,
  published,
  type HostRollover,
  type TlsaRole,
  type Wanted,
} from './rollover.js';
import { readTlsaSource, TlsaSourceError, tlsa211, tlsa311, type TlsaSource } from './source.js';

/** Certificates that expire within this are reported as expiring: two weeks to renew before senders fail (4.7.322). */
export const EXPIRY_WARNING_MS = 14 * 86400_000;

export interface TlsaEntryRef {
  /** Absolute, lower-case origin text of the zone (`example.com.`). */
  readonly zone: string;
  /** Absolute, lower-case host name (`mail.example.com.`). */
  readonly host: string;
  readonly entry: TlsaEntry;
  /** The TTL of the TLSA RRset: the entry's, else the zone's. */
  readonly ttl: number;
}

export interface TlsaEvent {
  readonly level: 'info' | 'warn' | 'error';
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

type CertStatus = 'ok' | 'expiring' | 'expired' | 'not-yet-valid' | 'unreadable' | 'absent';

export interface CertHealth {
  readonly zone: string;
  readonly host: string;
  readonly role: 'current' | 'next';
  readonly path: string;
  readonly status: CertStatus;
  readonly notAfter?: number;
  readonly reason?: string;
}

/** Validity class of a certificate at `now` (bare keys have no dates and are `ok`). */
export function certStatus(s: TlsaSource, now: number): CertStatus {
  if (s.notAfter === undefined || s.notBefore === undefined) return 'ok';
  if (now > s.notAfter) return 'expired';
  if (now < s.notBefore) return 'not-yet-valid';
  if (s.notAfter - now < EXPIRY_WARNING_MS) return 'expiring';
  return 'ok';
}

const hostKey = (r: TlsaEntryRef): string => `${r.zone}|${r.host}`;

/** What the manager needs of the watched servers (server/watch.ts); times in milliseconds since the epoch. */
export interface Propagation {
  /** Whether the zone has watched servers. */
  watched(zone: string): boolean;
  /** When the last watched server first served a version published at or after `since`; undefined: not yet. */
  servedEverywhereAt(zone: string, since: number): number | undefined;
  /** The watched servers that do not serve a version published at or after `since` yet. */
  lacking(zone: string, since: number): string[];
}

export class TlsaManager {
  private entries: TlsaEntryRef[] = [];
  private hosts: Record<string, HostRollover>;
  private readonly lastGood = new Map<string, TlsaSource>();
  /** Last reported state per (host, role, path), so that only changes are reported. */
  private readonly reported = new Map<string, string>();
  private healthNow: CertHealth[] = [];
  private readonly initial: TlsaEvent[] = [];
  /** What each host published after the last refresh (TTL and records). */
  private readonly lastPublished = new Map<string, string>();

  /** Why the history file could not be taken up at start (unreadable, or malformed and moved aside), if so. */
  readonly problem: string | undefined;

  constructor(
    private readonly store: RolloverStore,
    private readonly now: () => number = Date.now,
    private readonly propagation?: Propagation,
  ) {
    const { hosts, problem } = store.load(now());
    this.hosts = hosts as Record<string, HostRollover>;
    this.problem = problem;
    if (problem)
      this.initial.push({
        level: 'error',
        event: 'tlsa-state-unreadable',
        fields: { problem, keeping: 'nothing from it: retired records may be withdrawn early' },
      });
  }

  /** Sets the automatic TLSA entries of all zones (call after every zone (re)load). */
  configure(entries: readonly TlsaEntryRef[]): void {
    this.entries = [...entries];
  }

  /** Every file the entries read (to watch). */
  paths(): string[] {
    return [...new Set(this.entries.flatMap((r) => (r.entry.next ? [r.entry.cert, r.entry.next] : [r.entry.cert])))];
  }

  /**
   * Re-reads every file and advances every host. Returns the zones whose published TLSA changed, and the error
   * when the history could not be saved to the state directory.
   */
  refresh(): { changed: Set<string>; events: TlsaEvent[]; saveError?: unknown } {
    const nowMs = this.now();
    const nowSec = Math.floor(nowMs / 1000);
    const events: TlsaEvent[] = this.initial.splice(0);
    const changed = new Set<string>();
    const hosts: Record<string, HostRollover> = {};
    const health: CertHealth[] = [];
    const report = (key: string, state: string, ev: TlsaEvent): void => {
      if (this.reported.get(key) === state) return;
      this.reported.set(key, state);
      events.push(ev);
    };

    for (const ref of this.entries) {
      const key = hostKey(ref);
      const prev = this.hosts[key];
      const wanted: Wanted[] = [];
      const keepFromState = (roles: readonly TlsaRole[]): void => {
        for (const r of prev?.records ?? [])
          for (const role of r.roles) if (roles.includes(role)) wanted.push({ rdata: r.rdata, role });
      };
      const read = (path: string, role: 'current' | 'next'): void => {
        const base = { zone: ref.zone, host: ref.host, role, path };
        const slot = `${key}|${role}|${path}`;
        let src: TlsaSource | undefined;
        try {
          src = readTlsaSource(path);
          this.lastGood.set(path, src);
          this.reported.set(slot, 'ok'); // a later failure of this file is reported again
        } catch (e) {
          if (!(e instanceof TlsaSourceError)) throw e;
          if (role === 'next' && e.missing) {
            report(slot, 'absent', {
              level: 'info',
              event: 'tlsa-next-absent',
              fields: { ...base, note: 'no record for it until it appears' },
            });
            health.push({ ...base, status: 'absent' });
            return;
          }
          const fallback = this.lastGood.get(path);
          report(slot, `error:${e.reason}`, {
            level: 'error',
            event: 'tlsa-source-error',
            fields: {
              ...base,
              reason: e.reason,
              keeping: fallback ? 'its last good reading' : prev ? 'the published records' : 'nothing (never read)',
            },
          });
          health.push({ ...base, status: 'unreadable', reason: e.reason });
          if (fallback) src = fallback;
          else {
            keepFromState(role === 'current' ? ['current', 'issuer'] : ['next']);
            return;
          }
        }
        wanted.push({ rdata: tlsa311(src), role });
        if (role === 'current' && ref.entry.issuer) {
          const ta = tlsa211(src);
          if (ta) wanted.push({ rdata: ta, role: 'issuer' });
          else
            report(`${slot}|issuer`, 'none', {
              level: 'warn',
              event: 'tlsa-issuer-missing',
              fields: {
                ...base,
                reason: 'issuer: true but the file holds no issuing CA certificate (use the full chain)',
              },
            });
        }
        const status = certStatus(src, nowMs);
        if (health.every((h) => !(h.path === path && h.role === role && h.host === ref.host)))
          health.push({ ...base, status, ...(src.notAfter !== undefined ? { notAfter: src.notAfter } : {}) });
        if (role === 'current' && src.kind === 'certificate')
          report(`${slot}|validity`, `${status}:${src.spkiSha256}`, {
            level: status === 'ok' ? 'info' : 'warn',
            event: status === 'ok' ? 'certificate-ok' : `certificate-${status}`,
            fields: {
              ...base,
              notBefore: new Date(src.notBefore!).toISOString(),
              notAfter: new Date(src.notAfter!).toISOString(),
              subject: src.subject,
            },
          });
        else if (role === 'current')
          report(`${slot}|validity`, `key:${src.spkiSha256}`, {
            level: 'info',
            event: 'tlsa-key-read',
            fields: { ...base, kind: src.kind },
          });
      };
      read(ref.entry.cert, 'current');
      if (ref.entry.next) read(ref.entry.next, 'next');

      const everywhere = this.everywhere(ref.zone);
      // Retired records are held while a watched server does not serve the version without them yet.
      const held = prev && everywhere ? holdRetired(prev, nowSec, everywhere) : prev;
      const advanced = advance(held, wanted, ref.ttl, nowSec);
      const next = everywhere ? holdRetired(advanced, nowSec, everywhere) : advanced;
      hosts[key] = next;
      // A renewal with a key that was not pre-published long enough (labels.ts): reported once, at the change.
      const cold = coldRolloverAt(prev, next, nowSec, everywhere);
      const since = next.records.find((r) => r.rdata === cold?.rdata)?.since;
      const lacking = cold && since !== undefined ? (this.propagation?.lacking(ref.zone, since * 1000) ?? []) : [];
      if (cold && lacking.length > 0)
        // Resolvers asking these servers get no record for the key in use: senders that ask them fail until they
        // serve it and the TTL of the set they cached has passed.
        events.push({
          level: 'error',
          event: 'tlsa-not-propagated',
          fields: {
            zone: ref.zone,
            host: ref.host,
            key: shortKey(cold.rdata),
            servers: lacking,
            until: `${next.ttl} s after every one of them serves it`,
            message:
              `key ${shortKey(cold.rdata)} went into use before ${lacking.join(', ')} served its TLSA record: senders ` +
              `whose resolvers ask ${lacking.length > 1 ? 'them' : 'it'} may fail (4.7.323 tlsa-invalid) until ` +
              `${next.ttl} s after ${lacking.length > 1 ? 'they serve' : 'it serves'} it; check the path and the ` +
              'transfers to those servers',
          },
        });
      else if (cold)
        events.push({
          level: 'warn',
          event: 'tlsa-cold-rollover',
          fields: {
            zone: ref.zone,
            host: ref.host,
            key: shortKey(cold.rdata),
            until: cold.until === Infinity ? 'unknown' : new Date(cold.until! * 1000).toISOString(),
            message: cold.message,
          },
        });
      const inUse = rotationWarnings(next, nowSec, everywhere).find((w) => w.event === 'tlsa-next-in-use');
      if (inUse)
        report(`${key}|next-in-use`, inUse.rdata, {
          level: 'warn',
          event: 'tlsa-next-in-use',
          fields: { zone: ref.zone, host: ref.host, key: shortKey(inUse.rdata), message: inUse.message },
        });
      else this.reported.delete(`${key}|next-in-use`);
      // A next key that has been published for 2 x TTL is safe to deploy: said once (the poll notices it).
      for (const r of next.records)
        if (
          r.roles.includes('next') &&
          !r.roles.includes('current') &&
          readyAt(r.since, next.ttl, everywhere) <= nowSec
        )
          report(`${key}|next-ready`, r.rdata, {
            level: 'info',
            event: 'tlsa-next-ready',
            fields: {
              zone: ref.zone,
              host: ref.host,
              key: shortKey(r.rdata),
              readyAt: new Date(readyAt(r.since, next.ttl, everywhere) * 1000).toISOString(),
              note: 'safe to deploy: renew with this key (certbot --key-path)',
            },
          });
      // Compared with what the last refresh published (not with `prev` at the new time, which would already
      // leave out a record whose retention just ended).
      const pub = `${next.ttl} ${published(next, nowSec).join(',')}`;
      if (this.lastPublished.get(key) !== pub) {
        this.lastPublished.set(key, pub);
        changed.add(ref.zone);
        events.push({
          level: 'info',
          event: 'tlsa-published',
          fields: {
            zone: ref.zone,
            host: ref.host,
            ttl: next.ttl,
            // Each published record in words (labels.ts): `current`, `next (ready at ...)`, `retiring until ...`.
            labels: labelRecords(published(next, nowSec), next, nowSec, everywhere).map(
              (l) => `${l.label}: ${l.rdata}`,
            ),
            records: next.records.map((r) => ({
              rdata: r.rdata,
              roles: r.roles,
              ...(r.until !== undefined ? { until: new Date(r.until * 1000).toISOString() } : {}),
            })),
          },
        });
      }
    }
    // A host whose entry was removed from its zone file goes with it.
    for (const key of [...this.lastPublished.keys()])
      if (!(key in hosts)) {
        changed.add(key.split('|')[0]!);
        this.lastPublished.delete(key);
      }
    this.hosts = hosts;
    this.healthNow = health;
    // The history only adds to what the certificates say (retiring and next records): a failure to save it
    // must not withhold the current certificate's record, so it is returned, not thrown.
    let saveError: unknown;
    try {
      this.store.save(hosts);
    } catch (e) {
      saveError = e;
    }
    return { changed, events, ...(saveError !== undefined ? { saveError } : {}) };
  }

  /** The zone's propagation in seconds (labels.ts Everywhere), or undefined when it has no watched servers. */
  private everywhere(zone: string): Everywhere | undefined {
    const p = this.propagation;
    if (!p?.watched(zone)) return undefined;
    return (since) => {
      const t = p.servedEverywhereAt(zone, since * 1000);
      return t === undefined ? undefined : Math.ceil(t / 1000);
    };
  }

  /** When a record of the host first published at `since` (seconds) is ready (labels.ts readyAt). */
  readyAt(zone: string, host: string, since: number): number {
    const h = this.hosts[`${zone}|${host}`];
    return readyAt(since, h?.ttl ?? 0, this.everywhere(zone));
  }

  /**
   * Saves the history as it is now (a retry after a failed save); throws when that fails. A history file that
   * could not be read is read first and its records taken up (rollover.ts mergeHistory); returns whether that
   * changed what is published (the caller publishes).
   */
  persist(): boolean {
    let changed = false;
    if (this.store.unreadable !== undefined) {
      const kept = this.store.reread(this.now());
      const nowSec = Math.floor(this.now() / 1000);
      for (const [key, h] of Object.entries(kept)) {
        const before = this.hosts[key];
        const after = mergeHistory(before, h as HostRollover, nowSec);
        if (before && published(before, nowSec).join() === published(after, nowSec).join()) continue;
        this.hosts = { ...this.hosts, [key]: after };
        changed = true;
      }
    }
    this.store.save(this.hosts);
    return changed;
  }

  /** The automatic TLSA sets of one zone (absolute, lower-case origin text), as augment.ts takes them. */
  setsFor(zone: string): AutoTlsa[] {
    const nowSec = Math.floor(this.now() / 1000);
    return this.entries
      .filter((r) => r.zone === zone)
      .map((r) => ({
        host: r.host,
        ports: r.entry.ports,
        ttl: r.ttl,
        line: r.entry.line,
        rdatas: this.hosts[hostKey(r)] ? published(this.hosts[hostKey(r)]!, nowSec) : [],
      }));
  }

  /** When the next retired record must be withdrawn (ms since the epoch), or undefined. */
  nextWithdrawal(): number | undefined {
    let t: number | undefined;
    for (const h of Object.values(this.hosts)) {
      const w = nextWithdrawal(h);
      if (w !== undefined && (t === undefined || w < t)) t = w;
    }
    return t === undefined ? undefined : t * 1000;
  }

  health(): readonly CertHealth[] {
    return this.healthNow;
  }

  /** The rollover state of a host (for `check` and tests). */
  state(zone: string, host: string): HostRollover | undefined {
    return this.hosts[`${zone}|${host}`];
  }
}
