/**
 * The watched servers of each zone (docs/zone-format.md: every `transfer.notify` target and `transfer.check`
 * server) as pure state: which serials this server published and when, the serial each watched server last
 * answered with, and when each first served each published serial. Once secondaries answer the public, a record
 * is published only when every one of them serves it: the TLSA timing (tlsa/manager.ts), /healthz, /metrics and
 * the control socket's status read it from here. The poller that asks the servers is watch-poll.ts.
 *
 * Serials compare in RFC 1982 arithmetic (wire/serial.ts): a server that answers serial S serves every published
 * serial at or before S, so one that is ahead, or at a serial this server never published, counts as serving the
 * newest published serial it is at or beyond. Times are milliseconds since the epoch.
 */
import { serialDiff } from '../wire/serial.js';

/** Published serials remembered per zone: enough for any realistic backlog of a lagging server. */
const HISTORY = 256;

interface Published {
  readonly serial: number;
  readonly at: number;
}

interface ServerState {
  /** The serial of its last answer (undefined: it never answered). */
  serial?: number;
  /** When it last answered, and why the last question got no serial (cleared by an answer). */
  answeredAt?: number;
  error?: string;
  /** When it first served each published serial (absent: not yet). */
  readonly firstServed: Map<number, number>;
}

interface ZoneState {
  readonly history: Published[];
  readonly servers: Map<string, ServerState>;
}

/** One watched server of a zone, as the status and the check list it. */
export interface WatchedStatus {
  readonly server: string;
  /** The serial of its last answer; undefined when it never answered. */
  readonly serial?: number;
  /** Milliseconds it is behind the newest published serial (0 when it serves it). */
  readonly lagMs: number;
  readonly behind: boolean;
  /** Why its last question got no serial. */
  readonly error?: string;
}

export class SecondaryWatch {
  private readonly zones = new Map<string, ZoneState>();

  /** The watched servers of a zone now (after each load); servers no longer listed are forgotten. */
  setServers(zone: string, servers: readonly string[]): void {
    const z = this.zone(zone);
    for (const s of [...z.servers.keys()]) if (!servers.includes(s)) z.servers.delete(s);
    for (const s of servers) if (!z.servers.has(s)) z.servers.set(s, { firstServed: new Map() });
  }

  /** The zone is served no more. */
  remove(zone: string): void {
    this.zones.delete(zone);
  }

  /** Whether the zone has watched servers (without any, TLSA timing counts from this server alone). */
  watched(zone: string): boolean {
    return (this.zones.get(zone)?.servers.size ?? 0) > 0;
  }

  /** This server published `serial` of the zone at `at`. */
  published(zone: string, serial: number, at: number): void {
    const z = this.zone(zone);
    const last = z.history[z.history.length - 1];
    if (last?.serial === serial) return;
    z.history.push({ serial, at });
    if (z.history.length > HISTORY) {
      const gone = z.history.splice(0, z.history.length - HISTORY);
      for (const s of z.servers.values()) for (const p of gone) s.firstServed.delete(p.serial);
    }
    // A server already at or beyond it (it is ahead of us) serves it from now on.
    for (const s of z.servers.values()) this.credit(z, s, at);
  }

  /** `server` answered the zone's SOA with `serial` at `at`. */
  observed(zone: string, server: string, serial: number, at: number): void {
    const s = this.zone(zone).servers.get(server);
    if (!s) return;
    s.serial = serial;
    s.answeredAt = at;
    delete s.error;
    this.credit(this.zone(zone), s, at);
  }

  /** The question to `server` got no serial (no answer, an error rcode, a TSIG that does not verify). */
  failed(zone: string, server: string, reason: string): void {
    const s = this.zones.get(zone)?.servers.get(server);
    if (s) s.error = reason;
  }

  /** Whether `server` does not serve the newest published serial. */
  behind(zone: string, server: string): boolean {
    const z = this.zones.get(zone);
    const s = z?.servers.get(server);
    const newest = z?.history[z.history.length - 1];
    return !!s && !!newest && !s.firstServed.has(newest.serial);
  }

  /** Every watched server of the zone with its serial and lag at `now`, in the order configured. */
  status(zone: string, now: number): WatchedStatus[] {
    const z = this.zones.get(zone);
    if (!z) return [];
    return [...z.servers].map(([server, s]) => {
      const missing = z.history.find((p) => !s.firstServed.has(p.serial));
      return {
        server,
        ...(s.serial !== undefined ? { serial: s.serial } : {}),
        lagMs: missing ? Math.max(0, now - missing.at) : 0,
        behind: missing !== undefined,
        ...(s.error !== undefined ? { error: s.error } : {}),
      };
    });
  }

  /**
   * When every watched server first served a version published at or after `since` (a record that appeared then
   * is in it), or undefined while one does not. A `since` older than what is remembered (a record kept from
   * before a restart) is in the oldest remembered version. Undefined also before any version is published.
   */
  servedEverywhereAt(zone: string, since: number): number | undefined {
    const z = this.zones.get(zone);
    if (!z) return undefined;
    const oldest = z.history[0];
    const p = z.history.find((h) => h.at >= since) ?? (oldest && oldest.at > since ? oldest : undefined);
    if (!p) return undefined;
    let last = p.at;
    for (const s of z.servers.values()) {
      const t = s.firstServed.get(p.serial);
      if (t === undefined) return undefined;
      last = Math.max(last, t);
    }
    return last;
  }

  /** When each watched server first served `serial` (or a later one); a server that does not yet is absent. */
  servedAt(zone: string, serial: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [server, s] of this.zones.get(zone)?.servers ?? []) {
      const t = s.firstServed.get(serial);
      if (t !== undefined) out.set(server, t);
    }
    return out;
  }

  /** The servers that do not serve yet a version published at or after `since`. */
  lacking(zone: string, since: number): string[] {
    const z = this.zones.get(zone);
    if (!z) return [];
    const p = z.history.find((h) => h.at >= since) ?? z.history[z.history.length - 1];
    return [...z.servers].filter(([, s]) => !p || !s.firstServed.has(p.serial)).map(([server]) => server);
  }

  private zone(zone: string): ZoneState {
    let z = this.zones.get(zone);
    if (!z) this.zones.set(zone, (z = { history: [], servers: new Map() }));
    return z;
  }

  /** Records `at` for every published serial the server's serial is at or beyond (RFC 1982 §3.2). */
  private credit(z: ZoneState, s: ServerState, at: number): void {
    if (s.serial === undefined) return;
    for (const p of z.history)
      if (!s.firstServed.has(p.serial) && serialDiff(s.serial, p.serial) >= 0) s.firstServed.set(p.serial, at);
  }
}
