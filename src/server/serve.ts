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
 * The listen addresses are bound next, before anything is written (starting.ts answers until the zones serve).
 * With `catalog`, the catalog zone of the zones with `transfer:` (RFC 9432, catalog.ts) is served beside them.
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
import { COOKIE_SECRET_FILE, CookieSecrets } from './cookie-secret.js';
import { CATALOG_GRACE_DEFAULT, ServerCatalog, withCatalogAcl } from './catalog.js';
import { withGuard, type GuardOptions } from './guard.js';
import { ParentWatch } from './parent-watch.js';
import type { ParentServer } from '../zone/settings.js';
import type { Zone } from '../zone/zone.js';
import { createHandler, type ResponseNote } from './handler.js';
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
import { SliceQueue, SLICE_MS } from './slices.js';
import { SIGNATURES_DIR, signaturesFile } from '../dnssec/sigstore.js';
import { nameToText, parseName, ROOT, type Name } from '../wire/name.js';
import { StateFaults } from './state-faults.js';
import { ServedZones } from './served-zones.js';
import { held, StartingGate } from './starting.js';
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
import { DYNAMIC_DIR, dynamicFile, DynamicStore } from '../state/dynamic.js';
import { DynamicZones } from './dynamic-zones.js';
import { createUpdater, withUpdates } from './update.js';
import { SecondaryWatch } from './watch.js';
import { RolloverHold } from './rollover-hold.js';
import { WatchPoller } from './watch-poll.js';

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
  /** The server cookie secret shared with other servers (16 octets, cookie-secret.ts); absent: our own. */
  readonly cookieSecret?: Uint8Array;
  /** TCP connections one client address may hold (0: no limit; default in tcp-admission.ts). */
  readonly tcpPerSource?: number;
  /** The version `dane-ns status` reports (package.json's, given by the command line). */
  readonly version?: string;
  /** Only these sources are answered, REFUSED to the rest (guard.ts); absent: everyone. */
  readonly allowQuery?: GuardOptions['allowQuery'];
  /** Response rate limiting over UDP (rrl.ts) and its exempt sources; absent: off. */
  readonly rrl?: GuardOptions['rrl'];
  /** Seconds a watched server may stay behind before /healthz fails (watch.ts; default 300). */
  readonly secondaryLag?: number;
  /** The recursive resolver that finds a zone's parent name servers (parent-watch.ts); default resolv.conf's. */
  readonly resolver?: ParentServer | 'none';
  /** Milliseconds between questions to a watched server that is behind (watch-poll.ts WATCH_FAST_MS by default). */
  readonly watchFastMs?: number;
  /** The name of the catalog zone (RFC 9432) to serve of the zones with `transfer:` (catalog.ts); absent: none. */
  readonly catalog?: string;
  /** Seconds a zone gone from the zones directory stays in the catalog (CATALOG_GRACE_DEFAULT by default). */
  readonly catalogGrace?: number;
}

/** /healthz fails when a watched server stays behind longer than this (`serve --secondary-lag`). */
export const SECONDARY_LAG_DEFAULT = 300;

export interface RunningServer {
  readonly addresses: readonly { host: string; port: number }[];
  /** The HTTP endpoint's address, when one was asked for. */
  readonly httpAddress?: { host: string; port: number };
  reload(): void;
  close(): Promise<void>;
}

