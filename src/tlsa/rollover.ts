/**
 * TLSA rollover as a pure function of (previous state, what the files say now, TTL, time) -> new state
 * Published set = current ∪ next ∪ issuer ∪ retired records still inside their
 * retention. A record that leaves the wanted set stays published until at least 2 x TTL after it left, so a
 * resolver that cached the old RRset still finds the old key while the new certificate is being deployed, and a
 * record that becomes wanted again (the next key turning current, a key re-used on renewal) simply stays.
 *
 * Times are whole seconds since the epoch; the state is plain JSON so it can live in the state directory.
 */

export type TlsaRole = 'current' | 'next' | 'issuer';

interface TlsaRecordState {
  /** Presentation RDATA, e.g. `3 1 1 9A0B...`. */
  readonly rdata: string;
  /** Why the record is wanted now; empty once retired. */
  readonly roles: readonly TlsaRole[];
  /** When the record was first published. */
  readonly since: number;
  /** When it left the wanted set (absent while wanted). */
  readonly retiredAt?: number;
  /** Published until this time (absent while wanted). */
  readonly until?: number;
}

export interface HostRollover {
  readonly ttl: number;
  /** Sorted by rdata. */
  readonly records: readonly TlsaRecordState[];
}

export interface Wanted {
  readonly rdata: string;
  readonly role: TlsaRole;
}

/** How long a record stays after it left the wanted set: twice the largest TTL it was published with. */
export function retention(oldTtl: number, newTtl: number): number {
  return 2 * Math.max(oldTtl, newTtl);
}

export function advance(
  prev: HostRollover | undefined,
  wanted: readonly Wanted[],
  ttl: number,
  now: number,
): HostRollover {
  const roles = new Map<string, TlsaRole[]>();
  for (const w of wanted) {
    const r = roles.get(w.rdata) ?? [];
    if (!r.includes(w.role)) r.push(w.role);
    roles.set(w.rdata, r);
  }
  const out: TlsaRecordState[] = [];
  const before = new Map((prev?.records ?? []).map((r) => [r.rdata, r]));
  for (const [rdata, rs] of roles) {
    const old = before.get(rdata);
    out.push({ rdata, roles: rs.sort(), since: old?.since ?? now });
  }
  for (const old of prev?.records ?? []) {
    if (roles.has(old.rdata)) continue;
    if (old.until === undefined) {
      out.push({
        rdata: old.rdata,
        roles: [],
        since: old.since,
        retiredAt: now,
        until: now + retention(prev!.ttl, ttl),
      });
    } else if (old.until > now) out.push(old);
  }
  out.sort((a, b) => (a.rdata < b.rdata ? -1 : a.rdata > b.rdata ? 1 : 0));
  return { ttl, records: out };
}

/** The records to publish at `now` (sorted, so equal sets give equal zones). */
export function published(h: HostRollover, now: number): string[] {
  return h.records.filter((r) => r.until === undefined || r.until > now).map((r) => r.rdata);
}

/** The earliest time a retired record must be withdrawn, or undefined. */
export function nextWithdrawal(h: HostRollover): number | undefined {
  let t: number | undefined;
  for (const r of h.records) if (r.until !== undefined && (t === undefined || r.until < t)) t = r.until;
  return t;
}

/**
 * A host's state with what a history file that could not be read at start says (read again later): its records
 * the state does not have are taken up, a record that was wanted then being retired now (it was published and
 * may be cached: it stays its retention), a retired one kept until its own end. The state's own records win.
 */
export function mergeHistory(h: HostRollover | undefined, kept: HostRollover, now: number): HostRollover {
  if (!h) return { ttl: kept.ttl, records: kept.records.filter((r) => r.until === undefined || r.until > now) };
  const have = new Set(h.records.map((r) => r.rdata));
  const out = [...h.records];
  for (const r of kept.records) {
    if (have.has(r.rdata)) continue;
    if (r.until === undefined)
      out.push({ rdata: r.rdata, roles: [], since: r.since, retiredAt: now, until: now + retention(kept.ttl, h.ttl) });
    else if (r.until > now) out.push(r);
  }
  out.sort((a, b) => (a.rdata < b.rdata ? -1 : a.rdata > b.rdata ? 1 : 0));
  return { ttl: h.ttl, records: out };
}
