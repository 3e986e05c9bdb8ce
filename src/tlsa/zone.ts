/**
 * A zone file's automatic TLSA entries as the manager takes them, and the zone built with the published records
 * put in. Shared by the server and by commands that must show what the server serves (`zone export`).
 */
import { dirname, resolve } from 'node:path';
import { nameToText } from '../wire/name.js';
import { ZoneError, type ZoneProblem } from '../zone/errors.js';
import { buildZoneSource, readZoneSource, type ZoneFileSource } from '../zone/files.js';
import { withStoredDynamicRecords } from '../zone/dynamic.js';
import { RolloverStore } from '../state/rollover.js';
import { SerialStore } from '../state/serials.js';
import type { Zone } from '../zone/zone.js';
import { tlsaHost, withAutomaticTlsa, type AutoTlsa } from './augment.js';
import { TlsaManager, type TlsaEntryRef } from './manager.js';

/**
 * The entries of one zone file: absolute host names, TTL defaulted to the zone's, and file paths resolved
 * against the zone file's directory (so a relative `cert:` means the same wherever the server is started).
 * Entries whose host is unusable are left out (loading reports them).
 */
export function tlsaEntryRefs(f: ZoneFileSource, plain: Zone): TlsaEntryRef[] {
  const zone = nameToText(plain.origin).toLowerCase();
  const base = dirname(resolve(f.src.file));
  const refs: TlsaEntryRef[] = [];
  for (const entry of f.src.tlsa) {
    const host = tlsaHost(entry.host, plain.origin);
    if (typeof host === 'string') continue;
    refs.push({
      zone,
      host: nameToText(host).toLowerCase(),
      entry: {
        ...entry,
        cert: resolve(base, entry.cert),
        next: entry.next === undefined ? undefined : resolve(base, entry.next),
      },
      ttl: entry.ttl ?? f.src.ttl,
    });
  }
  return refs;
}

/** Problems of the `tlsa:` entries themselves (host outside the zone, at a cut, listed twice), as load errors. */
export function tlsaEntryProblems(f: ZoneFileSource, plain: Zone): readonly ZoneProblem[] {
  return withAutomaticTlsa(
    f.src,
    plain,
    f.src.tlsa.map((t) => ({ host: t.host, ports: t.ports, ttl: 0, rdatas: [], line: t.line })),
  ).problems;
}

/**
 * The zone with the automatic TLSA `sets` put in, built with `autoSerial`. Throws ZoneError; the warnings
 * (hand-written records replaced, wildcard records copied) are returned for the caller to report.
 */
export function zoneWithTlsa(
  f: ZoneFileSource,
  plain: Zone,
  sets: readonly AutoTlsa[],
  autoSerial?: (origin: string, hash: string) => number,
): { zone: Zone; warnings: readonly ZoneProblem[] } {
  const aug = withAutomaticTlsa(f.src, plain, sets);
  if (aug.problems.length > 0) throw new ZoneError([...aug.problems]);
  return { zone: buildZoneSource(f, autoSerial, aug.source), warnings: aug.warnings };
}

/**
 * Loads one zone file as the server would serve it right now: `serial: auto` from the state directory and the
 * automatic TLSA that the certificate files and the rollover state give. Reads the state, never writes it.
 * Certificate problems do not fail the load: they are returned in `tlsaErrors`. Throws ZoneError.
 */
export function loadZoneAsServed(file: string, stateDir: string): { zone: Zone; tlsaErrors: string[] } {
  const serials = new SerialStore(stateDir, undefined, true);
  const auto = (origin: string, hash: string): number => serials.serialFor(origin, hash);
  // The records of dynamic update are served with the file's (RFC 2136; zone/dynamic.ts).
  const source = withStoredDynamicRecords(readZoneSource(file), stateDir);
  if (source.src.tlsa.length === 0) return { zone: buildZoneSource(source, auto), tlsaErrors: [] };
  const plain = buildZoneSource(source);
  const problems = tlsaEntryProblems(source, plain);
  if (problems.length > 0) throw new ZoneError([...problems]);
  const manager = new TlsaManager(new RolloverStore(stateDir, true));
  manager.configure(tlsaEntryRefs(source, plain));
  const tlsaErrors: string[] = [];
  for (const e of manager.refresh().events)
    if (e.level === 'error')
      tlsaErrors.push(`${String(e.fields.path ?? '')}: ${String(e.fields.reason ?? e.fields.problem ?? e.event)}`);
  return {
    zone: zoneWithTlsa(source, plain, manager.setsFor(nameToText(plain.origin).toLowerCase()), auto).zone,
    tlsaErrors,
  };
}
