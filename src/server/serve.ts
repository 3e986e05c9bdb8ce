/**
 * The running server, wired from units with one job each: the zones directory (zone-files.ts), the zone each
 * file serves (served-zones.ts), the certificate-driven TLSA loop (tlsa-loop.ts), signing (signer.ts), the one
 * publish path (publisher.ts), the signature refresh timer (refresh-timer.ts), the sockets (listeners.ts), the
 * HTTP status (status.ts) and the one shutdown (shutdown.ts). A zone file that fails to load on reload is
 * reported (file:line: reason) and its last good version keeps serving. TSIG (RFC 8945) is checked on every
 * query against the keyring of the keys directory (tsig-keyring.ts, tsig-query.ts); AXFR over TCP is
 * transfer.ts; NOTIFY to the secondaries of `transfer.notify` after each publish (RFC 1996) is notify.ts. The
 * secondaries' addresses (secondaries.ts) may use a reserve of TCP connections beyond the cap (tcp-admission.ts).
 * The control socket in the state directory (control.ts, control-lock.ts, control-status.ts) is taken first: it
 * keeps a second server off the same state directory and answers `dane-ns status`, `reload` and `zone list`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TSIG_DIR } from '../dnssec/tsigkey.js';
import { removeInterruptedWrites } from '../state/atomic.js';
import type { Logger } from '../log.js';
import { SerialStore } from '../state/serials.js';
import { RolloverStore } from '../state/rollover.js';
import { TlsaManager } from '../tlsa/manager.js';
import { nodeTimers } from './clock.js';
import { watchDirectory } from './dir-watch.js';
import { ParentWatch } from './parent-watch.js';
import { createHandler } from './handler.js';
import { listenDns, listenOperator } from './listeners.js';
import { Metrics } from './metrics.js';
import { NotifySender } from './notify.js';
import { NotifySocket } from './notify-socket.js';
import { Journal } from './journal.js';
import { fileJournalStore } from './journal-store.js';
import { Publisher, type PublishReason } from './publisher.js';
import { logEachQuery } from './query-log.js';
import { RefreshTimer } from './refresh-timer.js';
import { SecondaryAddresses } from './secondaries.js';
import { SerialAssigner } from './serials.js';
import { SIGNATURES_DIR, signaturesFile } from '../dnssec/sigstore.js';
import { parseName } from '../wire/name.js';
import { StateFaults } from './state-faults.js';
import { ServedZones } from './served-zones.js';
import { Shutdown } from './shutdown.js';
import { ZoneSigner, type Secured } from './signer.js';
import { health, scrape } from './status.js';
import { serveControl, type ControlCommands } from './control.js';
import { ControlSocketUnavailable, lockStateDirectory } from './control-lock.js';
import { controlCommands } from './control-status.js';
import { TlsaLoop } from './tlsa-loop.js';
import { createTransfers, withUdpIxfr } from './transfer.js';
import { ServerKeyring } from './tsig-keyring.js';
import { withTsig } from './tsig-query.js';
import { ZoneFiles } from './zone-files.js';

export { parseListen } from './listeners.js';

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
  /** Milliseconds between NOTIFY tries (notify.ts NOTIFY_RETRY_MS by default; tests shorten it). */
  readonly notifyRetryMs?: readonly number[];
  /** Log one line per answered query (off by default: it costs a message decode per query). */
  readonly logQueries?: boolean;
  /** The version `dane-ns status` reports (package.json's, given by the command line). */
  readonly version?: string;
}

export interface RunningServer {
  readonly addresses: readonly { host: string; port: number }[];
  /** The HTTP endpoint's address, when one was asked for. */
  readonly httpAddress?: { host: string; port: number };
  reload(): void;
  close(): Promise<void>;
}

