/**
 * Counters for `/metrics` (Prometheus text exposition format 0.0.4). Query counting is one pass over the
 * response header and question (no allocation) and one Map update, done by wrapping the handler, so the
 * answering code does not know about metrics (and nothing is counted when the endpoint is off: the handler is
 * not wrapped). The state file counters and gauges (state-faults.ts) have one series per kind of file. The serial gauge follows what is published (publisher.ts); the other gauges (signature expiry,
 * certificate not-after) are read from the current state when scraped. The qtype label comes from a fixed set
 * (the types wire/types.ts knows, then `other`): a client choosing the qtype must not choose how many series a
 * scrape has (65536 types x transports x rcodes) or how much memory the counters take. Likewise the zone label
 * is only ever a zone we serve, and a transfer's kind and result come from the fixed sets of transfer.ts.
 */
import { rcodeToText, T, typeToText } from '../wire/types.js';
import type { TransferKind, TransferResult } from './transfer.js';
import type { Handler, StreamHandler, Transport } from './transport.js';
import { GuardCounters } from './guard.js';
import type { ResponseCacheStats } from './response-cache.js';

export interface ZoneGauge {
  readonly zone: string;
  /** Earliest RRSIG expiration served (seconds since the epoch), for signed zones. */
  readonly earliestExpiration?: number;
  /** Milliseconds the last signing of the zone took. */
  readonly signMs?: number;
  /** The IXFR journal (journal.ts), for a zone that keeps one: differences held, and their octets. */
  readonly journal?: { readonly versions: number; readonly bytes: number };
  /** The watched servers (watch.ts): the serial each last answered with, and how far behind it is. */
  readonly secondaries?: readonly { server: string; serial?: number; lagMs: number }[];
}

export interface CertGauge {
  readonly zone: string;
  readonly host: string;
  readonly role: string;
  readonly path: string;
  /** Seconds since the epoch; absent for bare keys and unreadable files. */
  readonly notAfter?: number;
  readonly status: string;
}

/** A kind of state file (state-faults.ts): its label comes from a fixed set. */
export interface StateGauge {
  readonly file: string;
  readonly failures: number;
  readonly ok: boolean;
}

/** Label value escaping of the text format (backslash, double quote, newline). */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Query types counted under their own label; every other qtype is counted as `other`. */
const LABELLED_TYPES: ReadonlySet<number> = new Set(Object.values(T));
/** Stands for `other` in a counter key (outside 0..65535, so no real qtype). */
const OTHER_TYPE = 0x10000;

/** The qtype of a message's first question, or -1 when there is none or it does not parse. */
function questionType(m: Uint8Array): number {
  if (m.length < 12 || ((m[4]! << 8) | m[5]!) === 0) return -1;
  let p = 12;
  for (;;) {
    if (p >= m.length) return -1;
    const len = m[p]!;
    if (len === 0) break;
    if (len >= 0xc0) {
      p += 1;
      break;
    }
    p += len + 1;
  }
  p += 1;
  return p + 1 < m.length ? (m[p]! << 8) | m[p + 1]! : -1;
}

export class Metrics {
  /** key = transport bit | rcode << 1 | qtype << 5 (qtype + 1, so -1 is 0; OTHER_TYPE for `other`). */
  private readonly queries = new Map<number, number>();
  private readonly truncated = [0, 0];
  private readonly dropped = [0, 0];
  reloadFailures = 0;
  certReadFailures = 0;
  /** The query ACL, cookies and rate limiting (guard.ts). */
  readonly guard = new GuardCounters();
  /** The response cache's counters and its entries now (response-cache.ts); absent: not rendered. */
  responseCache?: () => ResponseCacheStats & { readonly entries: number };
  readonly started = Date.now();
  /** SOA serial served, per zone (origin text), in publication order. */
  private readonly serials = new Map<string, number>();

  /** NOTIFY datagrams sent (retries included) and NOTIFYs given up, per zone (notify.ts, RFC 1996). */
  private readonly notifySent = new Map<string, number>();
  private readonly notifyFailed = new Map<string, number>();
  private readonly notifyAcked = new Map<string, number>();
  /** Transfer requests per zone, kind and result (transfer.ts), keyed `zone kind result` (none has a space). */
  private readonly transfers = new Map<string, number>();

  /**
   * Renewals whose new key was not published long enough before (tlsa/labels.ts), per TLSA host. The host label
   * is only ever a `tlsa:` host of a zone file (a fixed set the operator wrote).
   */
  private readonly coldRollovers = new Map<string, number>();

