/**
 * `serve --log-queries`: one `query` log line per response (qname, qtype, rcode, size, TC, client), by wrapping
 * the handler. Off by default: it costs a message decode per query.
 */
import type { Logger } from '../log.js';
import { nameToText } from '../wire/name.js';
import { decodeMessage, fullRcode } from '../wire/message.js';
import { FLAG_TC } from '../wire/header.js';
import { typeToText } from '../wire/types.js';
import type { Handler } from './transport.js';

/** The handler with one `query` log line per response (a dropped request is logged as dropped). */
export function logEachQuery(handler: Handler, logger: Logger): Handler {
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
