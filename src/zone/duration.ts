/**
 * TTLs and durations as zone files write them: seconds (`3600`) or BIND-style units (`1h`, `14d`, `1h30m`),
 * at most 2^31 - 1 seconds (RFC 2181 §8). Used by the YAML reader and by the RFC 1035 master-file import.
 */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** The largest TTL (RFC 2181 §8) and the longest duration: 2^31 - 1 seconds. */
export const MAX_SECONDS = 0x7fffffff;

/** Parses a TTL or duration: `3600`, `1h`, `14d`, `1h30m` (BIND style). Returns undefined when invalid. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) {
    const v = Number(t);
    return v <= MAX_SECONDS ? v : undefined;
  }
  const re = /(\d+)([smhdw])/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== t.length || total > MAX_SECONDS) return undefined;
  return total;
}
