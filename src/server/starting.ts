/**
 * What the sockets answer while the server starts. serve.ts binds every listen address (and the HTTP endpoint)
 * before it loads, keys and signs the zones, so that a port that cannot be had stops the start before anything
 * is written to the state or keys directory. Until the first version is published each query gets SERVFAIL
 * (RFC 1035 §4.1.1: "unable to process this query due to a problem with the name server"), as Knot DNS answers
 * for a configured zone whose contents are not loaded yet: a resolver then asks another of the zone's servers
 * (RFC 2308 §7.1) instead of caching a REFUSED. /healthz is 503 `starting` meanwhile. Then `openWith` hands
 * every request to the real handlers. The sockets' `listening` log lines are held back until then (`held`), so
 * that the line still means what scripts and operators wait for: the zones are answered there.
 */
import { bareResponse, firstQuestionEnd } from './handler.js';
import type { Logger } from '../log.js';
import type { HttpRoutes } from './http.js';
import type { Handler, StreamHandler } from './transport.js';

const RCODE_SERVFAIL = 2;
const FLAG_QR = 0x80;

/** Why /healthz says 503 while starting. */
export const STARTING_REASON = 'starting: the zones are being loaded and signed';

export class StartingGate {
  private handler: Handler | undefined;
  private streamer: StreamHandler | undefined;
  private routes: HttpRoutes | undefined;

  /** Answers SERVFAIL until open; a response (QR set) or a message shorter than a header gets no answer. */
  readonly handle: Handler = (query, transport, remote) => {
    if (this.handler) return this.handler(query, transport, remote);
    if (query.length < 12 || (query[2]! & FLAG_QR) !== 0) return null;
    return bareResponse(query, RCODE_SERVFAIL, firstQuestionEnd(query));
  };

  /** Zone transfers wait for the zones too: until open, the request falls to `handle` (SERVFAIL). */
  readonly stream: StreamHandler = (query, remote) => (this.streamer ? this.streamer(query, remote) : null);

  readonly http: HttpRoutes = {
    health: () => (this.routes ? this.routes.health() : { ok: false, reasons: [STARTING_REASON] }),
    metrics: () => (this.routes ? this.routes.metrics() : ''),
  };

  /** True once the zones are served. */
  get open(): boolean {
    return this.handler !== undefined;
  }

  /** From now on every request goes to these. */
  openWith(handler: Handler, stream: StreamHandler, routes: HttpRoutes | undefined): void {
    this.handler = handler;
    this.streamer = stream;
    this.routes = routes;
  }
}

/** A logger whose lines wait until `release` (and then go out as they come); none go out if never released. */
export function held(logger: Logger): { logger: Logger; release: () => void } {
  let queue: (() => void)[] | undefined = [];
  const log: Logger['log'] = (level, event, fields) => {
    if (queue) queue.push(() => logger.log(level, event, fields));
    else logger.log(level, event, fields);
  };
  return {
    logger: {
      log,
      info: (event, fields) => log('info', event, fields),
      warn: (event, fields) => log('warn', event, fields),
      error: (event, fields) => log('error', event, fields),
      debug: (event, fields) => log('debug', event, fields),
    },
    release: () => {
      const q = queue ?? [];
      queue = undefined;
      for (const line of q) line();
    },
  };
}