/**
 * Starts the server once it holds its state directory (control-lock.ts; throws, writing nothing, when another
 * server does) and its sockets (throws, writing nothing, when an address cannot be bound). The control socket
 * answers `starting`, and the DNS sockets SERVFAIL (starting.ts), until the zones are served.
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
  const shutdown = new Shutdown();
  shutdown.add(releaseLock); // closed last: the state directory is held until everything else has stopped
  // The sockets first (starting.ts): a port that cannot be had stops the start before anything is written to
  // the state or keys directory; until the zones are served they answer SERVFAIL and /healthz `starting`.
  const gate = new StartingGate();
  // The secondaries' addresses, which may use the TCP listeners' reserve of connections: those of the zone
  // files loaded, taken again on every rebuild (so a reload that adds or removes one is followed).
  const secondaries = new SecondaryAddresses();
  const socketLog = held(logger);
  try {
    const addresses = await listenDns({
      listen: opts.listen,
      udpEngine: opts.udpEngine ?? 'auto',
      handler: gate.handle,
      stream: gate.stream,
      secondary: (address) => secondaries.has(address),
      logger: socketLog.logger,
      shutdown,
      ...(opts.tcpPerSource !== undefined ? { tcpPerSource: opts.tcpPerSource } : {}),
    });
    const httpAddress = opts.http ? await listenOperator(opts.http, gate.http, socketLog.logger, shutdown) : undefined;
    const bound = { shutdown, gate, secondaries, addresses, httpAddress, startedAt, release: socketLog.release };
    return await startZones(opts, bound, ready);
  } catch (e) {
    // Release everything started so far (a watcher or timer would keep the process alive after the error).
    await shutdown.close();
    throw e;
  }
}

/** What startLocked holds before the zones are read: the sockets and the shutdown that closes them. */
interface Bound {
  readonly shutdown: Shutdown;
  readonly gate: StartingGate;
  readonly secondaries: SecondaryAddresses;
  readonly addresses: readonly { host: string; port: number }[];
  readonly httpAddress: { host: string; port: number } | undefined;
  readonly startedAt: number;
  /** Lets the sockets' `listening` log lines out. */
  readonly release: () => void;
}

