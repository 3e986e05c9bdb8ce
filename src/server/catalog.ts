/**
 * `serve --catalog NAME`: the catalog zone (RFC 9432, version 2) of the zones this server hands to secondaries,
 * published through the one publish path beside them (so it has a serial, an IXFR journal and NOTIFY like any
 * zone). Its members are the zones with a `transfer:` section (allow or notify entries), kept listed for the
 * grace delay after they go (catalog-members.ts), their state in `<state>/catalog.json` (state/catalog.ts). Who
 * may transfer it, and whom it NOTIFYs, is the union of its members' `transfer:` (zone/catalog.ts), and for one
 * more grace delay that of the members dropped (their secondaries must learn of the drop). The catalog
 * names every zone the server hands out: any query for a name in it, not only a transfer, is REFUSED unless the
 * client (address, TSIG key) may transfer it (`withCatalogAcl`).
 */
import type { Logger } from '../log.js';
import type { TsigKey } from '../dnssec/tsigalg.js';
import { isSubdomain, lowerWire, nameToText, parseName, ROOT, type Name } from '../wire/name.js';
import { decodeMessage } from '../wire/message.js';
import { RCODE } from '../wire/types.js';
import { buildCatalog, catalogKey, catalogTransfer } from '../zone/catalog.js';
import type { TransferSettings } from '../zone/settings.js';
import type { Zone } from '../zone/zone.js';
import { readCatalogState, saveCatalogState, type CatalogState, type KeptTransfer } from '../state/catalog.js';
import type { Clock, Timers } from './clock.js';
import { keptOf, transferOf, updateMembers } from './catalog-members.js';
import { bareResponse, firstQuestionEnd, type Responder, type Snapshot } from './handler.js';
import { transferAllowed } from './transfer.js';

/**
 * `serve --catalog-grace` by default: one hour. Long enough to notice a zone gone from every secondary's
 * answers (the secondaries keep serving it meanwhile) and to put the file back; short enough that a zone removed
 * on purpose stops being served by the secondaries the same day.
 */
export const CATALOG_GRACE_DEFAULT = 3600;

/** The longest sleep of the expiry timer: a longer grace is checked again after it (setTimeout's range). */
const EXPIRY_CHECK_MS = 3_600_000;

export interface CatalogOptions {
  /** The catalog zone's name (absolute). */
  readonly name: Name;
  /** Seconds a vanished member stays listed. */
  readonly graceSeconds: number;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly now: Clock;
  readonly timers: Timers;
  /** The serial of the catalog for a content hash (the serial store: serial `auto`). */
  readonly autoSerial: (origin: string, hash: string) => number;
  /** A lingering member's grace has ended: the zones are to be built again (a rebuild). */
  readonly onExpiry: () => void;
}

/** Whether a zone hands itself to secondaries: a `transfer:` with someone allowed or notified. */
function isMember(z: Zone): boolean {
  return z.transfer.allow.length > 0 || z.transfer.notify.length > 0;
}

export class ServerCatalog {
  readonly origin: string;
  private state: CatalogState;
  /** What catalog.json holds (as its JSON), so that it is written only when it changes. */
  private written: string;
  /** The `transfer:` of each member as last loaded, so a lingering one keeps its secondaries' permissions. */
  private readonly lastTransfer = new Map<string, TransferSettings>();
  /**
   * The `transfer:` of members dropped from the catalog, kept for one more grace delay: the secondaries of a
   * dropped zone must still be told of, and allowed to transfer, the catalog version without it (else they would
   * never learn that it went, the last member's above all).
   */
  private readonly retired = new Map<string, { transfer: TransferSettings; until: number }>();
  /** The lingering members already logged (`zone@since`): one warning each, also after a restart. */
  private readonly announced = new Set<string>();
  private built: { key: string; zone: Zone } | undefined;
  private cancelTimer: (() => void) | undefined;
  private closed = false;

  constructor(private readonly o: CatalogOptions) {
    this.origin = nameToText(o.name).toLowerCase();
    const r = readCatalogState(o.stateDir, this.origin);
    if (r.problem) o.logger.warn('catalog-state-ignored', { problem: r.problem, note: 'the grace starts again' });
    this.state = r.state;
    for (const [m, k] of Object.entries(r.kept ?? {}))
      if (k.until === undefined) this.lastTransfer.set(m, transferOf(k));
      else this.retired.set(m, { transfer: transferOf(k), until: k.until });
    this.written = JSON.stringify([r.state, r.kept ?? {}]);
  }

