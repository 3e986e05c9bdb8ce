/**
 * NOTIFY to secondaries (RFC 1996): when the publisher serves a new version of a zone, every target of its
 * `transfer.notify` is sent a NOTIFY over UDP (opcode 4, AA, question ZONE SOA, the new SOA in the answer
 * section, §3.7), signed with the target's TSIG key when it names one (RFC 8945 §4.3.1). It is sent again with
 * a growing interval until the target answers (same ID, QR, opcode NOTIFY, and a TSIG that verifies against the
 * request's MAC when signed, §4.3.2), and given up after the last try (§3.6); each retry and a give-up are logged,
 * and every datagram and give-up counted.
 * A newer version replaces one not yet acknowledged, so each target has at most one NOTIFY outstanding; a burst
 * of versions within the hold becomes one NOTIFY of the last. A target that acknowledged but is still seen behind
 * by the watch poller (watch-poll.ts) is told again (`again`): a secondary busy loading the previous version may
 * drop a NOTIFY it acknowledged (RFC 1996 §4.7 only asks it to note the serial), and would otherwise wait for its
 * SOA refresh. The socket, clock and timers are injected.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../log.js';
import { signMessage, verify, type KeyLookup } from '../dnssec/tsig.js';
import { FLAG_AA, FLAG_QR } from '../wire/header.js';
import { encodeMessage } from '../wire/message.js';
import { parseName, ROOT } from '../wire/name.js';
import { CLASS_IN, OPCODE, rcodeToText, T } from '../wire/types.js';
import { addressBytes } from '../zone/prefix.js';
import type { NotifyTarget } from '../zone/settings.js';
import type { Clock, Timers } from './clock.js';
import type { PublishListener, ZoneVersion } from './publisher.js';

/** Where NOTIFYs go out; answers come back through NotifySender.receive. */
export interface NotifyEndpoint {
  send(message: Uint8Array, address: string, port: number): void;
}

/**
 * RFC 1996 §3.6 leaves the retransmission schedule to the implementation: the wait after each try, its length the
 * number of tries. The interval doubles from 2 s up to a cap of 60 s, and the NOTIFY is given up 15 min (902 s)
 * after its first try: a secondary whose path is down for a minute or more (a link, a firewall reload, a reboot)
 * is still told when it comes back, instead of waiting for its SOA refresh, which may be hours.
 */
export const NOTIFY_RETRY_MS: readonly number[] = [2000, 4000, 8000, 16000, 32000, ...Array<number>(14).fill(60_000)];

export interface NotifyOptions {
  readonly endpoint: NotifyEndpoint;
  readonly lookup: () => KeyLookup;
  readonly logger: Logger;
  readonly now: Clock;
  readonly timers: Timers;
  /** Milliseconds to wait after each try; its length is the number of tries. */
  readonly retryMs?: readonly number[];
  /** Milliseconds a new version waits before its first NOTIFY, so that a burst becomes one. */
  readonly holdMs?: number;
  readonly onSent?: (zone: string) => void;
  readonly onFailed?: (zone: string) => void;
  /** A target acknowledged a NOTIFY (NOERROR answer, RFC 1996 §4.7); for the /metrics counter. */
  readonly onAcked?: (zone: string) => void;
  /** The message ID of each NOTIFY (random by default: an answer must not be guessable, RFC 5452 §4). */
  readonly newId?: () => number;
}

/** One target's NOTIFY in progress. */
interface Pending {
  readonly target: NotifyTarget;
  version: ZoneVersion;
  /** The message of this version once built (one ID and MAC for all its retransmissions). */
  sent: { id: number; bytes: Uint8Array; mac: Uint8Array | null } | null;
  tries: number;
  cancel: () => void;
}

function targetKey(origin: string, t: NotifyTarget): string {
  return `${origin}|${t.address}|${t.port}`;
}

function sameAddress(a: string, b: string): boolean {
  const x = addressBytes(a);
  const y = addressBytes(b);
  return !!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]);
}

export class NotifySender implements PublishListener {
  private readonly pending = new Map<string, Pending>();
  /** When each target's last NOTIFY was acknowledged or given up (ms), for the watch poller (watch-poll.ts). */
  private readonly settledAt = new Map<string, number>();
  /** The newest version of each zone, for a NOTIFY sent again (`again`). */
  private readonly latest = new Map<string, ZoneVersion>();
  private closed = false;
  private readonly retryMs: readonly number[];

  constructor(private readonly o: NotifyOptions) {
    this.retryMs = o.retryMs ?? NOTIFY_RETRY_MS;
  }

  /** The publisher served a new version: it is answered already, so the secondaries may be told. */
  published(version: ZoneVersion): void {
    if (this.closed) return;
    this.latest.set(version.origin, version);
    // A target no longer listed is not told of versions it will not get notified of anyway.
    const listed = new Set(version.zone.transfer.notify.map((t) => targetKey(version.origin, t)));
    for (const [key, p] of this.pending)
      if (p.version.origin === version.origin && !listed.has(key)) {
        p.cancel();
        this.pending.delete(key);
      }
    for (const target of version.zone.transfer.notify) this.start(version, target, this.o.holdMs ?? 0);
  }

  /**
   * Sends `origin`'s newest version to the notify target ADDRESS#PORT again, with the usual retries, unless a
   * NOTIFY to it is outstanding: the watch poller saw it behind after it acknowledged. Whether it did anything.
   */
  again(origin: string, address: string, port: number, served: number): boolean {
    const version = this.latest.get(origin);
    if (this.closed || !version || this.pending.has(`${origin}|${address}|${port}`)) return false;
    const target = version.zone.transfer.notify.find((t) => t.port === port && sameAddress(t.address, address));
    if (!target) return false;
    this.o.logger.info('notify-again', {
      zone: origin,
      target: `${target.address}#${target.port}`,
      serial: version.serial,
      served,
    });
    this.start(version, target, 0);
    return true;
  }