  /** Renewals to a key whose TLSA record a watched server did not serve yet, per TLSA host. */
  private readonly notPropagated = new Map<string, number>();

  /** The current key of TLSA host `host` changed to one whose record a watched server did not serve yet. */
  countNotPropagated(host: string): void {
    this.notPropagated.set(host, (this.notPropagated.get(host) ?? 0) + 1);
  }

  /** Per signed zone: 1 while the parent has a DS that matches no published KSK (parent-watch.ts). */
  private readonly parentDsMismatch = new Map<string, number>();

  /** Sets (or, with undefined, removes) `zone`'s parent DS mismatch gauge. */
  setParentDsMismatch(zone: string, v: 0 | 1 | undefined): void {
    if (v === undefined) this.parentDsMismatch.delete(zone);
    else this.parentDsMismatch.set(zone, v);
  }

  /** The current key of TLSA host `host` changed to one whose record was not ready (a cold rollover). */
  countColdRollover(host: string): void {
    this.coldRollovers.set(host, (this.coldRollovers.get(host) ?? 0) + 1);
  }

  /** A NOTIFY for `zone` was acknowledged (a NOERROR answer from its target, RFC 1996 §4.7). */
  countNotifyAcked(zone: string): void {
    this.notifyAcked.set(zone, (this.notifyAcked.get(zone) ?? 0) + 1);
  }

  /** A transfer request for `zone` (one we serve) got `result`. */
  countTransfer(zone: string, kind: TransferKind, result: TransferResult): void {
    const key = `${zone} ${kind} ${result}`;
    this.transfers.set(key, (this.transfers.get(key) ?? 0) + 1);
  }

  /** A NOTIFY datagram for `zone` was sent. */
  countNotifySent(zone: string): void {
    this.notifySent.set(zone, (this.notifySent.get(zone) ?? 0) + 1);
  }

  /** A NOTIFY for `zone` was given up (no answer after every try, or an error answer). */
  countNotifyFailed(zone: string): void {
    this.notifyFailed.set(zone, (this.notifyFailed.get(zone) ?? 0) + 1);
  }

  /** A new version of `zone` is served (publisher.ts). */
  setZoneSerial(zone: string, serial: number): void {
    this.serials.set(zone, serial);
  }

  /** `zone` is served no more. */
  removeZone(zone: string): void {
    this.serials.delete(zone);
  }

  /** The handler with counting around it. */
  wrap(handler: Handler): Handler {
    return (query, transport, remote) => {
      const out = handler(query, transport, remote);
      this.observe(transport, out);
      return out;
    };
  }

  /** The stream handler with counting around it: a transfer counts once, by its first message (RFC 5936 §2.2). */
  wrapStream(stream: StreamHandler): StreamHandler {
    return (query, remote) => {
      const out = stream(query, remote);
      if (out === null) return null;
      const observe = (m: Uint8Array): void => this.observe('tcp', m);
      return (function* () {
        let first = true;
        for (const m of out) {
          if (first) observe(m);
          first = false;
          yield m;
        }
      })();
    };
  }

  observe(transport: Transport, response: Uint8Array | null): void {
    const t = transport === 'udp' ? 0 : 1;
    if (response === null || response.length < 12) {
      this.dropped[t]!++;
      return;
    }
    const rcode = response[3]! & 0x0f;
    const q = questionType(response);
    const key = t | (rcode << 1) | (((q < 0 || LABELLED_TYPES.has(q) ? q : OTHER_TYPE) + 1) << 5);
    this.queries.set(key, (this.queries.get(key) ?? 0) + 1);
    if (response[2]! & 0x02) this.truncated[t]!++;
  }

