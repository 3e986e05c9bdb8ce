/**
 * The parent's DS, watched: every signed zone's parent servers (`dnssec.parent`, else the parent zone's NS
 * through the system's resolver) are asked for the zone's DS over TCP at start, after each key event and every
 * `dnssec.parent-check` (four times as often while a KSK or CSK rollover waits for the parent). A DS that
 * matches no published KSK logs `parent-ds-mismatch` (error), sets dane_ns_parent_ds_mismatch{zone} and fails
 * /healthz (RFC 4035 §5.2: validators fail the zone). A rollover waiting for the parent ends by itself once
 * every parent server serves only the new DS (RFC 7344 §4, RFC 7583 §3.3): the old key keeps signing for the DS
 * TTL they report plus `dnssec.margin` (dnssec/keyroll.ts, as `keys rollover --ds-published`). What was seen
 * is kept in the state directory (`parent-ds.json`, written atomically).
 */
import { nameToText } from '../wire/name.js';
import { T } from '../wire/types.js';
import { join } from 'node:path';
import { rdataToText } from '../wire/rdata.js';
import type { Logger } from '../log.js';
import type { Zone } from '../zone/zone.js';
import { PARENT_DS_FILE, saveParentDs, type ParentDsSeen } from '../state/parentds.js';
import { parentKeys } from '../dnssec/cds.js';
import { loadZoneKeys } from '../dnssec/keyfile.js';
import { dsPublished } from '../dnssec/keyroll.js';
import { iso, selectKeys } from '../dnssec/lifecycle.js';
import { rolloverTtls } from '../dnssec/zonesign.js';
import type { Clock } from './clock.js';
import type { Metrics } from './metrics.js';
import { askParent, findParentServers, systemResolver, type ParentAnswer } from './parent-query.js';
import type { ParentServer } from '../zone/settings.js';
import { dsLabel, judgeParent } from './parent-ds.js';

export interface ParentWatchOptions {
  readonly keysDir: string;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: Clock;
  /** A zone going insecure may now be served unsigned (the caller rebuilds; the signer asks insecureReady). */
  readonly onInsecure?: () => void;
  /**
   * The recursive resolver that finds the parent's name servers of a zone without `dnssec.parent`: `none` asks
   * none (such a zone's parent is then not checked); default: the first nameserver of /etc/resolv.conf.
   */
  readonly resolver?: ParentServer | 'none';
  /**
   * Writes of parent-ds.json: `write` is run by the caller (the server's state faults, state-faults.ts: a
   * failure is logged, counted, on /healthz and retried); default: run it, a failure one warning line.
   */
  readonly persist?: (path: string, write: () => void) => void;
}

interface Watched {
  zone: Zone;
  timer?: NodeJS.Timeout;
  running: boolean;
  again: boolean;
  /** The zone's key tags when last checked: a change is a key event. */
  keys: string;
}

