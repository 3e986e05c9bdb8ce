/**
 * The poller of the watched servers (watch.ts holds what it learns): after each new serial of a zone, and
 * periodically, it asks every `transfer.notify` target and `transfer.check` server of the zone for the zone's SOA
 * (soa-ask.ts: UDP, TCP on TC, TSIG when the entry names a key, RFC 8945). A server behind the newest serial is
 * asked again every 2 s (a secondary transfers within seconds of the NOTIFY, RFC 1996 §3), one that serves it
 * every 60 s (a hosted service may also be changed or rolled back behind our back). A server that catches up is
 * logged and reported (`onCaughtUp`), so that the TLSA timing that waits for it (tlsa/manager.ts) moves on.
 * A notify target still behind a while after it acknowledged its NOTIFY is sent the NOTIFY again (`renotify`),
 * after 4 s, then at doubling intervals up to a minute, until it catches up or a newer serial starts over.
 */
import type { Logger } from '../log.js';
import type { KeyLookup } from '../dnssec/tsig.js';
import type { Name } from '../wire/name.js';
import { watchedServers, type NotifyTarget } from '../zone/settings.js';
import type { Clock, Timers } from './clock.js';
import type { PublishListener, ZoneVersion } from './publisher.js';
import { askSoa } from './soa-ask.js';
import type { SecondaryWatch } from './watch.js';

/** A watched server that serves the newest serial is asked again after this. */
export const WATCH_SLOW_MS = 60_000;
/** A watched server behind the newest serial is asked again after this. */
export const WATCH_FAST_MS = 2_000;
/** The first question after a new serial: the secondaries had a NOTIFY and a moment to transfer. */
const WATCH_FIRST_MS = 1_000;
/**
 * A notify target is asked once its NOTIFY is acknowledged or given up, this long after (asking before would race
 * the NOTIFY and find the old serial), but no later than WATCH_NOTIFY_CAP_MS after the new serial.
 */
const WATCH_AFTER_NOTIFY_MS = 2_000;
const WATCH_NOTIFY_CAP_MS = 10_000;
/** A notify target behind this long after its NOTIFY settled is told again; the wait doubles up to the cap. */
const RENOTIFY_FIRST_MS = 4_000;
const RENOTIFY_CAP_MS = 60_000;
/** How long one question may take (over UDP, then TCP). */
const WATCH_TIMEOUT_MS = 2_000;

/** How a watched server is named in logs, metrics and status: `ADDRESS#PORT`, as the NOTIFY lines name it. */
export function serverName(t: NotifyTarget): string {
  return `${t.address}#${t.port}`;
}

export interface WatchPollOptions {
  readonly watch: SecondaryWatch;
  readonly lookup: () => KeyLookup;
  readonly logger: Logger;
  readonly now: Clock;
  readonly timers: Timers;
  /** Asks one server for the zone's serial (default: askSoa over node's sockets). */
  readonly ask?: (target: NotifyTarget, zone: Name, nowMs: number) => Promise<number>;
  /** Whether the NOTIFY of `zone` to a target is outstanding (undefined), else when it settled (notify.ts). */
  readonly notifySettled?: (zone: string, address: string, port: number) => number | undefined;
  /**
   * Sends the NOTIFY of `zone` to a notify target again (notify.ts `again`): it acknowledged but still serves
   * `served`. Whether a NOTIFY went out.
   */
  readonly renotify?: (zone: string, address: string, port: number, served: number) => boolean;
  /** A server of `zone` serves the newest serial now, after being behind. */
  readonly onCaughtUp?: (zone: string, server: string) => void;
  readonly fastMs?: number;
  readonly slowMs?: number;
}

interface Poll {
  target: NotifyTarget;
  zone: Name;
  cancel: () => void;
  busy: boolean;
  /** When the newest serial was published (ms). */
  at: number;
  /** A new serial came while a question was out: ask again soon after it returns. */
  again: boolean;
  /** Whether it is a notify target (not only a `check` server): only those are sent a NOTIFY again. */
  notified: boolean;
  /** How long after its NOTIFY settled it is told again while behind (doubles after each time). */
  renotifyMs: number;
  /** When it was last told again (0: not since the newest serial). */
  renotifiedAt: number;
}

export class WatchPoller implements PublishListener {
  private readonly polls = new Map<string, Poll>();
  private closed = false;

  constructor(private readonly o: WatchPollOptions) {}

