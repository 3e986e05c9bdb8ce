import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createHandler } from '../../src/server/handler.js';
import { Publisher } from '../../src/server/publisher.js';
import { logEachQuery } from '../../src/server/query-log.js';
import type { Remote } from '../../src/server/transport.js';
import { encodeQuery } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { FakeTime } from './fake-time.js';
import { makeZone } from './zone-text.js';

describe('logEachQuery (serve --log-queries)', () => {
  const remote: Remote = { address: '192.0.2.7', port: 5353, family: 'IPv4' };

  it('one query line per response with qname, qtype, rcode, size and TC; silence is logged as dropped', () => {
    const lines: Record<string, unknown>[] = [];
    const pub = new Publisher(new FakeTime().now);
    pub.publish({ zones: [makeZone('a.example.', 1)], security: new Map(), nextDue: Infinity }, 'start');
    const handler = logEachQuery(
      createHandler(() => pub.current()),
      createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
    );
    const ok = handler(encodeQuery(parseName('www.a.example.'), T.A), 'udp', remote)!;
    handler(encodeQuery(parseName('nope.a.example.'), T.MX), 'tcp', remote);
    expect(handler(new Uint8Array(5), 'udp', remote)).toBeNull();
    expect(lines.map(({ time: _t, level: _l, ...rest }) => rest)).toEqual([
      {
        event: 'query',
        transport: 'udp',
        client: '192.0.2.7',
        qname: 'www.a.example.',
        qtype: 'A',
        rcode: 0,
        size: ok.length,
        tc: false,
      },
      expect.objectContaining({ transport: 'tcp', qname: 'nope.a.example.', qtype: 'MX', rcode: 3 }),
      { event: 'query', transport: 'udp', client: '192.0.2.7', dropped: true },
    ]);
  });
});