/** Loads, keys and signs the zones behind the bound sockets, then opens the gate. */
async function startZones(
  opts: ServeOptions,
  bound: Bound,
  ready: (commands: ControlCommands) => void,
): Promise<RunningServer> {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const { shutdown, gate, secondaries, addresses, httpAddress, startedAt, release } = bound;
  clearInterruptedWrites(
    [
      opts.keysDir,
      join(opts.keysDir, TSIG_DIR),
      opts.stateDir,
      join(opts.stateDir, SIGNATURES_DIR),
      join(opts.stateDir, DYNAMIC_DIR),
    ],
    logger,
  );
  const serials = new SerialStore(opts.stateDir);
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
  // A zone that does not load stops the start before anything runs. Read and built in slices, so that the
  // bound sockets answer SERVFAIL meanwhile (and the parse of a large unusual file goes to a worker thread).
  let loadError: unknown;
  const loading = new SliceQueue((e) => (loadError = e), SLICE_MS);
  loading.add(files.loadAllSteps());
  await loading.settled();
  if (loadError !== undefined) throw loadError;
  // Nothing to serve is an operator's mistake (a wrong --zones, an empty volume): said, not served silently.
  if (files.loaded.size === 0)
    throw new Error(`no zone to serve: ${opts.zonesDir} has no zone files (<zone>.yaml or <zone>.yml)`);

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
    persist: (path, write) => faults.attempt('parent-ds', path, write),
    ...(opts.resolver !== undefined ? { resolver: opts.resolver } : {}),
  });
  signer.insecureReady = (k) => parentDs.insecureReady(k);
  signer.stateFile = (kind, file, problem, retry) =>
    problem === undefined ? faults.clear(file) : faults.fail(kind, file, problem, retry);
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
  metrics.responseCache = () => ({ ...publisher.cacheStats, entries: publisher.current().cache.size });
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
  // Computed in slices after each publish (journal-diff.ts): queries are answered meanwhile.
  const journal = new Journal(
    fileJournalStore(
      opts.stateDir,
      logger,
      (path, write) => faults.attempt('journal', path, write),
      (path, reason) => faults.fail('journal', path, reason),
    ),
    { sliceMs: SLICE_MS, onError: (zone, e) => logger.error('ixfr-journal-failed', { zone, error: String(e) }) },
  );
  publisher.onPublished(journal);
  // Signatures are refreshed by a timer, well before they expire; each refresh publishes what it re-signed.
  const refresh = new RefreshTimer(() => rebuild('refresh'), now, nodeTimers);
  shutdown.add(() => refresh.close());
  // Certificates: watched, polled, and re-read; a changed published TLSA set makes a new snapshot.
  const rollover = new RolloverStore(opts.stateDir);
  // The watched servers (transfer.notify and transfer.check): TLSA timing counts from the last of them.
  const watch = new SecondaryWatch();
  // Key rollover steps wait for the last watched server too: postponed in the key files before signing.
  const secondaryLag = opts.secondaryLag ?? SECONDARY_LAG_DEFAULT;
  const hold = new RolloverHold({ keysDir: opts.keysDir, logger, now, watch, secondaryLag });
  publisher.onPublished(hold);
  /** The zones to sign, after the rollover steps that wait for the watched servers are postponed. */
  const held = (): Zone[] => {
    const zones = servedNow();
    if (hold.hold(zones)) signer.keysChanged();
    return zones;
  };
  const tlsaManager = new TlsaManager(rollover, opts.now, watch);
  if (tlsaManager.problem) faults.fail('tlsa', rollover.file, `read: ${tlsaManager.problem}`);
  const tlsa = new TlsaLoop({
    sources: tlsaManager,
    onSaved: (error) =>
      error === undefined
        ? faults.clear(rollover.file)
        : faults.fail('tlsa', rollover.file, error instanceof Error ? error.message : String(error), () => {
            if (tlsaManager.persist()) rebuild('tlsa'); // a history read again may add retired records
          }),
    logger,
    now,
    timers: nodeTimers,
    onChanged: () => rebuild('tlsa'),
    onSourceError: () => metrics.certReadFailures++,
    onColdRollover: (host) => metrics.countColdRollover(host),
    onNotPropagated: (host) => metrics.countNotPropagated(host),
  });
  shutdown.add(() => tlsa.close());
  // RFC 2136 dynamic update: its records live in the state directory and are merged into the zones served.
  const dynamicStore = new DynamicStore(opts.stateDir);
  const dynamic = new DynamicZones(dynamicStore, logger, autoSerial, (origin, problem) => {
    const file = dynamicFile(opts.stateDir, origin);
    if (problem === undefined) faults.clear(file);
    // Retried by reading it and writing it again; once that works, the zone is built with its records.
    else
      faults.fail('dynamic', file, problem, () => {
        dynamicStore.save(origin, dynamicStore.records(origin));
        rebuild('update');
      });
  });
  const served = new ServedZones({ logger, setsFor: (zone) => tlsa.setsFor(zone), autoSerial, dynamic });
  const takeSecondaries = (): void => secondaries.update([...files.loaded.values()].map((f) => f.plain));
  // The catalog zone (RFC 9432) of the zones with `transfer:`, built after them from what they are now.
  const catalog =
    opts.catalog === undefined
      ? undefined
      : startCatalog(opts, parseName(opts.catalog, ROOT), autoSerial, () => rebuild('catalog'));
  if (catalog) {
    shutdown.add(() => catalog.close());
    if ([...files.loaded.values()].some((f) => f.plain.origin.key === parseName(catalog.origin, ROOT).key))
      throw new Error(`--catalog ${catalog.origin}: a zone file serves this name; the catalog needs a name of its own`);
  }
  const servedNow = (): Zone[] => {
    const zones = served.zones(files.loaded);
    return catalog ? catalog.withCatalog(zones) : zones;
  };

  /** Every new snapshot comes this way: published, then the refresh timer armed for its first due signature. */
  const publish = (secured: Secured, reason: PublishReason): void => {
    publisher.publish(secured, reason);
    refresh.schedule(Math.min(secured.nextDue, publisher.nextDue()));
    parentDs.update(secured.zones);
  };
  // Reloads, refreshes and key changes run one after the other, in slices (slices.ts): signing, the serial's
  // digests and the journal yield to the event loop every few milliseconds, so queries are answered meanwhile,
  // and only the finished version is published. A small zone's rebuild ends before the call that asked for it.
  const rebuilds = new SliceQueue((e) => logger.error('rebuild-failed', { error: String(e) }), SLICE_MS);
  /** The serial's work and the journal's difference of what `secured` will publish, done ahead in steps. */
  function* prepareSteps(secured: Secured): Generator<void, void, undefined> {
    for (const [zone, signed] of publisher.toAssign(secured)) {
      const ahead = yield* assigner.prepareSteps(zone, signed);
      // The journal's difference too, so that IXFR answers from the moment the version is served.
      yield* journal.prepareSteps({ origin: nameToText(zone.origin), ...ahead, at: 0 });
    }
  }
  /** Signs what changed or is due and publishes it. */
  function* rebuildSteps(reason: PublishReason): Generator<void, void, undefined> {
    if (shutdown.closed) return;
    takeSecondaries();
    const secured = yield* signer.secureSteps(held());
    yield* prepareSteps(secured);
    if (shutdown.closed) {
      assigner.dropPrepared(); // the signatures written ahead are not put in place
      journal.dropPrepared();
      return;
    }
    try {
      publish(secured, reason);
    } catch (e) {
      // The serial or the signatures could not be recorded: the last snapshot keeps serving; retried by the timer.
      logger.error('publish-failed', { reason, error: String(e), serving: 'the last published version' });
      refresh.schedule(Math.floor(now() / 1000) + 60);
    } finally {
      assigner.dropPrepared();
      journal.dropPrepared();
    }
  }
  const rebuild = (reason: PublishReason): void => rebuilds.add(rebuildSteps(reason));
  /** Re-reads the zones directory, then the certificates of the hosts it now names, then publishes. */
  function* reloadSteps(reason: string, only?: string): Generator<void, void, undefined> {
    if (shutdown.closed || !(yield* files.reloadSteps(only))) return;
    yield* tlsa.configureSteps(files.loaded);
    tlsa.refresh('reload');
    yield* rebuildSteps('reload');
    // The last zone gone (its file removed or renamed): the server keeps running, for the file to come back,
    // and says so on every reload until then (and /healthz is 503, status.ts).
    if (publisher.served().size === 0)
      logger.error('no-zone-served', {
        dir: opts.zonesDir,
        note: 'every query is refused until a zone file loads again; the server keeps running',
      });
    logger.debug('zones-reloaded', { reason });
  }
  const reloadZones = (reason: string, only?: string): void => rebuilds.add(reloadSteps(reason, only));

  tlsa.configure(files.loaded);
  tlsa.refresh('start');
  takeSecondaries();
  // The first signing signs everything: on the thread pool, several signatures at a time. Nothing is served
  // before it is done, so nothing else runs meanwhile. The serial's digests and the journal's difference then
  // run in slices of their own queue (over a second in one piece for 100,000 names), so that a SIGTERM or a
  // query for another zone is not held up by them.
  const first = await signer.secureAsync(held());
  const starting = new SliceQueue((e) => logger.error('rebuild-failed', { error: String(e) }), SLICE_MS);
  starting.add(prepareSteps(first));
  await starting.settled();
  try {
    publish(first, 'start');
  } finally {
    assigner.dropPrepared();
    journal.dropPrepared();
  }
  const current = (): ReturnType<typeof publisher.current> => publisher.current();
  const onCount = opts.http ? metrics.countTransfer.bind(metrics) : undefined;
  const xfr = { current, lookup: keyring.lookup, logger, now, journal, ...(onCount ? { onCount } : {}) };
  const updater = createUpdater({
    current,
    records: (zone) => dynamicStore.records(nameToText(zone.origin)),
    commit: (zone, records) => dynamic.commit(files.loaded, zone, records, () => rebuild('update')),
    logger,
    now,
    ...(opts.http ? { onResult: metrics.countUpdate.bind(metrics) } : {}),
  });
  // The query ACL, cookies and rate limiting (guard.ts) stand before the answering code; IXFR over UDP keeps
  // its own ACL (transfer.allow), as AXFR over TCP does.
  const cookieFile = join(opts.stateDir, COOKIE_SECRET_FILE);
  const cookies: CookieSecrets = new CookieSecrets(
    opts.stateDir,
    Math.floor(now() / 1000),
    (what, error) => {
      logger.warn('cookie-secret-failed', { what, error, note: 'server cookies change at the next start' });
      faults.fail('cookies', cookieFile, `${what}: ${error}`, what === 'write' ? () => cookies.persist() : undefined);
    },
    opts.cookieSecret,
    () => faults.clear(cookieFile),
  );
  const note: ResponseNote = { wildcard: null };
  const guard = { allowQuery: opts.allowQuery, rrl: opts.rrl, cookies, now, counters: metrics.guard, note };
  const responder = withUpdates(createHandler(current, note), updater);
  const acl = catalog ? withCatalogAcl(responder, parseName(catalog.origin, ROOT), current) : responder;
  const guarded = withGuard(withTsig(acl, keyring.lookup, now), guard);
  const answer = withUdpIxfr(guarded, xfr);
  const transfers = createTransfers(xfr);
  const stream = opts.http ? metrics.wrapStream(transfers) : transfers;
  // Counting costs a header scan per response: only when someone can read the counters.
  const counted = opts.http ? metrics.wrap(answer) : answer;
  const handler = opts.logQueries ? logEachQuery(counted, logger) : counted;
  // The secondaries are told once the versions are answered over the sockets too: from now on, on every
  // publish, and now of what the start published.
  publisher.onPublished(notify);
  for (const v of publisher.served().values()) notify.published(v);
  // Then they are watched: asked for their serial after every new version and every minute. A server that
  // catches up may make a TLSA record ready or end a retention (tlsa/manager.ts): the TLSA state is re-read.
  const poller = new WatchPoller({
    watch,
    lookup: keyring.lookup,
    logger,
    now,
    timers: nodeTimers,
    ...(opts.watchFastMs !== undefined ? { fastMs: opts.watchFastMs } : {}),
    notifySettled: (zone, address, port) => notify.settled(zone, address, port),
    renotify: (zone, address, port, served) => notify.again(zone, address, port, served),
    onCaughtUp: () => {
      if (tlsa.refresh('secondary')) rebuild('tlsa');
    },
  });
  shutdown.add(() => poller.close());
  // The catalog is not watched: a secondary that does not read catalogs (NSD before 4.9) never serves it, and
  // that is no lag of the zones it does serve (its NOTIFY for the catalog is answered with an error, logged once).
  const watched = (v: { origin: string }): boolean => v.origin.toLowerCase() !== catalog?.origin;
  publisher.onPublished({
    published: (v) => {
      if (watched(v)) poller.published(v);
    },
    withdrawn: (origin) => poller.withdrawn(origin),
  });
  for (const v of publisher.served().values()) if (watched(v)) poller.published(v);

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
  const keysChanged = (reason: string): void =>
    rebuilds.add(
      (function* () {
        watchTsig();
        signer.keysChanged();
        hold.keysChanged();
        keyring.reload(reason);
        // A zone that failed for want of a TSIG key file loads once the file is there.
        if (files.failing.size > 0) files.reload();
        yield* rebuildSteps('keys');
        logger.debug('keys-reread', { reason });
      })(),
    );
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
    secondaries: (zone: string) => watch.status(zone, now()),
    secondaryLag,
    parentDs,
  };
  const routes = { health: () => health(status), metrics: () => scrape(status) };
  gate.openWith(handler, stream, routes);
  release(); // the sockets' `listening` lines: the zones are answered from now on
  const reload = (only?: string): void =>
    rebuilds.add(
      (function* () {
        signer.keysChanged();
        hold.keysChanged();
        keyring.reload('reload');
        yield* reloadSteps('reload', only);
      })(),
    );
  const hostText = (a: { host: string; port: number }): string =>
    a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  ready(
    controlCommands({
      files,
      signer,
      served: () => publisher.served(),
      certificates: () => tlsa.health(),
      tlsaState: (zone, host) => tlsaManager.state(zone, host),
      secondaries: (zone) => watch.status(zone, now()),
      keyStepWaits: (zone) => hold.waits(zone),
      tlsaReadyAt: (zone, host, since) => tlsaManager.readyAt(zone, host, since),
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
}

/** The catalog of `startZones` (its expiry rebuilds through `rebuild`, which exists once the zones are read). */
function startCatalog(
  opts: ServeOptions,
  name: Name,
  autoSerial: (origin: string, hash: string) => number,
  onExpiry: () => void,
): ServerCatalog {
  return new ServerCatalog({
    name,
    graceSeconds: opts.catalogGrace ?? CATALOG_GRACE_DEFAULT,
    stateDir: opts.stateDir,
    logger: opts.logger,
    now: opts.now ?? Date.now,
    timers: nodeTimers,
    autoSerial,
    onExpiry,
  });
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
