/**
 * The DNSSEC timestamp YYYYMMDDHHmmSS in UTC (RFC 4034 §3.2): the presentation form of the RRSIG expiration
 * and inception fields, and the time format of BIND's key files (Created, Publish, Activate ...). The reduction
 * of a time to the 32-bit RRSIG field is serial.ts's serialOf.
 */

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `t` as YYYYMMDDHHmmSS in UTC, the year padded to 4 digits (callers keep `t` within years 0..9999). */
export function formatTimestamp(t: Date): string {
  return `${String(t.getUTCFullYear()).padStart(4, '0')}${two(t.getUTCMonth() + 1)}${two(t.getUTCDate())}${two(t.getUTCHours())}${two(t.getUTCMinutes())}${two(t.getUTCSeconds())}`;
}

/**
 * Parses YYYYMMDDHHmmSS (UTC, exactly 14 ASCII digits); null when it is not a valid time of that form (month
 * 1-12, a day the month has, hour 0-23, minute and second 0-59). With `leapSecond`, second 60 is accepted and
 * read as 59: BIND's key-file reader allows it (its dns_time64_fromtext takes 60 for a leap second), so key
 * files written elsewhere may hold one; RRSIG presentation stays strict.
 */
export function parseTimestamp(s: string, opts: { leapSecond?: boolean } = {}): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > (opts.leapSecond ? 60 : 59)) return null;
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, Math.min(se, 59)));
  if (t.getUTCDate() !== d) return null; // 31 April and the like
  return t;
}