  /** A new version is served: its servers are (re)taken from the zone file and asked soon. */
  published(v: ZoneVersion): void {
    if (this.closed) return;
    const targets = watchedServers(v.zone.transfer);
    const names = targets.map(serverName);
    this.o.watch.setServers(v.origin, names);
    this.o.watch.published(v.origin, v.serial, v.at);
    for (const [key, p] of this.polls)
      if (key.startsWith(`${v.origin}|`) && !names.includes(key.slice(v.origin.length + 1))) {
        p.cancel();
        this.polls.delete(key);
      }
    const notified = new Set(v.zone.transfer.notify.map(serverName));
    for (const target of targets) {
      const key = `${v.origin}|${serverName(target)}`;
      let p = this.polls.get(key);
      if (!p)
        this.polls.set(
          key,
          (p = {
            target,
            zone: v.zone.origin,
            cancel: () => {},
            busy: false,
            again: false,
            at: 0,
            notified: false,
            renotifyMs: RENOTIFY_FIRST_MS,
            renotifiedAt: 0,
          }),
        );
      p.target = target;
      p.zone = v.zone.origin;
      p.at = v.at;
      p.notified = notified.has(serverName(target));
      p.renotifyMs = RENOTIFY_FIRST_MS;
      p.renotifiedAt = 0;
      if (p.busy) p.again = true;
      else this.arm(v.origin, key, p, WATCH_FIRST_MS);
    }
  }

  withdrawn(origin: string): void {
    for (const [key, p] of this.polls)
      if (key.startsWith(`${origin}|`)) {
        p.cancel();
        this.polls.delete(key);
      }
    this.o.watch.remove(origin);
  }

  close(): void {
    this.closed = true;
    for (const p of this.polls.values()) p.cancel();
    this.polls.clear();
  }

  private arm(origin: string, key: string, p: Poll, ms: number): void {
    p.cancel();
    p.cancel = this.o.timers.after(ms, () => void this.poll(origin, key, p));
  }

  private async poll(origin: string, key: string, p: Poll): Promise<void> {
    if (this.closed || this.polls.get(key) !== p) return;
    const server = serverName(p.target);
    const { watch, logger } = this.o;
    const wasBehind = watch.behind(origin, server);
    // A notify target with its NOTIFY outstanding, or settled only just now, is asked a little later.
    const now = this.o.now();
    const settled = this.o.notifySettled ? this.o.notifySettled(origin, p.target.address, p.target.port) : 0;
    if (
      wasBehind &&
      now - p.at < WATCH_NOTIFY_CAP_MS &&
      (settled === undefined || now - settled < WATCH_AFTER_NOTIFY_MS)
    )
      return this.arm(origin, key, p, settled === undefined ? WATCH_FIRST_MS : settled + WATCH_AFTER_NOTIFY_MS - now);
    p.busy = true;
    try {
      const serial = await (this.o.ask ?? ((t, z, n) => askSoa(t, z, this.o.lookup(), n, WATCH_TIMEOUT_MS)))(
        p.target,
        p.zone,
        this.o.now(),
      );
      watch.observed(origin, server, serial, this.o.now());
      logger.debug('secondary-serial', { zone: origin, server, serial });
    } catch (e) {
      const reason = (e as Error).message;
      watch.failed(origin, server, reason);
      logger.debug('secondary-no-serial', { zone: origin, server, reason });
    } finally {
      p.busy = false;
    }
    if (this.closed || this.polls.get(key) !== p) return;
    const behind = watch.behind(origin, server);
    if (behind && p.notified && this.o.renotify && !p.again) {
      // Acknowledged (or given up) a while ago and still behind: the NOTIFY may have been dropped.
      const done = this.o.notifySettled?.(origin, p.target.address, p.target.port);
      const served = watch.status(origin, this.o.now()).find((s) => s.server === server)?.serial;
      const now = this.o.now();
      if (done !== undefined && now - Math.max(done, p.renotifiedAt) >= p.renotifyMs && served !== undefined) {
        if (this.o.renotify(origin, p.target.address, p.target.port, served)) {
          p.renotifiedAt = now;
          p.renotifyMs = Math.min(p.renotifyMs * 2, RENOTIFY_CAP_MS);
        }
      }
    }
    if (wasBehind && !behind) {
      const st = watch.status(origin, this.o.now()).find((s) => s.server === server);
      logger.info('secondary-caught-up', { zone: origin, server, serial: st?.serial });
      this.o.onCaughtUp?.(origin, server);
    }
    const again = p.again;
    p.again = false;
    this.arm(
      origin,
      key,
      p,
      again ? WATCH_FIRST_MS : behind ? (this.o.fastMs ?? WATCH_FAST_MS) : (this.o.slowMs ?? WATCH_SLOW_MS),
    );
  }
}
