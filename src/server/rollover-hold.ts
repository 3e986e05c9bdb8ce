/**
 * Holds a due key rollover step back until every watched server has had the version it counts from long enough
 * (rollover-gate.ts decides; RFC 7583 §3.3.1 with the propagation delay counted from the last secondary). Before
 * the zones are signed, each signed zone with watched servers has its keys read and the gate asked; a step to
 * postpone is written into the key files (their Activate, Inactive, Delete) as one journaled change
 * (dnssec/keyjournal.ts: a crash in the middle is undone at the next start), before the signer reads them, and
 * logged naming the servers that lag (`rollover-step-postponed`: info while they are within --secondary-lag,
 * warn after). It remembers the versions it saw published (which keys were in the DNSKEY RRset, which signed the
 * data) and, for `dane-ns status`, the steps that wait.
 */
import { nameToText } from '../wire/name.js';
import type { Logger } from '../log.js';
import type { Zone } from '../zone/zone.js';
import { watchedServers } from '../zone/settings.js';
import { keyFileBase, loadZoneKeys, rewriteKeyTiming } from '../dnssec/keyfile.js';
import { beginKeyChange, endKeyChange, recoverKeyChange } from '../dnssec/keyjournal.js';
import { iso } from '../dnssec/lifecycle.js';
import { FLAGS_KSK } from '../dnssec/keys.js';
import { dnskeySigners, publishedKeys, rolloverTtls, type SignedZone } from '../dnssec/zonesign.js';
import type { Clock } from './clock.js';
import type { PublishListener, ZoneVersion } from './publisher.js';
import { AHEAD_MS, gateRollover, type Postponement } from './rollover-gate.js';
import type { StoredZoneKey } from '../dnssec/keyfile.js';
import { serverName } from './watch-poll.js';
import type { SecondaryWatch } from './watch.js';

/** Versions remembered per zone (as watch.ts remembers serials). */
const HISTORY = 256;

/** A rollover step that waits for the watched servers (`dane-ns status`, docs/control.md). */
export interface KeyStepWait {
  readonly key: number;
  /** `ZSK` or `KSK`, or `CSK` with `keys: csk`. */
  readonly role: 'ZSK' | 'KSK' | 'CSK';
  /** `sign`: the key starts signing; `remove`: it leaves the DNSKEY RRset; `ds`: its DS may go to the parent. */
  readonly step: 'sign' | 'remove' | 'ds';
  /** When it happens now (ISO 8601), unless postponed again. */
  readonly at: string;
  /** The servers that lacked the version it counts from when it was last postponed (empty: the wait runs). */
  readonly servers: readonly string[];
}

interface Seen {
  readonly serial: number;
  readonly dnskey: readonly number[];
  readonly zoneSigner: number;
  readonly dnskeySigners: readonly number[];
}

export interface RolloverHoldOptions {
  readonly keysDir: string;
  readonly logger: Logger;
  readonly now: Clock;
  readonly watch: Pick<SecondaryWatch, 'servedAt' | 'status'>;
  /** Seconds a watched server may lag before the postponement is a warning (--secondary-lag). */
  readonly secondaryLag: number;
}

export class RolloverHold implements PublishListener {
  private readonly seen = new Map<string, Seen[]>();
  private readonly waiting = new Map<string, KeyStepWait[]>();
  /** Steps whose time passed before this process started are not held (rollover-gate.ts). */
  private readonly since: number;
  /** Per zone: steps up to this time (ms) were judged; each is judged once (rollover-gate.ts). */
  private readonly judged = new Map<string, number>();
  /**
   * Per zone: when its next step may come due (ms), and what that was computed from (the TTL, margin, mode and
   * servers): the keys are read again only then, after a key change (keysChanged) or when those change.
   */
  private readonly nextCheck = new Map<string, { at: number; from: string }>();

  constructor(private readonly o: RolloverHoldOptions) {
    this.since = o.now();
  }

  published(v: ZoneVersion): void {
    const signed = v.signed as SignedZone | undefined;
    if (!signed?.keys) return;
    const list = this.seen.get(v.origin) ?? [];
    if (list.at(-1)?.serial === v.serial) return;
    list.push({
      serial: v.serial,
      dnskey: publishedKeys(signed.keys).map((k) => k.tag),
      zoneSigner: signed.keys.zsk.tag,
      dnskeySigners: dnskeySigners(signed.keys).map((k) => k.tag),
    });
    if (list.length > HISTORY) list.splice(0, list.length - HISTORY);
    this.seen.set(v.origin, list);
  }

  withdrawn(origin: string): void {
    this.seen.delete(origin);
    this.waiting.delete(origin);
  }

  /** The steps of a zone that wait for its watched servers now. */
  waits(zone: string): readonly KeyStepWait[] {
    const now = this.o.now();
    return (this.waiting.get(zone) ?? []).filter((w) => Date.parse(w.at) > now);
  }

  /** The key files changed (the keys directory was written, a SIGHUP): every zone's keys are read again. */
  keysChanged(): void {
    this.nextCheck.clear();
  }

  /** Before the zones are signed: postpones their due steps. Whether a key file was rewritten. */
  hold(zones: Iterable<Zone>): boolean {
    let rewritten = false;
    for (const z of zones) if (z.dnssec.enabled && this.holdZone(z)) rewritten = true;
    return rewritten;
  }

