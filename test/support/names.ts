/** Domain names as text in tests: zone and query names given with or without the final dot. */

/** The name with its final dot (RFC 1034 §3.1: an absolute name ends in the root label), case kept. */
export function absoluteName(name: string): string {
  const n = name.trim();
  return n.endsWith('.') ? n : `${n}.`;
}

/** The absolute name in lower case (names compare case-insensitively, RFC 4343 §3). */
export function lowerAbsoluteName(name: string): string {
  return absoluteName(name).toLowerCase();
}