/**
 * Starts the server once it holds its state directory (control-lock.ts; throws, writing nothing, when another
 * server does). The control socket answers `starting` until the zones are served and the listeners bound.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  mkdirSync(opts.stateDir, { recursive: true });
  const lock = await lockStateDirectory(opts.stateDir).catch((e: unknown) => {
    if (!(e instanceof ControlSocketUnavailable)) throw e;
    // Loud, but what is served does not depend on it (a read-only state directory still serves).
    opts.logger.error('control-socket-failed', {
      error: e.message,
      note: 'status, reload and zone list will not work',
    });
    return { server: undefined, release: () => Promise.resolve() };
  });
  let commands: ControlCommands | undefined;
  if (lock.server) serveControl(lock.server, () => commands);
  try {
    return await startLocked(opts, lock.release, (c) => (commands = c));
  } catch (e) {
    await lock.release();
    throw e;
  }
}

async function startLocked(
  opts: ServeOptions,
  releaseLock: () => Promise<void>,
  ready: (commands: ControlCommands) => void,
): Promise<RunningServer> {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const startedAt = now();
  clearInterruptedWrites(
    [opts.keysDir, join(opts.keysDir, TSIG_DIR), opts.stateDir, join(opts.stateDir, SIGNATURES_DIR)],
    logger,
  );
  const serials = new SerialStore(opts.stateDir);
  const shutdown = new Shutdown();
  shutdown.add(releaseLock); // closed last: the state directory is held until everything else has stopped
  // The state directory's failures: loud (log, /healthz, /metrics) and retried, never a change of what is served.
  const faults = new StateFaults(logger, nodeTimers);
  shutdown.add(() => faults.close());
  if (serials.problem) faults.fail('serials', serials.file, `read: ${serials.problem}`, () => serials.flush());
  const autoSerial = (origin: string, hash: string): number => serials.serialFor(origin, hash);
  const metrics = new Metrics();
  // TSIG keys first: a zone whose transfer.allow names a key without a key file does not load.
  const keyring = new ServerKeyring(opts.keysDir, logger);
  const files = new ZoneFiles({
    dir: opts.zonesDir,
    logger,
    autoSerial,
    onLoadFailed: () => metrics.reloadFailures++,
    check: (zone) => keyring.missingKeys(zone),
  });
  files.loadAll(); // a zone that does not load stops the start before anything runs

  const signer = new ZoneSigner(opts.keysDir, opts.stateDir, logger, opts.now);
  // The parent's DS: checked at start, after key events and periodically; ends rollovers the parent has followed,
  // and lets a zone going insecure be served unsigned once the parent has dropped the DS.
  const parentDs = new ParentWatch({
    keysDir: opts.keysDir,
    stateDir: opts.stateDir,
    logger,
    metrics,
    now,
    onInsecure: () => rebuild('keys'),
  });
  signer.insecureReady = (k) => parentDs.insecureReady(k);
  shutdown.add(() => parentDs.close());
  // Every new version gets its serial as it is published, recorded (with the signatures) before it is served.
  const assigner = new SerialAssigner(serials, signer, now, (file, origin, write) => {
    if (file === 'serials') faults.attempt('serials', serials.file, write, () => serials.flush());
    else faults.attempt('signed', signaturesFile(opts.stateDir, parseName(origin)), write);
  });
  const publisher = new Publisher(
    now,
    (e) => logger.error('publish-listener-failed', { error: String(e) }),
    (zone, signed) => assigner.assign(zone, signed),
  );
  publisher.onPublished({
    published(v, reason) {
      logger.info('zone-published', { zone: v.origin, serial: v.serial, reason });
      metrics.setZoneSerial(v.origin, v.serial);
    },
    withdrawn: (origin) => metrics.removeZone(origin),
  });
  // NOTIFY (RFC 1996) after each publish: the new version is served before the secondaries hear of it.
  const notifySocket = new NotifySocket((m, address, port) => notify.receive(m, address, port), logger);
  const notify = new NotifySender({
    endpoint: notifySocket,
    lookup: keyring.lookup,
    logger,
    now,
    timers: nodeTimers,
    ...(opts.notifyRetryMs ? { retryMs: opts.notifyRetryMs } : {}),
    onSent: (zone) => metrics.countNotifySent(zone),
    onFailed: (zone) => metrics.countNotifyFailed(zone),
    onAcked: (zone) => metrics.countNotifyAcked(zone),
  });
  shutdown.add(() => notifySocket.close());
  shutdown.add(() => notify.close());
  // RFC 1995 §4: the differences between served versions, for IXFR.
  const journal = new Journal(
    fileJournalStore(opts.stateDir, logger, (path, write) => faults.attempt('journal', path, write)),
  );
  publisher.onPublished(journal);
  // Signatures are refreshed by a timer, well before they expire; each refresh publishes what it re-signed.
  const refresh = new RefreshTimer(() => rebuild('refresh'), now, nodeTimers);
  shutdown.add(() => refresh.close());
  // Certificates: watched, polled, and re-read; a changed published TLSA set makes a new snapshot.
  const rollover = new RolloverStore(opts.stateDir);
  const tlsaManager = new TlsaManager(rollover, opts.now);
  const tlsa = new TlsaLoop({
    sources: tlsaManager,
    onSaved: (error) =>
      error === undefined
        ? faults.clear(rollover.file)
        : faults.fail('tlsa', rollover.file, error instanceof Error ? error.message : String(error), () =>
            tlsaManager.persist(),
          ),
    logger,
    now,
    timers: nodeTimers,
    onChanged: () => rebuild('tlsa'),
    onSourceError: () => metrics.certReadFailures++,
    onColdRollover: (host) => metrics.countColdRollover(host),
  });
  shutdown.add(() => tlsa.close());
  const served = new ServedZones({ logger, setsFor: (zone) => tlsa.setsFor(zone), autoSerial });
  // The secondaries' addresses, which may use the TCP listeners' reserve of connections: those of the zone
  // files loaded now, taken again on every rebuild (so a reload that adds or removes one is followed).
  const secondaries = new SecondaryAddresses();
  const takeSecondaries = (): void => secondaries.update([...files.loaded.values()].map((f) => f.plain));

  /** Every new snapshot comes this way: published, then the refresh timer armed for its first due signature. */
  const publish = (secured: Secured, reason: PublishReason): void => {
    publisher.publish(secured, reason);
    refresh.schedule(Math.min(secured.nextDue, publisher.nextDue()));
    parentDs.update(secured.zones);
  };
  /** Signs what changed or is due (synchronously: only the first signing is a big one) and publishes it. */
  const rebuild = (reason: PublishReason): void => {
    if (shutdown.closed) return;
    takeSecondaries();
    const secured = signer.secure(served.zones(files.loaded));
    try {
      publish(secured, reason);
    } catch (e) {
      // The serial or the signatures could not be recorded: the last snapshot keeps serving; retried by the timer.
      logger.error('publish-failed', { reason, error: String(e), serving: 'the last published version' });
      refresh.schedule(Math.floor(now() / 1000) + 60);
    }
  };
  /** Re-reads the zones directory, then the certificates of the hosts it now names, then publishes. */
  const reloadZones = (reason: string): void => {
    if (shutdown.closed || !files.reload()) return;
    tlsa.configure(files.loaded);
    tlsa.refresh('reload');
    rebuild('reload');
    logger.debug('zones-reloaded', { reason });
  };

  try {
    tlsa.configure(files.loaded);
    tlsa.refresh('start');
    takeSecondaries();
    // The first signing signs everything: on the thread pool, several signatures at a time. Nothing is served
    // before it is done, so nothing else runs meanwhile.
    publish(await signer.secureAsync(served.zones(files.loaded)), 'start');
    const current = (): ReturnType<typeof publisher.current> => publisher.current();
    const onCount = opts.http ? metrics.countTransfer.bind(metrics) : undefined;
    const xfr = { current, lookup: keyring.lookup, logger, now, journal, ...(onCount ? { onCount } : {}) };
    const answer = withUdpIxfr(withTsig(createHandler(current), keyring.lookup, now), xfr);
    const transfers = createTransfers(xfr);
    const stream = opts.http ? metrics.wrapStream(transfers) : transfers;
    // Counting costs a header scan per response: only when someone can read the counters.
    const counted = opts.http ? metrics.wrap(answer) : answer;
    const handler = opts.logQueries ? logEachQuery(counted, logger) : counted;
    const udpEngine = opts.udpEngine ?? 'auto';
    const secondary = (address: string): boolean => secondaries.has(address);
    const addresses = await listenDns({ listen: opts.listen, udpEngine, handler, stream, secondary, logger, shutdown });
    // The secondaries are told once the versions are answered over the sockets too: from now on, on every
    // publish, and now of what the start published.
    publisher.onPublished(notify);
    for (const v of publisher.served().values()) notify.published(v);

    const ctx = { logger, shutdown };
    watchDirectory(opts.zonesDir, reloadZones, ctx, 'zones-watch-failed', 'zone files are reloaded on SIGHUP only');
    // Key files: a rollover (`dane-ns keys rollover`) or a restored key is picked up without a restart.
    // The TSIG keys live one level down (<keys>/tsig), which the keys directory's watch does not see into: that
    // directory gets a watch of its own as soon as it exists.
    let tsigWatched = false;
    const watchTsig = (): void => {
      if (tsigWatched || !existsSync(join(opts.keysDir, TSIG_DIR))) return;
      tsigWatched = true;
      watchDirectory(join(opts.keysDir, TSIG_DIR), keysChanged, ctx, 'keys-watch-failed', keysNote);
    };
    const keysChanged = (reason: string): void => {
      watchTsig();
      signer.keysChanged();
      keyring.reload(reason);
      // A zone that failed for want of a TSIG key file loads once the file is there.
      if (files.failing.size > 0) files.reload();
      rebuild('keys');
      logger.debug('keys-reread', { reason });
    };
    const keysNote = 'key files are re-read on SIGHUP and when a zone changes';
    watchDirectory(opts.keysDir, keysChanged, ctx, 'keys-watch-failed', keysNote);
    watchTsig();

    const status = {
      files,
      signer,
      metrics,
      now,
      journal,
      served: () => publisher.served(),
      certificates: () => tlsa.health(),
      state: faults,
      parentDs,
    };
    const routes = { health: () => health(status), metrics: () => scrape(status) };
    const httpAddress = opts.http ? await listenOperator(opts.http, routes, logger, shutdown) : undefined;
    const reload = (): void => {
      signer.keysChanged();
      keyring.reload('reload');
      reloadZones('reload');
    };
    const hostText = (a: { host: string; port: number }): string =>
      a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
    ready(
      controlCommands({
        files,
        signer,
        served: () => publisher.served(),
        certificates: () => tlsa.health(),
        tlsaState: (zone, host) => tlsaManager.state(zone, host),
        reload,
        now,
        startedAt,
        version: opts.version ?? 'unknown',
        listen: addresses.map(hostText),
        ...(httpAddress ? { http: hostText(httpAddress) } : {}),
      }),
    );
    return {
      ...(httpAddress ? { httpAddress } : {}),
      addresses,
      reload,
      close: () => shutdown.close(),
    };
  } catch (e) {
    // Release everything started so far (a watcher or timer would keep the process alive after the error).
    await shutdown.close();
    throw e;
  }
}

/**
 * Temporary files left by atomic writes that were killed before their rename (state/atomic.ts) are removed at
 * start, one log line each: in the keys directories they may hold private keys, and nothing else removes them.
 */
function clearInterruptedWrites(dirs: readonly string[], logger: Logger): void {
  for (const dir of dirs) {
    const { removed, failed } = removeInterruptedWrites(dir);
    for (const file of removed) logger.info('interrupted-write-removed', { file });
    for (const f of failed) logger.warn('interrupted-write-not-removed', { file: f.path, error: f.error });
  }
}
