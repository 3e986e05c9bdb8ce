/**
 * The running server: loads the zones directory into an immutable snapshot, listens on UDP and TCP for every
 * configured address, and swaps in a new snapshot on reload. A zone file that fails to load on reload is
 * reported (file:line: reason) and its last good version keeps serving.
 */
import { basename } from 'node:path';
import { mkdirSync, statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { ZoneError, formatProblem, type ZoneProblem } from '../zone/errors.js';
import { buildZoneSource, listZoneFiles, readZoneSource, type ZoneFileSource } from '../zone/files.js';
import { ZoneSet } from '../zone/set.js';
import type { Zone } from '../zone/zone.js';
import { nameToText, parseName } from '../wire/name.js';
import { decodeMessage, fullRcode } from '../wire/message.js';
import { FLAG_TC } from '../wire/header.js';
import { typeToText } from '../wire/types.js';
import { soaSerial } from '../zone/build.js';
import { SerialStore } from '../state/serials.js';
import { RolloverStore } from '../state/rollover.js';
import { mxTargets } from '../tlsa/augment.js';
import { tlsaEntryProblems, tlsaEntryRefs, zoneWithTlsa } from '../tlsa/zone.js';
import { TlsaManager, type TlsaEntryRef, type TlsaEvent } from '../tlsa/manager.js';
import { FileWatcher } from '../tlsa/watch.js';
import { Metrics } from './metrics.js';
import { listenHttp } from './http.js';
import { createHandler, makeSnapshot, type Snapshot } from './handler.js';
import { ZoneSigner, type Secured } from './signer.js';
import { listenUdp } from './udp.js';
import { listenUdpBatch, udpBatchAvailable } from './udp-batch.js';
import { listenTcp } from './tcp.js';
import type { Handler, Listener } from './transport.js';

export interface ServeOptions {
  readonly zonesDir: string;
  readonly stateDir: string;
  readonly keysDir: string;
  readonly listen: readonly string[];
  readonly logger: Logger;
  /** UDP engine: `batch` (native recvmmsg/sendmmsg addon), `dgram` (node:dgram), `auto` (batch when built). */
  readonly udpEngine?: 'auto' | 'batch' | 'dgram';
  /** The clock in milliseconds (tests move it). */
  readonly now?: () => number;
  /** `ADDR:PORT` of the HTTP endpoint (/healthz, /metrics); off when absent. */
  readonly http?: string;
  /** Log one line per answered query (off by default: it costs a message decode per query). */
  readonly logQueries?: boolean;
}

/** Longest sleep between signature refresh checks, so a changed clock or a long validity is never missed. */
const REFRESH_CHECK_MS = 3600_000;
/** Certificate files are re-read at least this often, whatever the watcher saw (and expiry is re-checked). */
const TLSA_POLL_MS = 60_000;
/** Events in a watched certificate directory are collected this long before the files are re-read. */
const TLSA_DEBOUNCE_MS = 100;

/** A zone file as last loaded: its parsed source and the zone built without automatic TLSA records. */
interface LoadedFile {
  /** The parsed file; without its records when the zone has no automatic TLSA (nothing rebuilds it then). */
  readonly source: ZoneFileSource;
  readonly plain: Zone;
  /** inode, size and times of the file when it was read: an unchanged file is not parsed again on reload. */
  readonly stamp: string;
}

/** Events in the zones directory are collected this long before the directory is reloaded. */
const ZONES_DEBOUNCE_MS = 100;

function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return '';
  }
}

export interface RunningServer {
  readonly addresses: readonly { host: string; port: number }[];
  /** The HTTP endpoint's address, when one was asked for. */
  readonly httpAddress?: { host: string; port: number };
  reload(): void;
  close(): Promise<void>;
}