  private start(version: ZoneVersion, target: NotifyTarget, holdMs: number): void {
    const key = targetKey(version.origin, target);
    let p = this.pending.get(key);
    if (p) p.cancel();
    else this.pending.set(key, (p = { target, version, sent: null, tries: 0, cancel: () => {} }));
    Object.assign(p, { version, sent: null, tries: 0 });
    const q = p;
    p.cancel = this.o.timers.after(holdMs, () => this.send(key, q));
  }

  /**
   * Whether `origin`'s NOTIFY to ADDRESS#PORT is still outstanding (undefined), else when it was last settled
   * (acknowledged or given up; 0: never sent).
   */
  settled(origin: string, address: string, port: number): number | undefined {
    const key = `${origin}|${address}|${port}`;
    return this.pending.has(key) ? undefined : (this.settledAt.get(key) ?? 0);
  }

  /** A zone served no more: nothing left to tell about it. */
  withdrawn(origin: string): void {
    this.latest.delete(origin);
    for (const [key, p] of this.pending)
      if (p.version.origin === origin) {
        p.cancel();
        this.pending.delete(key);
      }
  }

  /** An answer arrived from `address`:`port`; it ends the NOTIFY it acknowledges. */
  receive(message: Uint8Array, address: string, port: number): void {
    if (message.length < 12) return;
    const id = (message[0]! << 8) | message[1]!;
    const flags = (message[2]! << 8) | message[3]!;
    if (!(flags & FLAG_QR) || ((flags >>> 11) & 0xf) !== OPCODE.NOTIFY) return;
    for (const [key, p] of this.pending) {
      if (!p.sent || p.sent.id !== id || p.target.port !== port || !sameAddress(p.target.address, address)) continue;
      const target = `${p.target.address}#${p.target.port}`;
      const zone = p.version.origin;
      if (p.sent.mac) {
        const v = verify(message, this.o.lookup(), Math.floor(this.o.now() / 1000), { chain: { mac: p.sent.mac } });
        if (!v.ok) {
          // Not from the target (or not for this request): the NOTIFY stays outstanding, and is retried.
          this.o.logger.warn('notify-answer-rejected', { zone, target, reason: v.reason });
          return;
        }
      }
      p.cancel();
      this.pending.delete(key);
      this.settledAt.set(key, this.o.now());
      const rcode = flags & 0xf;
      if (rcode === 0) {
        this.o.logger.debug('notify-acknowledged', { zone, target, serial: p.version.serial });
        this.o.onAcked?.(zone);
      } else this.fail(p, `answered ${rcodeToText(rcode)}`);
      return;
    }
  }

  /** Stops every retry (the one shutdown). */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
    this.latest.clear();
  }

  private send(key: string, p: Pending): void {
    if (this.closed || this.pending.get(key) !== p) return;
    try {
      p.sent ??= this.build(p);
    } catch (e) {
      this.pending.delete(key);
      return this.fail(p, (e as Error).message);
    }
    // The first try and each retry are logged, so that a path that drops NOTIFYs shows in the log.
    this.o.logger.info(p.tries === 0 ? 'notify-sent' : 'notify-retry', {
      zone: p.version.origin,
      target: `${p.target.address}#${p.target.port}`,
      serial: p.version.serial,
      ...(p.tries === 0 ? {} : { try: p.tries + 1 }),
    });
    const wait = this.retryMs[p.tries] ?? 0;
    p.tries++;
    try {
      this.o.endpoint.send(p.sent.bytes, p.target.address, p.target.port);
      this.o.onSent?.(p.version.origin);
    } catch (e) {
      this.o.logger.warn('notify-send-failed', { zone: p.version.origin, error: String(e) });
    }
    p.cancel = this.o.timers.after(wait, () => {
      if (this.pending.get(key) !== p) return;
      if (p.tries < this.retryMs.length) return this.send(key, p);
      this.pending.delete(key);
      this.settledAt.set(key, this.o.now());
      this.fail(p, `no answer after ${p.tries} tries`);
    });
  }

  /** The NOTIFY of RFC 1996 §3.7 for this version, signed when the target names a key. */
  private build(p: Pending): { id: number; bytes: Uint8Array; mac: Uint8Array | null } {
    const { zone } = p.version;
    const id = this.o.newId?.() ?? randomInt(0x10000);
    const soa = zone.soa;
    const { bytes } = encodeMessage({
      id,
      flags: (OPCODE.NOTIFY << 11) | FLAG_AA,
      questions: [{ name: zone.origin, type: T.SOA, class: CLASS_IN }],
      answer: [{ name: soa.owner, type: T.SOA, class: CLASS_IN, ttl: soa.ttl, rdata: soa.rdatas[0]! }],
      authority: [],
      additional: [],
      edns: null,
    });
    if (p.target.key === undefined) return { id, bytes, mac: null };
    const key = this.o.lookup()(parseName(p.target.key, ROOT));
    if (!key) throw new Error(`no TSIG key "${p.target.key}"`);
    const signed = signMessage(bytes, key, { time: Math.floor(this.o.now() / 1000) });
    return { id, bytes: signed.bytes, mac: signed.mac };
  }

  private fail(p: Pending, reason: string): void {
    const target = `${p.target.address}#${p.target.port}`;
    this.o.logger.warn('notify-failed', { zone: p.version.origin, target, serial: p.version.serial, reason });
    this.o.onFailed?.(p.version.origin);
  }
}