  render(
    zones: readonly ZoneGauge[],
    certs: readonly CertGauge[],
    nowMs: number,
    state: readonly StateGauge[] = [],
  ): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    head('dane_ns_queries_total', 'counter', 'Responses sent, by transport, query type and response code.');
    for (const [key, n] of [...this.queries].sort((a, b) => a[0] - b[0])) {
      const transport = key & 1 ? 'tcp' : 'udp';
      const rcode = rcodeToText((key >> 1) & 0x0f);
      const q = (key >> 5) - 1;
      const qtype = q < 0 ? 'none' : q === OTHER_TYPE ? 'other' : typeToText(q);
      out.push(`dane_ns_queries_total{transport="${transport}",qtype="${qtype}",rcode="${rcode}"} ${n}`);
    }
    head('dane_ns_responses_truncated_total', 'counter', 'Responses sent with the TC bit set.');
    out.push(
      `dane_ns_responses_truncated_total{transport="udp"} ${this.truncated[0]}`,
      `dane_ns_responses_truncated_total{transport="tcp"} ${this.truncated[1]}`,
    );
    head(
      'dane_ns_queries_dropped_total',
      'counter',
      'Requests answered with silence (not a DNS query, unparseable, or dropped by rate limiting).',
    );
    out.push(
      `dane_ns_queries_dropped_total{transport="udp"} ${this.dropped[0]}`,
      `dane_ns_queries_dropped_total{transport="tcp"} ${this.dropped[1]}`,
    );
    head('dane_ns_zone_serial', 'gauge', 'SOA serial served, per zone.');
    for (const [zone, serial] of this.serials) out.push(`dane_ns_zone_serial{zone="${esc(zone)}"} ${serial}`);
    head('dane_ns_rrsig_expiry_seconds', 'gauge', 'Seconds until the earliest RRSIG served in the zone expires.');
    for (const z of zones)
      if (z.earliestExpiration !== undefined)
        out.push(
          `dane_ns_rrsig_expiry_seconds{zone="${esc(z.zone)}"} ${z.earliestExpiration - Math.floor(nowMs / 1000)}`,
        );
    head('dane_ns_signing_seconds', 'gauge', 'Time the last signing of the zone took.');
    for (const z of zones)
      if (z.signMs !== undefined)
        out.push(`dane_ns_signing_seconds{zone="${esc(z.zone)}"} ${(z.signMs / 1000).toFixed(3)}`);
    head(
      'dane_ns_certificate_not_after_seconds',
      'gauge',
      'Not-after time (Unix seconds) of the certificate of each TLSA host.',
    );
    for (const c of certs)
      if (c.notAfter !== undefined)
        out.push(
          `dane_ns_certificate_not_after_seconds{zone="${esc(c.zone)}",host="${esc(c.host)}",role="${esc(c.role)}",path="${esc(c.path)}"} ${Math.floor(c.notAfter / 1000)}`,
        );
    head(
      'dane_ns_certificate_problem',
      'gauge',
      '1 when the TLSA source file is unreadable, expired, not yet valid or expires within 14 days.',
    );
    for (const c of certs)
      out.push(
        `dane_ns_certificate_problem{zone="${esc(c.zone)}",host="${esc(c.host)}",role="${esc(c.role)}",status="${esc(c.status)}"} ${c.status === 'ok' || c.status === 'absent' ? 0 : 1}`,
      );
    head(
      'dane_ns_tlsa_cold_rollovers_total',
      'counter',
      'Certificate renewals to a key whose TLSA was not published for 2 x TTL before: senders may fail (4.7.323).',
    );
    for (const [host, n] of this.coldRollovers) out.push(`dane_ns_tlsa_cold_rollovers_total{host="${esc(host)}"} ${n}`);
    // Listed from the first such renewal on: the metrics of a server without watched servers stay as they were.
    if (this.notPropagated.size > 0)
      head(
        'dane_ns_tlsa_unpropagated_in_use_total',
        'counter',
        'Certificate renewals to a key whose TLSA a watched server (secondary) did not serve yet.',
      );
    for (const [host, n] of this.notPropagated)
      out.push(`dane_ns_tlsa_unpropagated_in_use_total{host="${esc(host)}"} ${n}`);
    head('dane_ns_reload_failures_total', 'counter', 'Zone files that failed to load on reload.');
    out.push(`dane_ns_reload_failures_total ${this.reloadFailures}`);
    head(
      'dane_ns_certificate_read_failures_total',
      'counter',
      'Certificate or key files that failed to read or parse.',
    );
    out.push(`dane_ns_certificate_read_failures_total ${this.certReadFailures}`);
    head(
      'dane_ns_state_write_failures_total',
      'counter',
      'Failed reads and writes of state directory files (serials, tlsa, signed, journal), retries included.',
    );
    for (const f of state) out.push(`dane_ns_state_write_failures_total{file="${f.file}"} ${f.failures}`);
    head('dane_ns_state_ok', 'gauge', '1 when every state directory file of the kind was last read or written.');
    for (const f of state) out.push(`dane_ns_state_ok{file="${f.file}"} ${f.ok ? 1 : 0}`);
    head('dane_ns_notify_sent_total', 'counter', 'NOTIFY messages sent to secondaries, retries included.');
    for (const [zone, n] of this.notifySent) out.push(`dane_ns_notify_sent_total{zone="${esc(zone)}"} ${n}`);
    head('dane_ns_notify_failed_total', 'counter', 'NOTIFY messages given up without an acknowledgement.');
    for (const [zone, n] of this.notifyFailed) out.push(`dane_ns_notify_failed_total{zone="${esc(zone)}"} ${n}`);
    // Its HELP and TYPE come with its first series: the NOTIFY lines of a server without acknowledgements
    // stay those of the versions before this counter.
    if (this.notifyAcked.size > 0)
      head('dane_ns_notify_acked_total', 'counter', 'NOTIFY messages acknowledged by the secondary.');
    for (const [zone, n] of this.notifyAcked) out.push(`dane_ns_notify_acked_total{zone="${esc(zone)}"} ${n}`);
    head('dane_ns_transfers_total', 'counter', 'AXFR and IXFR requests for served zones, by kind and result.');
    for (const [key, n] of this.transfers) {
      const [zone, kind, result] = key.split(' ');
      out.push(`dane_ns_transfers_total{zone="${esc(zone!)}",kind="${kind}",result="${result}"} ${n}`);
    }
    head('dane_ns_journal_versions', 'gauge', 'Differences held in the IXFR journal (serials IXFR answers from).');
    for (const z of zones)
      if (z.journal) out.push(`dane_ns_journal_versions{zone="${esc(z.zone)}"} ${z.journal.versions}`);
    head('dane_ns_journal_bytes', 'gauge', 'Octets of the records held in the IXFR journal.');
    for (const z of zones) if (z.journal) out.push(`dane_ns_journal_bytes{zone="${esc(z.zone)}"} ${z.journal.bytes}`);
    out.push(...this.guard.render());
    const rc = this.responseCache?.();
    if (rc) {
      head('dane_ns_response_cache_hits_total', 'counter', 'Queries answered from the response cache.');
      out.push(`dane_ns_response_cache_hits_total ${rc.hits}`);
      head('dane_ns_response_cache_misses_total', 'counter', 'Response cache lookups that found no answer.');
      out.push(`dane_ns_response_cache_misses_total ${rc.misses}`);
      head('dane_ns_response_cache_admissions_total', 'counter', 'Answers stored in the response cache.');
      out.push(`dane_ns_response_cache_admissions_total ${rc.admitted}`);
      head('dane_ns_response_cache_refused_total', 'counter', 'Answers not stored: the cache full, seen once.');
      out.push(`dane_ns_response_cache_refused_total ${rc.refused}`);
      head('dane_ns_response_cache_evictions_total', 'counter', 'Answers taken out of the response cache for room.');
      out.push(`dane_ns_response_cache_evictions_total ${rc.evicted}`);
      head('dane_ns_response_cache_entries', 'gauge', 'Answers held in the response cache of the served snapshot.');
      out.push(`dane_ns_response_cache_entries ${rc.entries}`);
    }
    if (zones.some((z) => z.secondaries)) {
      head('dane_ns_secondary_serial', 'gauge', 'SOA serial each watched server (notify and check) last answered.');
      for (const z of zones)
        for (const w of z.secondaries ?? [])
          if (w.serial !== undefined)
            out.push(`dane_ns_secondary_serial{zone="${esc(z.zone)}",server="${esc(w.server)}"} ${w.serial}`);
      head('dane_ns_secondary_lag_seconds', 'gauge', 'Seconds a watched server is behind the newest served serial.');
      for (const z of zones)
        for (const w of z.secondaries ?? [])
          out.push(
            `dane_ns_secondary_lag_seconds{zone="${esc(z.zone)}",server="${esc(w.server)}"} ${Math.floor(w.lagMs / 1000)}`,
          );
    }
    head(
      'dane_ns_parent_ds_mismatch',
      'gauge',
      '1 when the parent has a DS that matches no published KSK of the zone.',
    );
    for (const [zone, v] of this.parentDsMismatch) out.push(`dane_ns_parent_ds_mismatch{zone="${esc(zone)}"} ${v}`);
    head('dane_ns_start_time_seconds', 'gauge', 'Process start time (Unix seconds).');
    out.push(`dane_ns_start_time_seconds ${Math.floor(this.started / 1000)}`);
    return out.join('\n') + '\n';
  }
}
