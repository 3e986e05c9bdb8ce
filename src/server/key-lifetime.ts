/**
 * Rollovers by lifetime in the running server (`dnssec.zsk-lifetime`, `dnssec.ksk-lifetime`): before a zone's
 * keys are read for signing, a rollover whose key has signed for its lifetime is started exactly as `dane-ns keys
 * rollover` starts it (dnssec/keyroll.ts: the same key files, the same key-change journal, the margin of
 * `dnssec.margin`); the decision is dnssec/lifetime.ts. The end of the lifetime is returned as a key event, so
 * that the refresh timer wakes for it. A KSK or CSK rollover started here then waits for the parent's DS like
 * any other (CDS published, parent-watch.ts ends it). RFC 6781 §4.1, RFC 7583 §3.
 */
import { nameToText } from '../wire/name.js';
import type { Logger } from '../log.js';
import type { Zone } from '../zone/zone.js';
import { loadZoneKeys } from '../dnssec/keyfile.js';
import { startRollover } from '../dnssec/keyroll.js';
import { iso } from '../dnssec/lifecycle.js';
import { lifetimeRollovers } from '../dnssec/lifetime.js';
import { rolloverTtls } from '../dnssec/zonesign.js';

/** Seconds until a rollover that could not start is tried again (a key event like the others). */
const RETRY_S = 3600;

/** The parent's DS TTL a rollover start assumes (only the end of a KSK/CSK rollover uses it; the parent check reports the real one). */
const DS_TTL = 86400;

export interface LifetimeOptions {
  readonly keysDir: string;
  readonly stateDir: string;
  readonly logger: Logger;
}

/**
 * Starts the rollovers of `zone` whose key lifetime is over at `now` (logged `key-rollover-started`, reason
 * `lifetime`), and returns whether it started one (the key files changed) and when the next lifetime ends, or a
 * rollover that could not start is tried again (undefined: none planned). A zone without lifetimes, or
 * whose key files do not all load, is left alone: a rollover over a key set only partly understood could remove
 * the key the DS points to (keyroll.ts refuses it too).
 */
export function rollByLifetime(
  zone: Zone,
  o: LifetimeOptions,
  now: Date,
): { started: boolean; next: Date | undefined } {
  const none = { started: false, next: undefined };
  const d = zone.dnssec;
  if (!d.enabled || (!d.zskLifetime && !d.kskLifetime)) return none;
  const { keys, problems } = loadZoneKeys(o.keysDir, zone.origin);
  if (keys.length === 0 || problems.length > 0) return none;
  const life = { zsk: d.zskLifetime ?? 0, ksk: d.kskLifetime ?? 0 };
  const decision = lifetimeRollovers(keys, d.keys, life, now);
  const name = nameToText(zone.origin);
  const timing = { ...rolloverTtls(zone), margin: d.margin, dsTtl: DS_TTL };
  let started = false;
  let next = decision.next;
  for (const roll of decision.start) {
    const r = startRollover({
      zone: zone.origin,
      keysDir: o.keysDir,
      stateDir: o.stateDir,
      mode: d.keys,
      timing,
      now,
      kind: roll.kind,
    });
    if (!r.ok) {
      const retry = new Date(now.getTime() + RETRY_S * 1000);
      o.logger.warn('key-rollover-not-started', {
        zone: name,
        role: roll.kind,
        reason: 'lifetime',
        error: r.error,
        retry: iso(retry),
      });
      if (!next || retry < next) next = retry;
      continue;
    }
    started = true;
    for (const w of r.warnings) o.logger.warn('zone-keys', { zone: name, warning: w });
    o.logger.info('key-rollover-started', {
      zone: name,
      role: roll.kind,
      reason: 'lifetime',
      old: roll.key.tag,
      lifetimeEnded: iso(roll.due),
      key: r.created.tag,
      activate: iso(r.created.activate),
      ...(r.plan.dsFrom ? { dsFrom: iso(r.plan.dsFrom) } : {}),
      retiring: r.plan.retire.map((x) => ({ key: x.key.tag, inactive: iso(x.inactive), delete: iso(x.delete) })),
    });
  }
  return { started, next };
}
