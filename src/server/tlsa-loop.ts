/**
 * The TLSA loop: keeps the automatic TLSA records (RFC 6698, RFC 7672 for SMTP) in step with the certificate
 * files. After every zone load it tells the TLSA manager which hosts exist; it re-reads the certificate files
 * when a watcher sees their directories change and at least once a minute (or sooner, when a retired record is
 * due to be withdrawn, RFC 7671 §8.1), and calls back when a zone's published TLSA changed.
 */
import { basename } from 'node:path';
import type { Logger } from '../log.js';
import { parseName } from '../wire/name.js';
import { mxTargetsSteps, type AutoTlsa } from '../tlsa/augment.js';
import type { CertHealth, TlsaEntryRef, TlsaEvent } from '../tlsa/manager.js';
import { FileWatcher } from '../tlsa/watch.js';
import { tlsaEntryRefs } from '../tlsa/zone.js';
import type { Clock, Timers } from './clock.js';
import type { LoadedFile } from './zone-files.js';
import type { Zone } from '../zone/zone.js';

/** Certificate files are re-read at least this often, whatever the watcher saw (and expiry is re-checked). */
export const TLSA_POLL_MS = 60_000;
/** Events in a watched certificate directory are collected this long before the files are re-read. */
const TLSA_DEBOUNCE_MS = 100;

/** What the loop needs of the TLSA manager (tlsa/manager.ts). */
export interface TlsaSources {
  configure(entries: readonly TlsaEntryRef[]): void;
  paths(): string[];
  refresh(): { changed: Set<string>; events: TlsaEvent[]; saveError?: unknown };
  /** Saves the rollover history again (after a failed save); throws when that fails. */
  persist?(): void;
  nextWithdrawal(): number | undefined;
  setsFor(zone: string): readonly AutoTlsa[];
  health(): readonly CertHealth[];
}

/** What the loop needs of a file watcher (tlsa/watch.ts). */
export interface PathWatcher {
  setPaths(paths: readonly string[]): void;
  close(): Promise<void>;
}

export interface TlsaLoopOptions {
  readonly sources: TlsaSources;
  readonly logger: Logger;
  readonly now: Clock;
  readonly timers: Timers;
  /** A zone's published TLSA changed outside a reload (watcher or poll): publish a new snapshot. */
  readonly onChanged: (reason: string) => void;
  /**
   * After each refresh: the rollover history was saved (undefined), or the error that stopped it. What is
   * published does not depend on it.
   */
  readonly onSaved?: (error: unknown) => void;
  /** A certificate or key file failed to read (the read failure counter). */
  readonly onSourceError?: () => void;
  /** A TLSA host's certificate changed to a key that was not pre-published long enough (the counter). */
  readonly onColdRollover?: (host: string) => void;
  /** A TLSA host's certificate changed to a key whose record a watched server does not serve yet (the counter). */
  readonly onNotPropagated?: (host: string) => void;
  /** The watcher of the certificate directories (default: chokidar, debounced). */
  readonly watcher?: (onChange: (reason: string) => void) => PathWatcher;
}

export class TlsaLoop {
  private readonly watcher: PathWatcher;
  private cancelPoll: (() => void) | null = null;
  private closed = false;
  /** The MX targets of each zone loaded (a zone is immutable: they are collected once). */
  private readonly mxTargets = new WeakMap<Zone, Set<string>>();

  constructor(private readonly opts: TlsaLoopOptions) {
    const make = opts.watcher ?? ((onChange) => new FileWatcher(onChange, TLSA_DEBOUNCE_MS));
    this.watcher = make((reason) => this.tick(reason));
  }

  /** The sets to publish in a zone (lower-case origin text). */
  setsFor(zone: string): readonly AutoTlsa[] {
    return this.opts.sources.setsFor(zone);
  }

  health(): readonly CertHealth[] {
    return this.opts.sources.health();
  }

  /** Tells the manager which hosts exist (after every load) and warns about hosts no MX points to. */
  configure(files: ReadonlyMap<string, LoadedFile>): void {
    const steps = this.configureSteps(files);
    while (!steps.next().done);
  }

  /**
   * configure in steps that yield (server/slices.ts): the MX targets of a zone not seen before are collected a
   * few thousand names at a time; those of a zone loaded earlier are remembered with it.
   */
  *configureSteps(files: ReadonlyMap<string, LoadedFile>): Generator<void, void, undefined> {
    const refs: TlsaEntryRef[] = [];
    const targets = new Set<string>();
    for (const lf of files.values()) {
      let mine = this.mxTargets.get(lf.plain);
      if (!mine) {
        mine = yield* mxTargetsSteps(lf.plain);
        this.mxTargets.set(lf.plain, mine);
      }
      for (const t of mine) targets.add(t);
    }
    for (const lf of files.values())
      for (const ref of tlsaEntryRefs(lf.source, lf.plain)) {
        refs.push(ref);
        if (!targets.has(parseName(ref.host).key))
          this.opts.logger.warn('tlsa-host-not-mx-target', {
            zone: ref.zone,
            host: ref.host,
            file: basename(lf.plain.file),
            line: ref.entry.line,
          });
      }
    this.opts.sources.configure(refs);
  }

  /**
   * Re-reads the certificate files and re-arms the poll; returns whether a zone's TLSA changed (the caller
   * publishes: at start and on reload it rebuilds anyway). Never throws (timers call it).
   */
  refresh(reason: string): boolean {
    const { sources, logger } = this.opts;
    let changed = false;
    try {
      const r = sources.refresh();
      for (const e of r.events) {
        if (e.event === 'tlsa-source-error') this.opts.onSourceError?.();
        if (e.event === 'tlsa-cold-rollover') this.opts.onColdRollover?.(String(e.fields.host));
        if (e.event === 'tlsa-not-propagated') this.opts.onNotPropagated?.(String(e.fields.host));
        logger.log(e.level, e.event, e.fields);
      }
      this.opts.onSaved?.(r.saveError);
      changed = r.changed.size > 0;
      if (changed) logger.info('tlsa-changed', { zones: [...r.changed], reason });
    } catch (e) {
      logger.error('tlsa-refresh-failed', { error: String(e), keeping: 'the published TLSA' });
    }
    try {
      this.watcher.setPaths(sources.paths());
    } catch (e) {
      logger.error('tlsa-watch-failed', { error: String(e), note: 'files are still re-read every minute' });
    }
    this.cancelPoll?.();
    this.cancelPoll = null;
    if (!this.closed && sources.paths().length > 0) {
      const withdraw = sources.nextWithdrawal();
      const delay =
        withdraw === undefined ? TLSA_POLL_MS : Math.min(TLSA_POLL_MS, Math.max(withdraw - this.opts.now() + 1, 0));
      this.cancelPoll = this.opts.timers.after(delay, () => {
        this.cancelPoll = null;
        this.tick('poll');
      });
    }
    return changed;
  }

  /** Whether a poll is pending. */
  get polling(): boolean {
    return this.cancelPoll !== null;
  }

  /** A watcher event or the poll: re-read, and call back when a zone's TLSA changed. */
  private tick(reason: string): void {
    if (this.closed) return;
    if (this.refresh(reason)) this.opts.onChanged(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelPoll?.();
    this.cancelPoll = null;
    await this.watcher.close();
  }
}
