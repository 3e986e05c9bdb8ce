/**
 * Per-query logging is off by default and on with `serve --log-queries`: one JSON line per answered query with
 * the client, name, type, rcode, size and TC.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';

const ZONE = `origin: log.example.
soa: { mname: ns1, rname: hostmaster }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

describe('query logging', () => {
  const servers: DaneNsInstance[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dane-ns-logq-'));
  writeFileSync(join(dir, 'log.example.yaml'), ZONE);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([[false], [true]])('--log-queries %s', async (on) => {
    requireTool('kdig');
    const port = await freePort();
    const server = await startDaneNs({ zonesDir: dir, port, extraArgs: on ? ['--log-queries'] : [] });
    servers.push(server);
    await query({ host: '127.0.0.1', port }, 'ns1.log.example.', 'A');
    await query({ host: '127.0.0.1', port }, 'nothere.log.example.', 'MX', { tcp: true });
    await new Promise((r) => setTimeout(r, 100));
    const lines = server
      .logs()
      .split('\n')
      .filter((l) => l.includes('"event":"query"'));
    if (!on) {
      expect(lines).toEqual([]);
      return;
    }
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { transport: 'udp', client: '127.0.0.1', qname: 'ns1.log.example.', qtype: 'A', rcode: 0, tc: false },
      { transport: 'tcp', client: '127.0.0.1', qname: 'nothere.log.example.', qtype: 'MX', rcode: 3, tc: false },
    ]);
  });
});
