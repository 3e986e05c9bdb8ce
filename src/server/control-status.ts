/**
 * What the control socket (control.ts) reports and does, read from the running server's parts: per zone file its
 * state (serving, serving its last good version, not served), the served serial, the earliest RRSIG expiration
 * (RFC 4034 §3.1.5), the next key event of a rollover, and the TLSA records of each automatic host (RFC 6698)
 * with the role the TLSA history gives each (current, next, issuer, or retiring until a time); and the reload
 * the socket asks for. The objects are the documented JSON of docs/control.md.
 */
import { basename } from 'node:path';
import type { CertHealth } from '../tlsa/manager.js';
import type { HostRollover } from '../tlsa/rollover.js';
import { nameToText, parseName } from '../wire/name.js';
import type { Clock } from './clock.js';
import type { ControlCommands } from './control.js';
import type { ZoneVersion } from './publisher.js';
import type { ZoneSigner } from './signer.js';
import type { ZoneFiles } from './zone-files.js';
import type { WatchedStatus } from './watch.js';
import type { KeyStepWait } from './rollover-hold.js';

export interface ControlSources {
  readonly files: Pick<ZoneFiles, 'loaded' | 'failing'>;
  readonly signer: Pick<ZoneSigner, 'signed' | 'nextKeyEvent'>;
  readonly served: () => ReadonlyMap<string, ZoneVersion>;
  readonly certificates: () => readonly CertHealth[];
  /** The TLSA history of a host (tlsa/manager.ts state). */
  readonly tlsaState: (zone: string, host: string) => HostRollover | undefined;
  /** When a record of a host first published at `since` is ready (tlsa/manager.ts readyAt; seconds, or Infinity). */
  readonly tlsaReadyAt?: (zone: string, host: string, since: number) => number;
  /** The watched servers of a zone (watch.ts); absent: none are watched. */
  readonly secondaries?: (zone: string) => readonly WatchedStatus[];
  /** The key rollover steps of a zone that wait for its watched servers (rollover-hold.ts). */
  readonly keyStepWaits?: (zone: string) => readonly KeyStepWait[];
  /**
   * Re-reads the zones directory and publishes what changed, as SIGHUP does; given a file (a path as in
   * `files.loaded`), re-reads that file only.
   */
  readonly reload: (file?: string) => void;
  readonly now: Clock;
  readonly startedAt: number;
  readonly version: string;
  readonly listen: readonly string[];
  readonly http?: string;
}

export type ZoneState = 'serving' | 'serving last good version' | 'not served';

export interface TlsaRecordStatus {
  readonly rdata: string;
  /** `current`, `next`, `issuer` (several joined with `+`), or `retiring`. */
  readonly role: string;
  /** For a retiring record: until when it stays published (ISO 8601). */
  readonly until?: string;
}

/** A next record's readiness (RFC 7671 §8.1): published long enough, on every watched server, to be used. */
export interface NextRecordStatus {
  readonly host: string;
  readonly rdata: string;
  /** Whether it may go into use now. */
  readonly ready: boolean;
  /** When it is (or was) ready (ISO 8601); absent while a watched server lacks it. */
  readonly readyAt?: string;
}

export interface ZoneStatus {
  readonly zone: string;
  readonly file: string;
  readonly state: ZoneState;
  /** The load error of the file (its first problem, file:line: reason). */
  readonly error?: string;
  readonly serial?: number;
  /** The earliest RRSIG expiration of the served version (ISO 8601); absent for an unsigned zone. */
  readonly signaturesExpire?: string;
  /** When the key set changes next (a rollover step; ISO 8601). */
  readonly nextKeyEvent?: string;
  readonly tlsa: readonly { host: string; records: readonly TlsaRecordStatus[] }[];
  /** Every watched server (transfer.notify and transfer.check): its serial and seconds behind; absent: none. */
  readonly secondaries?: readonly SecondaryStatus[];
  /** Rollover steps postponed until every watched server has had what they count from; absent: none. */
  readonly keyStepWaits?: readonly KeyStepWait[];
  /** Every next record of the zone's TLSA hosts with its readiness; absent when there is none. */
  readonly tlsaNext?: readonly NextRecordStatus[];
}

export interface SecondaryStatus {
  /** `ADDRESS#PORT`. */
  readonly server: string;
  /** The serial of its last answer; absent when it never answered. */
  readonly serial?: number;
  /** Seconds it is behind the newest served serial (0: it serves it). */
  readonly lagSeconds: number;
  /** Why its last question got no serial. */
  readonly error?: string;
}

const iso = (sec: number): string => new Date(sec * 1000).toISOString();

/** A zone's name as the socket's requests give it, compared as the server does (case-insensitive, absolute). */
function zoneKey(text: string): string {
  return parseName(text.endsWith('.') ? text : `${text}.`).key;
}

/** The path of a known zone file from its name in the zones directory. */
function fileByName(s: ControlSources, name: string): string | undefined {
  return [...s.files.loaded.keys(), ...s.files.failing.keys()].find((f) => basename(f) === name);
}