/** Parses `ADDR:PORT`, `[V6ADDR]:PORT`. Throws a one-line Error on anything else. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(spec) ?? /^([0-9.]+|localhost):(\d+)$/.exec(spec);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`--listen "${spec}": expected ADDR:PORT or [IPV6]:PORT`);
  return { host: m[1] === 'localhost' ? '127.0.0.1' : m[1]!, port };
}

/** The handler with one `query` log line per response (qname, qtype, rcode, size, TC, client). */
function logEachQuery(handler: Handler, logger: Logger): Handler {
  return (query, transport, remote) => {
    const out = handler(query, transport, remote);
    if (out === null) {
      logger.info('query', { transport, client: remote.address, dropped: true });
      return out;
    }
    try {
      const m = decodeMessage(out);
      const q = m.questions[0];
      logger.info('query', {
        transport,
        client: remote.address,
        qname: q ? nameToText(q.name) : null,
        qtype: q ? typeToText(q.type) : null,
        rcode: fullRcode(m),
        size: out.length,
        tc: (m.flags & FLAG_TC) !== 0,
      });
    } catch {
      logger.info('query', { transport, client: remote.address, size: out.length });
    }
    return out;
  };
}

/** A problem when another file already serves the origin of `z` (two files must not fight over one zone). */
function sameOrigin(byFile: ReadonlyMap<string, LoadedFile>, file: string, z: Zone): ZoneProblem | null {
  for (const [other, oz] of byFile)
    if (other !== file && oz.plain.origin.key === z.origin.key)
      return { file, line: 1, reason: `zone ${nameToText(z.origin)} is already served from ${basename(other)}` };
  return null;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { logger } = opts;
  mkdirSync(opts.stateDir, { recursive: true });
  const serials = new SerialStore(opts.stateDir);
  const autoSerial = (origin: string, hash: string): number => serials.serialFor(origin, hash);

  const tlsa = new TlsaManager(new RolloverStore(opts.stateDir), opts.now);
  const metrics = new Metrics();
  /** Zone files whose last load failed (file -> problems), for /healthz. */
  const failing = new Map<string, string[]>();
  const logEvents = (events: readonly TlsaEvent[]): void => {
    for (const e of events) {
      if (e.event === 'tlsa-source-error') metrics.certReadFailures++;
      logger.log(e.level, e.event, e.fields);
    }
  };

  /**
   * Parses and builds one file. A zone with automatic TLSA is built here without it (and without touching the
   * serial state); the served version adds the records (servedZone). Host problems are load errors.
   */
  const loadOne = (file: string): LoadedFile => {
    const stamp = fileStamp(file);
    const source = readZoneSource(file);
    const auto = source.src.tlsa.length > 0;
    const plain = buildZoneSource(source, auto ? undefined : autoSerial);
    if (auto) {
      const problems = tlsaEntryProblems(source, plain);
      if (problems.length > 0) throw new ZoneError([...problems]);
      return { source, plain, stamp };
    }
    // Only a zone with automatic TLSA is built again from its source (servedZone); for the others the parsed
    // records (about 20 MB for a 100k-name zone) are dropped once the zone is built.
    return { source: { ...source, src: { ...source.src, records: [] } }, plain, stamp };
  };

  /** Last good zone per file. */
  const byFile = new Map<string, LoadedFile>();
  const problems: ZoneProblem[] = [];
  for (const file of listZoneFiles(opts.zonesDir)) {
    try {
      const lf = loadOne(file);
      const clash = sameOrigin(byFile, file, lf.plain);
      if (clash) problems.push(clash);
      else byFile.set(file, lf);
    } catch (e) {
      if (e instanceof ZoneError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length > 0) throw new ZoneError(problems);
  /** Zones with automatic TLSA get their serial when the TLSA is put in (servedZone logs it). */
  const loaded = (z: Zone): void =>
    logger.info('zone-loaded', {
      zone: nameToText(z.origin),
      file: basename(z.file),
      ...(z.tlsa.length === 0 ? { serial: soaSerial(z.soa.rdatas[0]!) } : {}),
      names: z.nodes.size,
    });
  for (const lf of byFile.values()) loaded(lf.plain);

  /** Tells the TLSA manager which hosts exist (after every load) and warns about hosts no MX points to. */
  const configureTlsa = (): void => {
    const refs: TlsaEntryRef[] = [];
    const targets = mxTargets([...byFile.values()].map((lf) => lf.plain));
    for (const lf of byFile.values())
      for (const ref of tlsaEntryRefs(lf.source, lf.plain)) {
        refs.push(ref);
        if (!targets.has(parseName(ref.host).key))
          logger.warn('tlsa-host-not-mx-target', {
            zone: ref.zone,
            host: ref.host,
            file: basename(lf.plain.file),
            line: ref.entry.line,
          });
      }
    tlsa.configure(refs);
  };

  /** The served version of each file's zone, with the automatic TLSA put in; rebuilt only when its input changes. */
  const served = new Map<string, { key: string; zone: Zone }>();
  const servedZone = (file: string, lf: LoadedFile): Zone => {
    if (lf.source.src.tlsa.length === 0) return lf.plain;
    const sets = tlsa.setsFor(nameToText(lf.plain.origin).toLowerCase());
    const key = `${lf.plain.contentHash}/${JSON.stringify(sets)}`;
    const have = served.get(file);
    if (have?.key === key) return have.zone;
    try {
      const { zone, warnings } = zoneWithTlsa(lf.source, lf.plain, sets, autoSerial);
      for (const w of warnings)
        logger.warn('tlsa-zone-warning', { file: basename(w.file), line: w.line, warning: w.reason });
      served.set(file, { key, zone });
      logger.info('zone-tlsa-applied', {
        zone: nameToText(zone.origin),
        serial: soaSerial(zone.soa.rdatas[0]!),
        hosts: sets.map((x) => ({ host: x.host, records: x.rdatas.length })),
      });
      return zone;
    } catch (e) {
      const reasons = e instanceof ZoneError ? e.problems.map(formatProblem) : [String(e)];
      logger.error('tlsa-zone-build-failed', {
        file: basename(file),
        problems: reasons,
        keeping: have ? 'the last served version' : 'the zone without automatic TLSA',
      });
      return have?.zone ?? lf.plain;
    }
  };

  const signer = new ZoneSigner(opts.keysDir, opts.stateDir, logger, opts.now);
  /** Builds the snapshot from the last good zones: signs what is signed, then one swap. */
  /** The zones to serve, with the automatic TLSA put in. */
  const servedZones = (): Zone[] => {
    const zones = [...byFile].map(([file, lf]) => servedZone(file, lf));
    for (const file of [...served.keys()]) if (!byFile.has(file)) served.delete(file);
    return zones;
  };
  const rebuild = (): Snapshot => snapshotOf(signer.secure(servedZones()));
  const snapshotOf = (s: Secured): Snapshot => {
    scheduleRefresh(s.nextDue);
    return makeSnapshot(new ZoneSet(s.zones), s.security);
  };
  // Signatures are refreshed by a timer, well before they expire (the policy is in dnssec/sigcache.ts).
  let refreshTimer: NodeJS.Timeout | null = null;
  const scheduleRefresh = (dueSec: number): void => {
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = null;
    if (!Number.isFinite(dueSec)) return;
    const nowMs = (opts.now ?? Date.now)();
    const delay = Math.min(Math.max(dueSec * 1000 - nowMs, 1000), REFRESH_CHECK_MS);
    refreshTimer = setTimeout(() => {
      snapshot = rebuild();
    }, delay);
    refreshTimer.unref();
  };

  // Certificates: watched, polled, and re-read; a changed published TLSA set makes a new snapshot.
  let tlsaTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const watcher = new FileWatcher((reason) => tlsaTick(reason), TLSA_DEBOUNCE_MS);
  /** Re-reads the certificate files; returns whether a zone's TLSA changed. Never throws (timers call it). */
  const refreshTlsa = (reason: string): boolean => {
    let changed = false;
    try {
      const r = tlsa.refresh();
      logEvents(r.events);
      changed = r.changed.size > 0;
      if (changed) logger.info('tlsa-changed', { zones: [...r.changed], reason });
    } catch (e) {
      logger.error('tlsa-refresh-failed', { error: String(e), keeping: 'the published TLSA' });
    }
    try {
      watcher.setPaths(tlsa.paths());
    } catch (e) {
      logger.error('tlsa-watch-failed', { error: String(e), note: 'files are still re-read every minute' });
    }
    if (tlsaTimer) clearTimeout(tlsaTimer);
    tlsaTimer = null;
    if (!closed && tlsa.paths().length > 0) {
      const nowMs = (opts.now ?? Date.now)();
      const withdraw = tlsa.nextWithdrawal();
      const delay = withdraw === undefined ? TLSA_POLL_MS : Math.min(TLSA_POLL_MS, Math.max(withdraw - nowMs + 1, 0));
      tlsaTimer = setTimeout(() => tlsaTick('poll'), delay);
      tlsaTimer.unref();
    }
    return changed;
  };
  const tlsaTick = (reason: string): void => {
    if (closed) return;
    if (refreshTlsa(reason)) snapshot = rebuild();
  };
  configureTlsa();
  refreshTlsa('start');
  // The first signing signs everything: on the thread pool, several signatures at a time. Nothing is served
  // before it is done, so nothing else runs meanwhile.
  let snapshot: Snapshot = snapshotOf(await signer.secureAsync(servedZones()));
  const answer = createHandler(() => snapshot);
  // Counting costs a header scan per response: only when someone can read the counters.
  const counted = opts.http ? metrics.wrap(answer) : answer;
  const handler: Handler = opts.logQueries ? logEachQuery(counted, logger) : counted;
  const listeners: Listener[] = [];
  const engine = opts.udpEngine ?? 'auto';
  const useBatch = engine === 'batch' || (engine === 'auto' && udpBatchAvailable());
  if (engine === 'auto' && !useBatch)
    logger.warn('udp-engine', {
      engine: 'dgram',
      reason: 'native batched UDP addon not built (npm run build needs python3, make, g++)',
    });
  const onError = (err: unknown): void => logger.error('handler-error', { error: String(err) });
  try {
    for (const spec of opts.listen) {
      const { host, port } = parseListen(spec);
      const udp = useBatch
        ? await listenUdpBatch({ host, port, handler, onError })
        : await listenUdp({ host, port, handler, onError });
      listeners.push(udp);
      // TCP on the port UDP got (port 0 picks one for both).
      listeners.push(await listenTcp({ host, port: udp.address.port, handler, onError }));
      logger.info('listening', {
        host,
        port: udp.address.port,
        transports: ['udp', 'tcp'],
        udpEngine: useBatch ? 'batch' : 'dgram',
      });
    }
  } catch (e) {
    // Release everything started above (the certificate watcher would keep the process alive after the error).
    closed = true;
    if (refreshTimer) clearTimeout(refreshTimer);
    if (tlsaTimer) clearTimeout(tlsaTimer);
    await watcher.close();
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }

  /**
   * Re-reads the zones directory: new, changed and removed files (an unchanged file, by inode, size and times, is
   * not parsed again, so only the zone that changed is rebuilt and re-signed). A file that fails to load is logged
   * with file:line: reason and its last good version keeps serving.
   */
  const reloadZones = (reason: string): void => {
    if (closed) return;
    const seen = new Set<string>();
    let files: string[];
    try {
      files = listZoneFiles(opts.zonesDir);
    } catch (e) {
      logger.error('reload-failed', {
        dir: opts.zonesDir,
        error: (e as Error).message,
        keeping: 'every zone as it was',
      });
      return;
    }
    for (const file of files) {
      seen.add(file);
      const have = byFile.get(file);
      if (have && have.stamp !== '' && have.stamp === fileStamp(file)) continue;
      try {
        const lf = loadOne(file);
        const clash = sameOrigin(byFile, file, lf.plain);
        if (clash) throw new ZoneError([clash]);
        if (byFile.get(file)?.plain.contentHash !== lf.plain.contentHash) loaded(lf.plain);
        byFile.set(file, lf);
        failing.delete(file);
      } catch (e) {
        const reasons = e instanceof ZoneError ? e.problems.map(formatProblem) : [String(e)];
        failing.set(file, reasons);
        metrics.reloadFailures++;
        logger.error('zone-load-failed', {
          file: basename(file),
          problems: reasons,
          keeping: byFile.has(file) ? 'last good version' : 'nothing',
        });
      }
    }
    for (const file of [...failing.keys()]) if (!seen.has(file)) failing.delete(file);
    for (const file of [...byFile.keys()])
      if (!seen.has(file)) {
        logger.info('zone-removed', { file: basename(file) });
        byFile.delete(file);
      }
    configureTlsa();
    refreshTlsa('reload');
    snapshot = rebuild();
    logger.debug('zones-reloaded', { reason });
  };
  const zoneWatcher = new FileWatcher((reason) => reloadZones(reason), ZONES_DEBOUNCE_MS);
  try {
    zoneWatcher.setDirectories([opts.zonesDir]);
  } catch (e) {
    logger.error('zones-watch-failed', {
      dir: opts.zonesDir,
      error: String(e),
      note: 'zone files are reloaded on SIGHUP only',
    });
  }

  // Key files: a rollover (`dane-ns keys rollover`) or a restored key is picked up without a restart.
  const keysWatcher = new FileWatcher((reason) => {
    if (closed) return;
    signer.keysChanged();
    snapshot = rebuild();
    logger.debug('keys-reread', { reason });
  }, ZONES_DEBOUNCE_MS);
  try {
    keysWatcher.setDirectories([opts.keysDir]);
  } catch (e) {
    logger.error('keys-watch-failed', {
      dir: opts.keysDir,
      error: String(e),
      note: 'key files are re-read on SIGHUP and when a zone changes',
    });
  }

  /** /healthz: every zone loaded, signed (when DNSSEC is on) and its signatures fresh. */
  const health = (): { ok: boolean; reasons: string[] } => {
    const reasons: string[] = [];
    for (const [file, problems] of failing)
      reasons.push(
        `zone file ${basename(file)} does not load (serving ${byFile.has(file) ? 'its last good version' : 'nothing'}): ${problems[0]}`,
      );
    const nowSec = Math.floor((opts.now ?? Date.now)() / 1000);
    for (const lf of byFile.values()) {
      const z = lf.plain;
      const name = nameToText(z.origin);
      const st = signer.status.get(z.origin.key);
      if (!z.dnssec.enabled) continue;
      if (!st || st.state !== 'signed') {
        reasons.push(`zone ${name} is not signed: ${st?.state ?? 'not built'}${st?.reason ? ` (${st.reason})` : ''}`);
        continue;
      }
      const signed = signer.signed(z.origin.key);
      if (signed && signed.earliestExpiration - nowSec < z.dnssec.refreshBefore / 2)
        reasons.push(
          `zone ${name}: signatures expire in ${Math.round((signed.earliestExpiration - nowSec) / 3600)} h and were not refreshed`,
        );
    }
    return { ok: reasons.length === 0, reasons };
  };
  const scrape = (): string => {
    const zones = [...snapshot.zones.zones()].map((z) => {
      const signed = signer.signed(z.origin.key);
      const st = signer.status.get(z.origin.key);
      return {
        zone: nameToText(z.origin),
        serial: soaSerial(z.soa.rdatas[0]!),
        ...(signed && st?.state === 'signed' ? { earliestExpiration: signed.earliestExpiration } : {}),
        ...(st?.signMs !== undefined ? { signMs: st.signMs } : {}),
      };
    });
    const certs = tlsa.health().map((h) => ({
      zone: h.zone,
      host: h.host,
      role: h.role,
      path: h.path,
      status: h.status,
      ...(h.notAfter !== undefined ? { notAfter: h.notAfter } : {}),
    }));
    return metrics.render(zones, certs, (opts.now ?? Date.now)());
  };
  let httpListener: Listener | null = null;
  /** Stops everything started: timers, watchers and sockets (also when start-up fails half way). */
  const shutdown = async (): Promise<void> => {
    closed = true;
    if (refreshTimer) clearTimeout(refreshTimer);
    if (tlsaTimer) clearTimeout(tlsaTimer);
    await watcher.close();
    await zoneWatcher.close();
    await keysWatcher.close();
    await httpListener?.close();
    await Promise.all(listeners.map((l) => l.close()));
  };
  if (opts.http) {
    const { host, port } = parseListen(opts.http);
    try {
      httpListener = await listenHttp(host, port, { health, metrics: scrape }, onError);
    } catch (e) {
      await shutdown();
      throw e;
    }
    logger.info('listening', {
      host,
      port: httpListener.address.port,
      transports: ['http'],
      paths: ['/healthz', '/metrics'],
    });
  }

  return {
    ...(httpListener ? { httpAddress: httpListener.address } : {}),
    addresses: listeners.filter((_, i) => i % 2 === 0).map((l) => l.address),
    reload(): void {
      signer.keysChanged();
      reloadZones('reload');
    },
    close: shutdown,
  };
}