  /** The zones to serve: `zones` and the catalog of them (left out, with an error, when a zone has its name). */
  withCatalog(zones: readonly Zone[]): Zone[] {
    if (this.closed) return [...zones];
    if (zones.some((z) => z.origin.key === this.o.name.key)) {
      this.o.logger.error('catalog-name-taken', { catalog: this.origin, note: 'a zone file serves this name' });
      return [...zones];
    }
    const current = new Set<string>();
    for (const z of zones)
      if (isMember(z)) {
        const m = nameToText(z.origin).toLowerCase();
        current.add(m);
        this.lastTransfer.set(m, z.transfer);
      }
    const now = this.o.now();
    const graceMs = this.o.graceSeconds * 1000;
    const u = updateMembers(this.state, current, graceMs, now);
    for (const [m, since] of Object.entries(u.state.removed))
      if (!this.announced.has(`${m}@${since}`)) {
        this.announced.add(`${m}@${since}`);
        this.o.logger.warn('catalog-member-lingers', {
          catalog: this.origin,
          zone: m,
          until: new Date(since + graceMs).toISOString(),
          note: 'its zone file is gone or has no transfer: section; it stays in the catalog until then',
        });
      }
    for (const m of this.state.members)
      if (!u.listed.includes(m)) this.o.logger.info('catalog-member-removed', { catalog: this.origin, zone: m });
    for (const [m, t] of [...this.lastTransfer])
      if (!u.listed.includes(m)) {
        this.lastTransfer.delete(m);
        this.retired.set(m, { transfer: t, until: now + graceMs });
      }
    for (const [m, r] of [...this.retired]) if (r.until <= now || u.listed.includes(m)) this.retired.delete(m);
    this.state = u.state;
    this.persist(current);
    const retiredUntil = [...this.retired.values()].map((r) => r.until);
    this.arm(Math.min(u.nextExpiry ?? Infinity, ...retiredUntil));
    const members = u.listed.map((m) => parseName(m, ROOT));
    const transfer = catalogTransfer([
      ...u.listed.flatMap((m) => this.lastTransfer.get(m) ?? []),
      ...[...this.retired.values()].map((r) => r.transfer),
    ]);
    const key = catalogKey(members, transfer);
    if (this.built?.key !== key) {
      const zone = buildCatalog(this.o.name, members, transfer, (hash) => this.o.autoSerial(this.origin, hash));
      this.built = { key, zone };
    }
    return [...zones, this.built.zone];
  }

  /** Writes the state when it changed (or an earlier write failed); `current`: the members with a file. */
  private persist(current: ReadonlySet<string>): void {
    const kept: Record<string, KeptTransfer> = {};
    for (const [m, t] of this.lastTransfer) if (!current.has(m)) kept[m] = keptOf(t);
    for (const [m, r] of this.retired) kept[m] = keptOf(r.transfer, r.until);
    const doc = JSON.stringify([this.state, kept]);
    if (doc === this.written) return;
    try {
      saveCatalogState(this.o.stateDir, this.origin, this.state, kept);
      this.written = doc;
    } catch (e) {
      this.o.logger.error('catalog-state-write-failed', { error: String(e), note: 'retried at the next rebuild' });
    }
  }

  /** Arms the timer for `at` (ms; Infinity: nothing to wait for). */
  private arm(at: number): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (!Number.isFinite(at) || this.closed) return;
    const delay = Math.min(Math.max(at - this.o.now(), 0), EXPIRY_CHECK_MS);
    this.cancelTimer = this.o.timers.after(delay, () => {
      this.cancelTimer = undefined;
      this.o.onExpiry();
    });
  }

  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }
}

/**
 * Whether the uncompressed wire name in `q` from `start` to `stop` (its root octet included) lies at or below the
 * lower-case wire name `origin`, at a label boundary: compared in place, letter case folded (RFC 4343), without
 * allocating (it runs for every query).
 */
function nameUnder(q: Uint8Array, start: number, stop: number, origin: Uint8Array): boolean {
  const at = stop - origin.length;
  if (at < start) return false;
  for (let i = 0; i < origin.length; i++) {
    const b = q[at + i]!;
    if ((b >= 0x41 && b <= 0x5a ? b | 0x20 : b) !== origin[i]) return false;
  }
  for (let p = start; p <= at; p += q[p]! + 1) if (p === at) return true;
  return false;
}

/**
 * The responder with the catalog's ACL in front: a query whose name the catalog zone answers is REFUSED unless
 * the client may transfer the catalog (its `transfer.allow`, with the TSIG key the query was signed with).
 * Other queries cost a comparison of the question's last octets. Transfers have the same check in transfer.ts.
 */
export function withCatalogAcl(responder: Responder, catalog: Name, current: () => Snapshot): Responder {
  const origin = catalog.key;
  const originWire = lowerWire(catalog.wire);
  return (query, transport, remote, reserve, key?: TsigKey) => {
    if (query.length < 12 || query[2]! & 0x80) return responder(query, transport, remote, reserve, key);
    const end = firstQuestionEnd(query);
    // A question firstQuestionEnd cannot read (a compression pointer, which may point back into the header)
    // is decoded like a name under the catalog: only the decoded name says where it is.
    if (end > 12 && !nameUnder(query, 12, end - 4, originWire))
      return responder(query, transport, remote, reserve, key);
    let qname: Name;
    try {
      const q = decodeMessage(query).questions[0];
      if (!q) return responder(query, transport, remote, reserve, key);
      qname = q.name;
    } catch {
      return responder(query, transport, remote, reserve, key); // FORMERR is the handler's
    }
    const zone = current().zones.find(qname, 0);
    if (!zone || zone.origin.key !== origin || !isSubdomain(qname, zone.origin))
      return responder(query, transport, remote, reserve, key);
    const keyName = key ? nameToText(key.name).toLowerCase() : null;
    if (transferAllowed(zone.transfer, remote.address, keyName))
      return responder(query, transport, remote, reserve, key);
    return bareResponse(query, RCODE.REFUSED, end);
  };
}