/** The state of every zone file (those that load and those that fail), sorted by zone. */
export function zoneStatuses(s: ControlSources): ZoneStatus[] {
  const nowSec = Math.floor(s.now() / 1000);
  const served = s.served();
  const out: ZoneStatus[] = [];
  const files = new Set([...s.files.loaded.keys(), ...s.files.failing.keys()]);
  for (const file of files) {
    const lf = s.files.loaded.get(file);
    const problems = s.files.failing.get(file);
    const error = problems?.[0];
    if (!lf) {
      // A file that never loaded: its zone is the one its name says (docs/zone-format.md: <zone>.yaml).
      const zone = basename(file).replace(/\.ya?ml$/, '') + '.';
      out.push({ zone, file: basename(file), state: 'not served', ...(error ? { error } : {}), tlsa: [] });
      continue;
    }
    const key = lf.plain.origin.key;
    const zone = nameToText(lf.plain.origin);
    const version = served.get(key);
    const signed = s.signer.signed(key);
    const keyEvent = s.signer.nextKeyEvent(key);
    const next = nextRecords(s, zone, nowSec);
    const waits = s.keyStepWaits?.(zone) ?? [];
    const secondaries = (s.secondaries?.(zone) ?? []).map((w) => ({
      server: w.server,
      ...(w.serial !== undefined ? { serial: w.serial } : {}),
      lagSeconds: Math.floor(w.lagMs / 1000),
      ...(w.error !== undefined ? { error: w.error } : {}),
    }));
    out.push({
      zone,
      file: basename(file),
      state: version === undefined ? 'not served' : error ? 'serving last good version' : 'serving',
      ...(error ? { error } : {}),
      ...(version ? { serial: version.serial } : {}),
      ...(version?.signed && signed ? { signaturesExpire: iso(signed.earliestExpiration) } : {}),
      ...(keyEvent !== undefined ? { nextKeyEvent: iso(keyEvent) } : {}),
      tlsa: tlsaHosts(s, zone, nowSec),
      ...(secondaries.length > 0 ? { secondaries } : {}),
      ...(waits.length > 0 ? { keyStepWaits: waits } : {}),
      ...(next.length > 0 ? { tlsaNext: next } : {}),
    });
  }
  return out.sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
}

/** The automatic TLSA hosts of a zone with their published records and each record's role. */
function tlsaHosts(s: ControlSources, zone: string, nowSec: number): ZoneStatus['tlsa'] {
  const hosts = [...new Set(s.certificates().flatMap((h) => (h.zone === zone ? [h.host] : [])))].sort();
  return hosts.map((host) => ({
    host,
    records: (s.tlsaState(zone, host)?.records ?? [])
      .filter((r) => r.until === undefined || r.until > nowSec)
      .map((r) =>
        r.roles.length > 0
          ? { rdata: r.rdata, role: r.roles.join('+') }
          : { rdata: r.rdata, role: 'retiring', ...(r.until !== undefined ? { until: iso(r.until) } : {}) },
      ),
  }));
}

/** The next records of a zone's TLSA hosts with their readiness (tlsa/manager.ts readyAt). */
function nextRecords(s: ControlSources, zone: string, nowSec: number): NextRecordStatus[] {
  const readyAt = s.tlsaReadyAt;
  if (!readyAt) return [];
  const hosts = [...new Set(s.certificates().flatMap((h) => (h.zone === zone ? [h.host] : [])))].sort();
  return hosts.flatMap((host) =>
    (s.tlsaState(zone, host)?.records ?? [])
      .filter((r) => r.roles.includes('next'))
      .map((r) => {
        const at = readyAt(zone, host, r.since);
        return at === Infinity
          ? { host, rdata: r.rdata, ready: false }
          : { host, rdata: r.rdata, ready: at <= nowSec, readyAt: iso(at) };
      }),
  );
}

/** The commands of the control socket over the server's parts. */
export function controlCommands(s: ControlSources): ControlCommands {
  const pick = (zone: string | undefined): ZoneStatus[] => {
    const all = zoneStatuses(s);
    if (zone === undefined) return all;
    const key = zoneKey(zone);
    const found = all.filter((z) => zoneKey(z.zone) === key);
    if (found.length === 0) throw new Error(`no zone ${zone} in the zones directory`);
    return found;
  };
  return {
    pid: () => process.pid,
    status: (zone) => ({
      version: s.version,
      pid: process.pid,
      startedAt: new Date(s.startedAt).toISOString(),
      uptimeSeconds: Math.floor((s.now() - s.startedAt) / 1000),
      listen: [...s.listen],
      ...(s.http ? { http: s.http } : {}),
      zones: pick(zone),
    }),
    reload: (zone) => {
      // With ZONE only its file is read (the others may be mid-edit): the file that serves it, or that failed
      // to load under its name. A zone no file is known for yet (a new file) needs the whole directory.
      const key = zone === undefined ? undefined : zoneKey(zone);
      const file = key === undefined ? undefined : zoneStatuses(s).find((z) => zoneKey(z.zone) === key)?.file;
      const path = file === undefined ? undefined : fileByName(s, file);
      s.reload(path);
      const zones = pick(zone).map(({ zone: z, file, state, error, serial }) => ({
        zone: z,
        file,
        state,
        ...(error ? { error } : {}),
        ...(serial !== undefined ? { serial } : {}),
      }));
      if (zone === undefined) return { zones };
      return path === undefined ? { zones, note: 'no file served this zone: the whole directory was read' } : { zones };
    },
    zones: () => ({
      zones: zoneStatuses(s).map(({ zone, file, serial, state }) => ({
        zone,
        file,
        state,
        ...(serial !== undefined ? { serial } : {}),
      })),
    }),
  };
}
