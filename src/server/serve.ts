/**
 * The running server: loads the zones directory into an immutable snapshot, listens on UDP and TCP for every
 * configured address, and swaps in a new snapshot on reload. A zone file that fails to load on reload is
 * reported (file:line: reason) and its last good version keeps serving.
 */
import { basename } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Logger } from '../log.js';
import { ZoneError, formatProblem, type ZoneProblem } from '../zone/errors.js';
import { listZoneFiles, loadZoneFile } from '../zone/files.js';
import { ZoneSet } from '../zone/set.js';
import type { Zone } from '../zone/zone.js';
import { nameToText } from '../wire/name.js';
import { soaSerial } from '../zone/build.js';
import { SerialStore } from '../state/serials.js';
import { createHandler, makeSnapshot, type Snapshot } from './handler.js';
import { ZoneSigner, type Secured } from './signer.js';
import { listenUdp } from './udp.js';
import { listenUdpBatch, udpBatchAvailable } from './udp-batch.js';
import { listenTcp } from './tcp.js';
import type { Listener } from './transport.js';

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
}

/** Longest sleep between signature refresh checks, so a changed clock or a long validity is never missed. */
const REFRESH_CHECK_MS = 3600_000;

export interface RunningServer {
  readonly addresses: readonly { host: string; port: number }[];
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

/** A problem when another file already serves the origin of `z` (two files must not fight over one zone). */
function sameOrigin(byFile: ReadonlyMap<string, Zone>, file: string, z: Zone): ZoneProblem | null {
  for (const [other, oz] of byFile)
    if (other !== file && oz.origin.key === z.origin.key)
      return { file, line: 1, reason: `zone ${nameToText(z.origin)} is already served from ${basename(other)}` };
  return null;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { logger } = opts;
  mkdirSync(opts.stateDir, { recursive: true });
  const serials = new SerialStore(opts.stateDir);
  const autoSerial = (origin: string, hash: string): number => serials.serialFor(origin, hash);

  /** Last good zone per file. */
  const byFile = new Map<string, Zone>();
  const problems: ZoneProblem[] = [];
  for (const file of listZoneFiles(opts.zonesDir)) {
    try {
      const z = loadZoneFile(file, autoSerial);
      const clash = sameOrigin(byFile, file, z);
      if (clash) problems.push(clash);
      else byFile.set(file, z);
    } catch (e) {
      if (e instanceof ZoneError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length > 0) throw new ZoneError(problems);
  const loaded = (z: Zone): void =>
    logger.info('zone-loaded', { zone: nameToText(z.origin), file: basename(z.file), serial: soaSerial(z.soa.rdatas[0]!), names: z.nodes.size });
  for (const z of byFile.values()) loaded(z);

  const signer = new ZoneSigner(opts.keysDir, opts.stateDir, logger, opts.now);
  /** Builds the snapshot from the last good zones: signs what is signed, then one swap. */
  const rebuild = (): Snapshot => snapshotOf(signer.secure(byFile.values()));
  const snapshotOf = (s: Secured): Snapshot => {
    scheduleRefresh(s.nextDue);
    return makeSnapshot(new ZoneSet(s.zones), s.security);
  };
  // Signatures are refreshed by a timer, well before they expire (design.md "Signatures over time").
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
  // The first signing signs everything: on the thread pool, several signatures at a time. Nothing is served
  // before it is done, so nothing else runs meanwhile.
  let snapshot: Snapshot = snapshotOf(await signer.secureAsync(byFile.values()));
  const handler = createHandler(() => snapshot);
  const listeners: Listener[] = [];
  const engine = opts.udpEngine ?? 'auto';
  const useBatch = engine === 'batch' || (engine === 'auto' && udpBatchAvailable());
  if (engine === 'auto' && !useBatch)
    logger.warn('udp-engine', { engine: 'dgram', reason: 'native batched UDP addon not built (npm run build needs python3, make, g++)' });
  const onError = (err: unknown): void => logger.error('handler-error', { error: String(err) });
  try {
    for (const spec of opts.listen) {
      const { host, port } = parseListen(spec);
      const udp = useBatch ? await listenUdpBatch({ host, port, handler, onError }) : await listenUdp({ host, port, handler, onError });
      listeners.push(udp);
      // TCP on the port UDP got (port 0 picks one for both).
      listeners.push(await listenTcp({ host, port: udp.address.port, handler, onError }));
      logger.info('listening', { host, port: udp.address.port, transports: ['udp', 'tcp'], udpEngine: useBatch ? 'batch' : 'dgram' });
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }

  return {
    addresses: listeners.filter((_, i) => i % 2 === 0).map((l) => l.address),
    reload(): void {
      const seen = new Set<string>();
      let files: string[];
      try {
        files = listZoneFiles(opts.zonesDir);
      } catch (e) {
        logger.error('reload-failed', { dir: opts.zonesDir, error: (e as Error).message, keeping: 'every zone as it was' });
        return;
      }
      for (const file of files) {
        seen.add(file);
        try {
          const z = loadZoneFile(file, autoSerial);
          const clash = sameOrigin(byFile, file, z);
          if (clash) throw new ZoneError([clash]);
          if (byFile.get(file)?.contentHash !== z.contentHash) loaded(z);
          byFile.set(file, z);
        } catch (e) {
          const reasons = e instanceof ZoneError ? e.problems.map(formatProblem) : [String(e)];
          logger.error('zone-load-failed', { file: basename(file), problems: reasons, keeping: byFile.has(file) ? 'last good version' : 'nothing' });
        }
      }
      for (const file of [...byFile.keys()]) if (!seen.has(file)) {
        logger.info('zone-removed', { file: basename(file) });
        byFile.delete(file);
      }
      snapshot = rebuild();
    },
    async close(): Promise<void> {
      if (refreshTimer) clearTimeout(refreshTimer);
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