  private holdZone(z: Zone): boolean {
    const zone = nameToText(z.origin);
    const servers = watchedServers(z.transfer).map(serverName);
    if (servers.length === 0) return false;
    const now = this.o.now();
    const from = `${z.soa.ttl}|${z.dnssec.margin}|${z.dnssec.keys}|${servers.join(' ')}`;
    const next = this.nextCheck.get(zone);
    if (next && next.from === from && now + AHEAD_MS < next.at) return false;
    // A rollover command still writing is left to finish; an interrupted one is undone first (as the signer does).
    const recovery = recoverKeyChange(this.o.keysDir, z.origin, new Date(now));
    if (!recovery.ok) return false;
    if (recovery.undone) this.o.logger.warn('zone-keys', { zone, warning: recovery.undone });
    const { keys } = loadZoneKeys(this.o.keysDir, z.origin);
    const versions = (this.seen.get(zone) ?? []).map((s) => ({
      ...s,
      servedAt: this.o.watch.servedAt(zone, s.serial),
    }));
    const timing = { ...rolloverTtls(z), margin: z.dnssec.margin };
    const since = this.judged.get(zone) ?? this.since;
    const held = gateRollover({ keys, mode: z.dnssec.keys, timing, servers, versions, since, now });
    const judged = Math.min(now + AHEAD_MS, ...held.map((p) => p.at.getTime() - 1));
    const after = keys.map((k) => {
      const p = held.find((x) => x.key === k);
      return p ? { ...k, ...times(p) } : k;
    });
    const check = { at: nextStep(after, (timing.dnskeyTtl + timing.margin) * 1000, judged), from };
    if (held.length === 0) {
      this.judged.set(zone, judged);
      this.nextCheck.set(zone, check);
      return false;
    }
    const files = held.flatMap((p) => {
      const base = keyFileBase(p.key.zone, p.key.tag);
      return [`${base}.private`, `${base}.key`];
    });
    try {
      beginKeyChange(this.o.keysDir, z.origin, 'postpone', [], files, new Date(now));
      for (const p of held) rewriteKeyTiming(this.o.keysDir, { ...p.key, ...times(p) });
      endKeyChange(this.o.keysDir, z.origin);
    } catch (e) {
      const undo = recoverKeyChange(this.o.keysDir, z.origin, new Date(now));
      this.o.logger.error('rollover-postpone-failed', {
        zone,
        error: String(e),
        note: undo.ok ? 'the key files are as they were: the step is taken as they say' : undo.error,
      });
      return false;
    }
    this.judged.set(zone, judged);
    this.nextCheck.set(zone, check);
    this.report(zone, z.dnssec.keys === 'csk', held, now);
    return true;
  }

  /** The log line of each postponed step, and the waits `status` shows. */
  private report(zone: string, csk: boolean, held: readonly Postponement[], now: number): void {
    const lag = new Map(this.o.watch.status(zone, now).map((s) => [s.server, s.lagMs]));
    const waits = (this.waiting.get(zone) ?? []).filter((w) => Date.parse(w.at) > now);
    for (const p of held) {
      if (!p.activate && p.step === 'sign') continue; // an old key's times, moved with the new key's
      const longest = Math.max(0, ...p.lagging.map((s) => lag.get(s) ?? Infinity));
      const level = longest > this.o.secondaryLag * 1000 ? 'warn' : 'info';
      this.o.logger.log(level, 'rollover-step-postponed', {
        zone,
        key: p.key.tag,
        step: STEP_TEXT[p.step],
        until: iso(p.at),
        servers: p.lagging,
        ...(p.servedEverywhereAt ? { servedEverywhereAt: iso(p.servedEverywhereAt) } : {}),
        note:
          p.lagging.length > 0
            ? 'these watched servers do not serve the version the step counts from yet'
            : 'every watched server serves it; the wait counts from the last of them',
      });
      const role = p.key.flags !== FLAGS_KSK ? 'ZSK' : csk ? 'CSK' : 'KSK';
      const wait = { key: p.key.tag, role, step: p.step, at: iso(p.at), servers: p.lagging } as const;
      const i = waits.findIndex((w) => w.key === wait.key && w.step === wait.step);
      if (i >= 0) waits[i] = wait;
      else waits.push(wait);
    }
    this.waiting.set(zone, waits);
  }
}

/**
 * The first time after `after` (ms) at which a step of these keys may come due: any of their times, or a DS's
 * (Activate + DNSKEY TTL + margin); Infinity when none.
 */
function nextStep(keys: readonly StoredZoneKey[], publishWait: number, after: number): number {
  let next = Infinity;
  for (const k of keys)
    for (const t of [
      k.publish,
      k.activate,
      k.inactive,
      k.delete,
      k.syncPublish,
      new Date(k.activate.getTime() + publishWait),
    ])
      if (t && t.getTime() > after && t.getTime() < next) next = t.getTime();
  return next;
}

/** How the log names each step. */
const STEP_TEXT = {
  sign: 'starts signing',
  remove: 'leaves the DNSKEY RRset',
  ds: 'may go to the parent (CDS/CDNSKEY)',
} as const;

/** The times a postponement sets (the others stay as the key has them). */
function times(p: Postponement): { activate?: Date; inactive?: Date; delete?: Date; syncPublish?: Date } {
  return {
    ...(p.syncPublish ? { syncPublish: p.syncPublish } : {}),
    ...(p.activate ? { activate: p.activate } : {}),
    ...(p.inactive ? { inactive: p.inactive } : {}),
    ...(p.delete ? { delete: p.delete } : {}),
  };
}