export class ParentWatch {
  private readonly zones = new Map<string, Watched>();
  /** Zones whose parent is not asked (no dnssec.parent, resolver none): logged once. */
  private readonly notChecked = new Set<string>();
  private readonly mismatched = new Map<string, string>();
  private readonly seen: Record<string, ParentDsSeen> = {};
  /** Zones going insecure whose parent has dropped the DS: from when they may be served unsigned (ms). */
  private readonly insecureAt = new Map<string, number>();
  /** Zones whose unsigned rebuild was asked for. */
  private readonly unsigned = new Set<string>();
  /** The DS TTL each zone's parent servers last reported (seconds). */
  private readonly dsTtl = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: ParentWatchOptions) {}

  /** Takes the signed zones loaded now (after every rebuild): new ones and key events are checked at once. */
  update(zones: Iterable<Zone>): void {
    const keep = new Set<string>();
    for (const z of zones) {
      const keys = this.keyTags(z);
      // An unsigned zone with keys may be going insecure (RFC 8078 §4): its parent is watched until the DS is gone.
      if (!z.dnssec.enabled && keys === '') continue;
      keep.add(z.origin.key);
      const w = this.zones.get(z.origin.key);
      if (!w) {
        this.zones.set(z.origin.key, { zone: z, running: false, again: false, keys });
        this.schedule(z.origin.key, 0);
      } else {
        w.zone = z;
        if (w.keys !== keys) {
          w.keys = keys;
          this.schedule(z.origin.key, 0);
        }
      }
    }
    for (const [k, w] of this.zones)
      if (!keep.has(k)) {
        clearTimeout(w.timer);
        this.zones.delete(k);
        this.mismatched.delete(k);
        this.o.metrics.setParentDsMismatch(nameToText(w.zone.origin), undefined);
      }
  }

  /**
   * A zone with `dnssec.enabled: false` may be served unsigned: every parent server has been seen without a DS,
   * and the DS TTL they last reported (a day when never seen) plus the margin has passed since.
   */
  insecureReady(originKey: string): boolean {
    const at = this.insecureAt.get(originKey);
    return at !== undefined && this.o.now() >= at;
  }

  /** /healthz reasons: one per zone whose parent has a DS that matches no published KSK. */
  problems(): string[] {
    return [...this.mismatched.values()];
  }

  close(): void {
    this.closed = true;
    for (const w of this.zones.values()) clearTimeout(w.timer);
  }

  private keyTags(z: Zone): string {
    const { keys } = loadZoneKeys(this.o.keysDir, z.origin);
    return keys.map((k) => `${k.tag}:${k.inactive?.getTime() ?? ''}`).join(' ');
  }

  private schedule(key: string, seconds: number): void {
    const w = this.zones.get(key);
    if (!w || this.closed) return;
    clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.run(key), seconds * 1000);
    w.timer.unref();
  }

  private async run(key: string): Promise<void> {
    const w = this.zones.get(key);
    if (!w || this.closed) return;
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = true;
    let next = w.zone.dnssec.parentCheck;
    try {
      const waiting = await this.check(w.zone);
      if (waiting) next = Math.max(1, Math.floor(next / 4));
    } catch (e) {
      this.o.logger.warn('parent-ds-check-failed', { zone: nameToText(w.zone.origin), error: (e as Error).message });
    } finally {
      w.running = false;
    }
    if (w.again) {
      w.again = false;
      next = 0;
    }
    this.schedule(key, next);
  }

  /** One check of a zone's parent; true while a rollover still waits for it. */
  private async check(z: Zone): Promise<boolean> {
    const name = nameToText(z.origin);
    const d = z.dnssec;
    let servers = d.parent;
    if (servers.length === 0) {
      if (this.o.resolver === 'none') {
        if (!this.notChecked.has(name))
          this.o.logger.info('parent-ds-not-checked', {
            zone: name,
            reason: 'no dnssec.parent and --resolver none: the parent is not asked for the DS',
          });
        this.notChecked.add(name);
        return false;
      }
      const resolver = this.o.resolver ?? systemResolver();
      if (typeof resolver === 'string') throw new Error(`the parent's name servers not found: ${resolver}`);
      servers = await findParentServers(z.origin, resolver);
    }
    const answers = await Promise.all(servers.map((s) => askParent(z.origin, s)));
    const now = new Date(this.o.now());
    const { keys } = loadZoneKeys(this.o.keysDir, z.origin);
    const sel = selectKeys(keys, d.keys, now);
    const pk = parentKeys(sel.dnskeySigners, d.cds, z.soa.ttl, d.margin, now);
    const rollover = pk.rollover && {
      newKey: pk.rollover.newKey.dnskeyRdata,
      old: pk.rollover.old.map((k) => k.dnskeyRdata),
    };
    const published = sel.published.map((k) => k.dnskeyRdata);
    const v = judgeParent(z.origin, answers, published, rollover);
    this.remember(name, answers, now);
    if (v.dsTtl > 0) this.dsTtl.set(z.origin.key, v.dsTtl);
    if (!d.enabled) return this.goingInsecure(z, answers);
    for (const a of answers)
      if (a.error) this.o.logger.warn('parent-ds-unanswered', { zone: name, server: a.server, error: a.error });

    if (v.unmatched.length > 0) {
      const ds = v.unmatched.map((u) => `${u.server}: DS ${dsLabel(u.ds)}`);
      const ksks = sel.published.filter((k) => k.flags === 257).map((k) => k.tag);
      this.o.logger.error('parent-ds-mismatch', { zone: name, ds, keys: ksks });
      this.mismatched.set(
        z.origin.key,
        `zone ${name}: the parent's ${ds.join(', ')} matches no published KSK (${ksks.join(', ')})`,
      );
      this.o.metrics.setParentDsMismatch(name, 1);
    } else if (v.complete || answers.some((a) => !a.error)) {
      if (this.mismatched.delete(z.origin.key)) this.o.logger.info('parent-ds-matches', { zone: name });
      this.o.metrics.setParentDsMismatch(name, 0);
    }
    if (v.complete && v.withoutDs.length === answers.length && !pk.rollover)
      this.o.logger.warn('parent-ds-missing', {
        zone: name,
        servers: v.withoutDs,
        note: 'an insecure delegation: give the parent the DS of `dane-ns ds`',
      });

    if (!pk.rollover) return false;
    if (!v.rolloverDone) return true;
    const timing = { ...rolloverTtls(z), margin: d.margin, dsTtl: v.dsTtl };
    const r = dsPublished({
      zone: z.origin,
      keysDir: this.o.keysDir,
      stateDir: this.o.stateDir,
      mode: d.keys,
      timing,
      now,
    });
    if (!r.ok) {
      this.o.logger.warn('parent-ds-rollover-not-ended', { zone: name, error: r.error });
      return true;
    }
    for (const w of r.warnings) this.o.logger.warn('zone-keys', { zone: name, warning: w });
    this.o.logger.info('parent-ds-published', {
      zone: name,
      key: r.plan.current.tag,
      servers: answers.map((a) => a.server),
      dsTtl: v.dsTtl,
      retiring: r.plan.retire.map((x) => ({ key: x.key.tag, until: iso(x.inactive) })),
    });
    return false;
  }

  /** One check of a zone going insecure; true while it must stay signed. */
  private goingInsecure(z: Zone, answers: readonly ParentAnswer[]): boolean {
    const k = z.origin.key;
    const name = nameToText(z.origin);
    // A DS at any server: the zone must be (or become again) signed. A server that did not answer changes nothing.
    if (answers.some((a) => a.error === undefined && a.ds.length > 0)) {
      this.unsigned.delete(k);
      if (this.insecureAt.delete(k))
        this.o.logger.warn('parent-ds-back', { zone: name, note: 'the zone stays signed' });
      return true;
    }
    if (answers.length === 0 || answers.some((a) => a.error !== undefined)) return !this.insecureReady(k);
    let at = this.insecureAt.get(k);
    if (at === undefined) {
      at = this.o.now() + ((this.dsTtl.get(k) ?? 86400) + z.dnssec.margin) * 1000;
      this.insecureAt.set(k, at);
      this.o.logger.info('parent-ds-gone', { zone: name, unsignedFrom: iso(new Date(at)) });
    }
    if (this.o.now() < at) return true;
    if (!this.unsigned.has(k)) {
      this.unsigned.add(k);
      this.o.onInsecure?.();
    }
    return false;
  }

  private remember(name: string, answers: readonly ParentAnswer[], now: Date): void {
    this.seen[name] = {
      checked: iso(now),
      servers: answers.map((a) => ({
        server: a.server,
        ds: a.ds.map((d) => rdataToText(T.DS, d)),
        ttl: a.ttl,
        ...(a.error ? { error: a.error } : {}),
      })),
    };
    const write = (): void => saveParentDs(this.o.stateDir, this.seen);
    if (this.o.persist) return this.o.persist(join(this.o.stateDir, PARENT_DS_FILE), write);
    try {
      write();
    } catch (e) {
      this.o.logger.warn('parent-ds-not-saved', { zone: name, error: (e as Error).message });
    }
  }
}
