/**
 * `dane-ns keys rollover`: starts a ZSK, KSK or CSK rollover, or ends a KSK/CSK one once the parent publishes the
 * new DS, by writing key files with the times RFC 6781 §4.1 and RFC 7583 §3 call for (dnssec/keyroll.ts plans
 * them); a running server follows the files.
 */
import { nameToText } from '../wire/name.js';
import { dsText } from '../dnssec/ds.js';
import { rolloverTtls } from '../dnssec/zonesign.js';
import { iso } from '../dnssec/lifecycle.js';
import { dsPublished, startRollover } from '../dnssec/keyroll.js';
import { domainName, onePositional, parseOptions, requires, seconds, UsageError } from './args.js';
import { directory } from './env.js';
import { watchedServers } from '../zone/settings.js';
import { asServed, findZone } from './findzone.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';

export function keysRollover(args: string[], io: Io): number {
  const a = parseOptions(args, ['zones', 'keys', 'state', 'margin', 'ds-ttl'], ['ksk', 'ds-published']);
  if (a.has('help')) return printHelp(io, 'keys');
  const zoneArg = onePositional(a, 'keys rollover', 'ZONE');
  if (a.has('ksk') && a.has('ds-published'))
    throw new UsageError('--ksk starts a KSK rollover and --ds-published ends one: give one of them');
  // The parent's DS TTL only sets when the old key may leave, at the end of a KSK or CSK rollover.
  requires(a, 'ds-ttl', 'ds-published');
  const marginText = a.value('margin');
  const dsTtlText = a.value('ds-ttl');
  const marginArg = marginText === undefined ? undefined : seconds('--margin', marginText);
  const dsTtl = dsTtlText === undefined ? 86400 : seconds('--ds-ttl', dsTtlText);
  const want = domainName('ZONE', zoneArg);
  const stateDir = directory(a, io.defaults, 'state');
  const keysDir = directory(a, io.defaults, 'keys');
  const z = findZone(directory(a, io.defaults, 'zones'), zoneArg, want, asServed(stateDir));
  if (!z.dnssec.enabled)
    throw new Error(`${nameToText(z.origin)} is not signed (dnssec: enabled: false in its zone file)`);
  // The zone file's dnssec.margin unless --margin says otherwise.
  const margin = marginArg ?? z.dnssec.margin;
  const ttls = rolloverTtls(z);
  const timing = { ...ttls, margin, dsTtl };
  const opts = { zone: z.origin, keysDir, stateDir, mode: z.dnssec.keys, timing, now: new Date() };
  const name = nameToText(z.origin);
  const out = (line: string): void => io.out(line + '\n');
  // A server with watched secondaries may move these times later (never earlier): its waits count from the last
  // secondary that serves each version, with the zone file's margin.
  const watched = watchedServers(z.transfer).length;
  const serverMargin = (): void => {
    if (watched > 0 && margin < z.dnssec.margin)
      out(
        `; note: the server takes each step only once its ${watched} watched server(s) serve the version it counts from, plus the TTL and the zone file's margin (${z.dnssec.margin} s), not --margin ${margin}`,
      );
  };

  if (a.has('ds-published')) {
    const r = dsPublished(opts);
    if (!r.ok) throw new Error(r.error);
    for (const w of r.warnings) io.err(`warning: ${w}\n`);
    for (const x of r.plan.retire)
      out(
        `; ${name}: ${x.key.tag} signs the DNSKEY RRset until ${iso(x.inactive)} (the parent's DS TTL ${timing.dsTtl} s + margin ${timing.margin} s), then leaves it; ${r.plan.current.tag} stays`,
      );
    return 0;
  }
  if (a.has('ksk') && z.dnssec.keys === 'csk')
    throw new UsageError(`--ksk: ${name} has one combined key (keys: csk); its rollover is the one without --ksk`);
  const kind = z.dnssec.keys === 'csk' ? 'csk' : a.has('ksk') ? 'ksk' : 'zsk';
  const r = startRollover({ ...opts, kind });
  if (!r.ok) throw new Error(r.error);
  for (const w of r.warnings) io.err(`warning: ${w}\n`);
  const role = kind.toUpperCase();
  const fresh = r.created;
  if (kind === 'zsk') {
    out(
      `; ${name}: ZSK ${fresh.tag} is published now and signs from ${iso(fresh.activate)} (DNSKEY TTL ${ttls.dnskeyTtl} s + margin ${timing.margin} s)`,
    );
    for (const x of r.plan.retire)
      out(
        `; ZSK ${x.key.tag} stops signing then and leaves the DNSKEY RRset at ${iso(x.delete)} (largest TTL ${ttls.maxTtl} s + margin ${timing.margin} s)`,
      );
    serverMargin();
    out(`; a running server follows these times by itself (it watches ${keysDir}); nothing else to do`);
    return 0;
  }
  out(
    kind === 'ksk'
      ? `; ${name}: KSK ${fresh.tag} is published and signs the DNSKEY RRset now, next to the current KSK`
      : `; ${name}: CSK ${fresh.tag} is published now and signs from ${iso(fresh.activate)}, the DNSKEY RRset next to the current CSK`,
  );
  out(
    `; from ${iso(r.plan.dsFrom!)} on (when every cached DNSKEY RRset carries its signature), replace the ${role}'s DS at the parent with:`,
  );
  out(dsText(z.origin, fresh.dnskeyRdata));
  out(
    `; a running server publishes it as CDS and CDNSKEY then, and ends the rollover by itself once every parent server serves it`,
  );
  out(`; once the parent publishes it, run: dane-ns keys rollover ${name} --ds-published`);
  serverMargin();
  return 0;
}
