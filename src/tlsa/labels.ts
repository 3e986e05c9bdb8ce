/**
 * The TLSA rollover state in words, as a pure function of (published records, rollover state, time): what each
 * published record is there for (`current`, `next (ready at ...)`, `retiring until ...`), and the two rotation
 * hazards an operator must act on (RFC 7671 §8.1, "key rollover"; RFC 6698 §4 on cached TLSA sets):
 *
 * - a cold rollover: the current key's record was not published long enough before the key went into use, so a
 *   sending MTA that cached the previous TLSA set finds no record for the key it is shown and defers the mail
 *   (Exchange Online's 4.7.323 tlsa-invalid) until that set leaves its cache;
 * - the `next:` file holds the key now in use: the following renewal, unless it gets a new pre-published key,
 *   is a cold rollover.
 *
 * "Long enough" is the same margin a retired record is kept for (rollover.ts `retention`, 2 x TTL): one TTL for
 * the caches plus as much again for resolvers that fetched the set late or clamp TTLs upward. Times are whole
 * seconds since the epoch, as in the state.
 *
 * With watched servers (secondaries that answer the public, server/watch.ts) a record is in every resolver's view
 * only once every one of them serves it: `everywhere` says when the last of them first served a version
 * published at or after a time, and a record is then ready one TTL after that (never before the 2 x TTL above).
 */
import { retention, type HostRollover } from './rollover.js';

export interface RecordLabel {
  /** Presentation RDATA, e.g. `3 1 1 9A0B...`. */
  readonly rdata: string;
  /** `current`, `next (ready at <ISO>)`, `issuer`, `retiring until <ISO>`, or why it is unknown. */
  readonly label: string;
}

export interface RotationWarning {
  readonly event: 'tlsa-cold-rollover' | 'tlsa-next-in-use';
  /** The record of the key concerned. */
  readonly rdata: string;
  /** Cold rollover: until when senders that cached the previous set may fail. */
  readonly until?: number;
  /** One sentence for the log and for `check`, with the fix. */
  readonly message: string;
}

const iso = (sec: number): string => new Date(sec * 1000).toISOString();

/** The key of a record, short: the first 16 hex digits (lower case, as sha256sum prints) of its association data. */
export function shortKey(rdata: string): string {
  return (rdata.split(' ')[3] ?? rdata).slice(0, 16).toLowerCase();
}

/**
 * When the last watched server first served a version published at or after a time (seconds), or undefined while
 * one does not yet. Absent: there are no watched servers, and this server alone is what resolvers ask.
 */
export type Everywhere = (since: number) => number | undefined;

/**
 * When a record first published at `since` has been in every cache's view long enough to be used; Infinity
 * while a watched server does not serve it yet.
 */
export function readyAt(since: number, ttl: number, everywhere?: Everywhere): number {
  const own = since + retention(ttl, ttl);
  if (!everywhere) return own;
  const t = everywhere(since);
  return t === undefined ? Infinity : Math.max(own, t + ttl);
}

/** One label per published record, in the order given. */
export function labelRecords(
  published: readonly string[],
  h: HostRollover | undefined,
  now: number,
  everywhere?: Everywhere,
): RecordLabel[] {
  const byRdata = new Map((h?.records ?? []).map((r) => [r.rdata, r]));
  return published.map((rdata) => {
    const r = byRdata.get(rdata);
    if (!r || !h) return { rdata, label: 'not in the rollover state (hand-written, or published by another server)' };
    const parts: string[] = [];
    if (r.roles.includes('current')) parts.push('current');
    if (r.roles.includes('issuer')) parts.push('issuer');
    if (r.roles.includes('next')) {
      const at = readyAt(r.since, h.ttl, everywhere);
      if (at === Infinity) parts.push('next (not ready: not yet served by every watched server)');
      else parts.push(`next (ready at ${iso(at)}${at <= now ? ': safe to deploy' : ''})`);
    }
    if (parts.length === 0)
      parts.push(r.until !== undefined && r.until > now ? `retiring until ${iso(r.until)}` : 'withdrawn');
    return { rdata, label: parts.join(', ') };
  });
}

/**
 * The hazards of a host's state at `now`. A cold rollover lasts while the current record is not yet ready and
 * the record of the key used before it is still published as retiring (the set senders may have cached); a
 * host's first publication is none (no set was cached before it).
 */
export function rotationWarnings(h: HostRollover | undefined, now: number, everywhere?: Everywhere): RotationWarning[] {
  const out: RotationWarning[] = [];
  for (const r of h?.records ?? []) {
    if (!r.roles.includes('current')) continue;
    const until = readyAt(r.since, h!.ttl, everywhere);
    // A record that is neither current nor next is a retiring one: the key in use before this one, which senders
    // may have cached (compared by role, not by time: a renewal can come in the second of the first publication).
    if (until > now && h!.records.some((o) => o.rdata !== r.rdata && o.roles.length === 0))
      out.push({
        event: 'tlsa-cold-rollover',
        rdata: r.rdata,
        until,
        message:
          `key ${shortKey(r.rdata)} went into use before its TLSA record was published for 2 x TTL: ` +
          `senders that cached the previous TLSA set may fail (4.7.323 tlsa-invalid) until ${until === Infinity ? 'one TTL after every watched server serves it' : iso(until)}; ` +
          'renew with certbot --reuse-key, or pre-publish the new key with next: and renew with --key-path',
      });
    if (r.roles.includes('next'))
      out.push({
        event: 'tlsa-next-in-use',
        rdata: r.rdata,
        message: `next key is in use (key ${shortKey(r.rdata)}), generate a new next key before the following renewal`,
      });
  }
  return out;
}

/**
 * The cold rollover that a step from `prev` to `next` made: the current key changed to one whose record is not
 * ready at `now`. Undefined when the current key did not change or its record was ready.
 */
export function coldRolloverAt(
  prev: HostRollover | undefined,
  next: HostRollover,
  now: number,
  everywhere?: Everywhere,
): RotationWarning | undefined {
  const wasCurrent = new Set((prev?.records ?? []).filter((r) => r.roles.includes('current')).map((r) => r.rdata));
  if (wasCurrent.size === 0) return undefined;
  const fresh = next.records.find((r) => r.roles.includes('current') && !wasCurrent.has(r.rdata));
  if (!fresh) return undefined;
  return rotationWarnings(next, now, everywhere).find(
    (w) => w.event === 'tlsa-cold-rollover' && w.rdata === fresh.rdata,
  );
}

/**
 * The retired records of `h` with their retention counted from when every watched server serves the version
 * that retired them (RFC 7671 §8.1: a resolver asking a lagging secondary still gets the old set): 2 x TTL from
 * that moment (never shorter than counted from this server alone), and held from `now` while one does not serve
 * it yet.
 */
export function holdRetired(h: HostRollover, now: number, everywhere: Everywhere): HostRollover {
  return {
    ttl: h.ttl,
    records: h.records.map((r) => {
      if (r.retiredAt === undefined || r.until === undefined) return r;
      const from = everywhere(r.retiredAt) ?? now;
      const until = Math.max(r.until, from + retention(h.ttl, h.ttl));
      return until === r.until ? r : { ...r, until };
    }),
  };
}
