/**
 * `dane-ns serve`: starts the server (server/serve.ts) with the options and the environment's defaults, reloads
 * on SIGHUP and stops on SIGTERM/SIGINT.
 */
import { setFlagsFromString } from 'node:v8';
import { createLogger } from '../log.js';
import { startServer } from '../server/serve.js';
import { count, hostPort, noPositionals, parseOptions, seconds } from './args.js';
import { cookieSecret, guardOptions } from './serve-guard.js';
import { catalogName, directory, graceDuration, resolverSetting, udpEngine } from './env.js';
import type { Io } from './io.js';
import { printHelp } from './help.js';
import { packageVersion } from './version.js';

/** How long a stop waits for open connections and pending work before the process exits anyway. */
export const STOP_DEADLINE_MS = 500;

export async function serveCmd(args: string[], io: Io): Promise<number> {
  const a = parseOptions(
    args,
    [
      'zones',
      'keys',
      'state',
      'listen',
      'udp-engine',
      'http',
      'tcp-per-source',
      'allow-query',
      'rrl',
      'rrl-slip',
      'rrl-exempt',
      'rrl-ipv4-prefix',
      'rrl-ipv6-prefix',
      'secondary-lag',
      'resolver',
      'cookie-secret',
      'cookie-secret-file',
      'catalog',
      'catalog-grace',
    ],
    ['log-queries'],
  );
  if (a.has('help')) return printHelp(io, 'serve');
  noPositionals(a);
  const d = io.defaults;
  const listen = a.values('listen') ?? d.listen();
  for (const spec of a.values('listen') ?? []) hostPort('--listen', spec, 0);
  const engineFlag = a.value('udp-engine');
  const engine = engineFlag !== undefined ? udpEngine('--udp-engine', engineFlag) : d.udpEngine();
  // An empty --http turns off an endpoint DANE_NS_HTTP would start.
  const httpFlag = a.value('http');
  if (httpFlag) hostPort('--http', httpFlag, 0);
  const http = httpFlag !== undefined ? httpFlag || undefined : d.http();
  const logQueries = a.has('log-queries') || d.logQueries();
  const guard = guardOptions(a);
  const secret = cookieSecret(a, d);
  const perSourceFlag = a.value('tcp-per-source');
  const tcpPerSource = perSourceFlag !== undefined ? count('--tcp-per-source', perSourceFlag, 65535) : undefined;
  const lagFlag = a.value('secondary-lag');
  const secondaryLag = lagFlag !== undefined ? seconds('--secondary-lag', lagFlag) : undefined;
  const resolverFlag = a.value('resolver');
  const resolverText = resolverFlag ?? d.resolver();
  const resolverFlagged =
    resolverText === undefined
      ? undefined
      : resolverSetting(resolverFlag !== undefined ? '--resolver' : 'DANE_NS_RESOLVER', resolverText);
  const resolver =
    resolverFlagged === undefined || resolverFlagged === 'none'
      ? resolverFlagged
      : { address: resolverFlagged.host, port: resolverFlagged.port };
  // The catalog zone (RFC 9432) of the zones with transfer:, and how long a vanished zone stays in it.
  const catalogFlag = a.value('catalog');
  const catalog = catalogFlag !== undefined ? catalogName('--catalog', catalogFlag) : d.catalog();
  const graceFlag = a.value('catalog-grace');
  const catalogGrace = graceFlag !== undefined ? graceDuration('--catalog-grace', graceFlag) : d.catalogGrace();
  const zonesDir = directory(a, d, 'zones');
  const keysDir = directory(a, d, 'keys');
  const stateDir = directory(a, d, 'state');
  // V8 lets the old generation grow to about twice the live data before a full collection (its dynamic growing
  // factor, up to 4x). A server's live data is its signed zones: for a 100k-name zone that is about 130 MB, and
  // signing it at start peaked at ~350 MB of RSS, mostly garbage. Growing by 20 % instead keeps the peak near
  // 260 MB (bench/sign.sh), at the cost of more full collections while loading and signing: start-up sign time
  // of that zone about 10-15 % longer (5 runs 29.5-34.0 s against 27.3-29.1 s without, on a busy 2-core
  // machine). Answering queries allocates little, so query throughput is unchanged (bench/dnssec-dnsperf.sh).
  // The flag is read at every collection, so setting it here, before the zones are loaded, is enough.
  // --max-semi-space-size=4 (16 MB by default on 64-bit) cannot be set here: the young generation is sized when
  // the isolate starts. It is on node's command line wherever dane-ns is started (the shebang of src/cli.ts,
  // package.json start, the Dockerfile's ENTRYPOINT; test/meta/launch.test.ts): with 16 MB semi-spaces the
  // young generation alone stays at 32 MB after loading; 4 MB takes about 33 MB off the peak RSS of the 100k
  // bench zone with no change in sign time or query rate (measured runs in README "Memory").
  setFlagsFromString('--heap-growing-percent=20');
  const logger = createLogger();
  // Until the server runs, SIGTERM/SIGINT keep their default action, which ends the process at once even while
  // a large zone is parsed or signed synchronously (a JS handler would wait for that). Nothing is lost: every
  // state write is atomic and the leftovers of one cut short are removed at the next start (state/atomic.ts).
  // As PID 1 (a container without an init) the default action is to ignore the signal, so there a handler exits
  // at once; it runs as soon as the event loop is free.
  const early = (): void => process.exit(0);
  if (process.pid === 1) for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, early);
  const server = await startServer({
    udpEngine: engine,
    zonesDir,
    keysDir,
    stateDir,
    listen,
    logger,
    ...(http !== undefined ? { http } : {}),
    logQueries,
    ...guard,
    ...(secret !== undefined ? { cookieSecret: secret } : {}),
    ...(tcpPerSource !== undefined ? { tcpPerSource } : {}),
    ...(secondaryLag !== undefined ? { secondaryLag } : {}),
    ...(resolver !== undefined ? { resolver } : {}),
    ...(catalog !== undefined ? { catalog } : {}),
    ...(catalogGrace !== undefined ? { catalogGrace } : {}),
    version: packageVersion(),
  });
  process.on('SIGHUP', () => {
    logger.info('reload', { reason: 'SIGHUP' });
    server.reload();
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.removeListener(sig, early);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info('stopping', { signal: sig });
      // Within STOP_DEADLINE_MS whatever is still open (a zone transfer to a slow secondary, a pending file
      // read): the process exits then. The timer is unref'd, so a close that finishes first exits sooner.
      setTimeout(() => {
        logger.warn('stop-forced', { afterMs: STOP_DEADLINE_MS, note: 'connections still open were cut' });
        process.exit(0);
      }, STOP_DEADLINE_MS).unref();
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
