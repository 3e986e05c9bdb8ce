/**
 * Whether the key files `dane-ns ds` found are a whole set for the zone's `dnssec.keys` (RFC 6781 §3.1.1: a
 * KSK/ZSK split, or one combined signing key). The key files alone cannot tell a CSK from a KSK whose ZSK is
 * gone (both are a lone flags-257 key), so a set without an active ZSK is checked against the zone file: with
 * `keys: csk` it is whole; with `keys: ksk-zsk` (the default), or when the zone file cannot be found, it is not,
 * and no DS is printed for it (the parent would get the DS of a key that cannot sign the zone as the server
 * signs it).
 */
import { nameToText, type Name } from '../wire/name.js';
import { FLAGS_ZSK } from '../dnssec/keys.js';
import { loneKskNote } from '../dnssec/keystore.js';
import { keyState } from '../dnssec/lifecycle.js';
import type { PublicZoneKey } from '../dnssec/publickeys.js';
import { asWritten, findZone } from './findzone.js';

/** Why the keys are not a whole set for the zone's key mode, or undefined when they are (or have an active ZSK). */
export function loneKskProblem(
  d: { zone: Name; zoneArg: string; dir: string; zonesDir: string },
  keys: readonly PublicZoneKey[],
  now: Date,
): string | undefined {
  if (keys.some((k) => k.flags === FLAGS_ZSK && keyState(k, now) === 'active')) return undefined;
  let mode: 'csk' | 'ksk-zsk';
  try {
    mode = findZone(d.zonesDir, d.zoneArg, d.zone, asWritten).dnssec.keys;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return (
      `no active zone-signing key (flags 256) in ${d.dir}, and the zone file that says whether the key-signing key ` +
      `is a combined signing key (dnssec: { keys: csk }) was not read (${why}); give its directory with --zones DIR`
    );
  }
  if (mode === 'csk') return undefined;
  return keys.some((k) => k.flags === FLAGS_ZSK)
    ? `no active zone-signing key (flags 256) in ${d.dir} for ${nameToText(d.zone)} (keys: ksk-zsk)`
    : loneKskNote(d.zone, d.dir, keys);
}
