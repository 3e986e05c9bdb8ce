/**
 * What the operator's HTTP endpoint reports: /healthz (every zone file loads, every DNSSEC zone is signed and
 * its signatures are fresh, RFC 4035 §5.3.1, every state file is written, every TLSA host's current certificate
 * reads and has not expired) and the /metrics scrape (the query counters plus gauges read from
 * the served state when scraped).
 */
import { basename } from 'node:path';
import { nameToText } from '../wire/name.js';
import type { CertHealth } from '../tlsa/manager.js';
import type { Clock } from './clock.js';
import type { Journal } from './journal.js';
import type { Metrics } from './metrics.js';
import type { StateFaults } from './state-faults.js';
import type { ZoneVersion } from './publisher.js';
import type { ZoneSigner } from './signer.js';
import type { ZoneFiles } from './zone-files.js';
import type { WatchedStatus } from './watch.js';

export interface StatusSources {
  readonly files: Pick<ZoneFiles, 'loaded' | 'failing'>;
  readonly signer: Pick<ZoneSigner, 'status' | 'signed'>;
  /** The versions served now (publisher.ts). */
  readonly served: () => ReadonlyMap<string, ZoneVersion>;
  readonly certificates: () => readonly CertHealth[];
  readonly metrics: Metrics;
  readonly now: Clock;
  /** The IXFR journal, for its gauges. */
  readonly journal?: Pick<Journal, 'size'>;
  /** Failures of the state directory's files; absent: none are tracked. */
  readonly state?: Pick<StateFaults, 'faults' | 'counts'>;
  /** The watched servers of a zone (watch.ts); absent: none are watched. */
  readonly secondaries?: (zone: string) => readonly WatchedStatus[];
  /** Seconds a watched server may stay behind before /healthz fails. */
  readonly secondaryLag?: number;
  /** The parent's DS checks (parent-watch.ts); absent: not watched. */
  readonly parentDs?: { problems(): string[] };
}

/** /healthz: ok, or one reason per problem. */
export function health(s: StatusSources): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  // The last zone gone while running (serve.ts logs no-zone-served): up, but of no use to anyone.
  if (s.served().size === 0) reasons.push('no zone is served: the zones directory has no zone that loads');
  for (const [file, problems] of s.files.failing)
    reasons.push(
      `zone file ${basename(file)} does not load (serving ${s.files.loaded.has(file) ? 'its last good version' : 'nothing'}): ${problems[0]}`,
    );
  // A state file that cannot be written changes nothing served, but a restart would lose what it keeps.
  for (const f of s.state?.faults() ?? []) reasons.push(`state file ${f.path} (${f.file}) fails: ${f.reason}`);
  // A current certificate that is expired or cannot be read: senders fail now (4.7.322, or 4.7.323 once the
  // MTA's key no longer matches the records kept from the last good reading), whatever is published.
  for (const c of s.certificates())
    if (c.role === 'current' && (c.status === 'expired' || c.status === 'unreadable'))
      reasons.push(
        `certificate ${c.path} of TLSA host ${c.host} is ${c.status}${c.reason ? `: ${c.reason}` : c.notAfter !== undefined ? ` (not after ${new Date(c.notAfter).toISOString()})` : ''}`,
      );
  // A watched server behind for too long: resolvers that ask it get an old version (a TLSA record missing).
  for (const v of s.served().values())
    for (const w of s.secondaries?.(v.origin) ?? [])
      if (w.behind && w.lagMs > (s.secondaryLag ?? 300) * 1000)
        reasons.push(
          `zone ${v.origin}: secondary ${w.server} is behind for ${Math.round(w.lagMs / 1000)} s (serial ${w.serial ?? 'unknown'}, serving ${v.serial})${w.error ? `: ${w.error}` : ''}`,
        );
  // A DS at the parent that matches no published KSK: validators fail the zone (RFC 4035 §5.2).
  reasons.push(...(s.parentDs?.problems() ?? []));
  const nowSec = Math.floor(s.now() / 1000);
  for (const lf of s.files.loaded.values()) {
    const z = lf.plain;
    const name = nameToText(z.origin);
    const st = s.signer.status.get(z.origin.key);
    if (!z.dnssec.enabled) continue;
    if (!st || st.state !== 'signed') {
      reasons.push(`zone ${name} is not signed: ${st?.state ?? 'not built'}${st?.reason ? ` (${st.reason})` : ''}`);
      continue;
    }
    const signed = s.signer.signed(z.origin.key);
    if (signed && signed.earliestExpiration - nowSec < z.dnssec.refreshBefore / 2)
      reasons.push(
        `zone ${name}: signatures expire in ${Math.round((signed.earliestExpiration - nowSec) / 3600)} h and were not refreshed`,
      );
  }
  return { ok: reasons.length === 0, reasons };
}

/** /metrics: the Prometheus text of the counters and of the gauges of what is served now. */
export function scrape(s: StatusSources): string {
  const zones = [...s.served().values()].map(({ zone: z }) => {
    const signed = s.signer.signed(z.origin.key);
    const st = s.signer.status.get(z.origin.key);
    const zone = nameToText(z.origin);
    const journal = s.journal?.size(zone);
    const secondaries = s.secondaries?.(zone) ?? [];
    return {
      zone,
      ...(secondaries.length > 0 ? { secondaries } : {}),
      ...(journal ? { journal } : {}),
      ...(signed && st?.state === 'signed' ? { earliestExpiration: signed.earliestExpiration } : {}),
      ...(st?.signMs !== undefined ? { signMs: st.signMs } : {}),
      ...(st?.signings !== undefined ? { signings: st.signings } : {}),
    };
  });
  const certs = s.certificates().map((h) => ({
    zone: h.zone,
    host: h.host,
    role: h.role,
    path: h.path,
    status: h.status,
    ...(h.notAfter !== undefined ? { notAfter: h.notAfter } : {}),
  }));
  return s.metrics.render(zones, certs, s.now(), s.state?.counts() ?? []);
}
