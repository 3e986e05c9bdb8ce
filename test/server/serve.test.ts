/**
 * startServer wired from its units, in process on loopback (port 0, node:dgram): one zone-published line per
 * zone at start and per changed zone on reload, and one shutdown that leaves no socket or watcher behind,
 * also when the start fails half way.
 */
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startServer, type ServeOptions } from '../../src/server/serve.js';
import { zoneText } from './zone-text.js';

const UNSIGNED = 'dnssec: { enabled: false }\n';
/**
 * What keeps the event loop alive (sockets, file watchers), by kind. Timers are left out: the test runner's own
 * come and go, and the server's are unref'd (their cancellation is tested unit by unit).
 */
const handles = (): string[] =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'TTYWrap' && r !== 'Timeout')
    .sort();

describe('startServer', () => {
  let root: string;
  let lines: { event: string; [k: string]: unknown }[];
  let opts: ServeOptions;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dane-ns-serve-unit-'));
    lines = [];
    const zones = join(root, 'zones');
    mkdirSync(zones);
    writeFileSync(join(zones, 'a.yaml'), UNSIGNED + zoneText('a.example.', 1));
    writeFileSync(join(zones, 'b.yaml'), UNSIGNED + zoneText('b.example.', 1));
    opts = {
      zonesDir: zones,
      keysDir: join(root, 'keys'),
      stateDir: join(root, 'state'),
      listen: ['127.0.0.1:0'],
      udpEngine: 'dgram',
      logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }),
    };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('publishes every zone at start and only the changed one on reload', async () => {
    const server = await startServer(opts);
    try {
      const published = (): unknown[] =>
        lines.filter((l) => l.event === 'zone-published').map((l) => [l.zone, l.serial, l.reason]);
      expect(published()).toEqual([
        ['a.example.', 1, 'start'],
        ['b.example.', 1, 'start'],
      ]);
      writeFileSync(join(opts.zonesDir, 'b.yaml'), UNSIGNED + zoneText('b.example.', 2, '192.0.2.2'));
      server.reload();
      expect(published().slice(2)).toEqual([['b.example.', 2, 'reload']]);
    } finally {
      await server.close();
    }
  });

  it('close() releases every socket and watcher, and a second close() is harmless', async () => {
    await settle(); // what the previous test closed is gone
    const before = handles();
    const server = await startServer({ ...opts, http: '127.0.0.1:0' });
    expect(handles().length).toBeGreaterThan(before.length);
    await server.close();
    await server.close();
    await settle();
    expect(handles()).toEqual(before);
  });

  it('a start that fails half way (the second DNS port is taken) releases what it had started', async () => {
    const blocker = createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()));
    await settle();
    const before = handles();
    try {
      const port = blocker.address().port;
      await expect(startServer({ ...opts, listen: ['127.0.0.1:0', `127.0.0.1:${port}`] })).rejects.toThrow();
      await settle();
      expect(handles()).toEqual(before);
    } finally {
      blocker.close();
    }
  });
  it('removes the temporary files of interrupted atomic writes at start, one log line each', async () => {
    const stale = [
      join(opts.keysDir, '.Ka.example.+013+12345.private.0123456789ab.tmp'),
      join(opts.keysDir, 'tsig', '.xfr.key.ba9876543210.tmp'),
      join(opts.stateDir, '.serials.json.00000000ffff.tmp'),
    ];
    mkdirSync(join(opts.keysDir, 'tsig'), { recursive: true });
    mkdirSync(opts.stateDir, { recursive: true });
    for (const f of stale) writeFileSync(f, 'half a key');
    const kept = join(opts.keysDir, '.notes.tmp');
    writeFileSync(kept, 'not ours');
    const server = await startServer(opts);
    try {
      for (const f of stale) expect(existsSync(f)).toBe(false);
      expect(existsSync(kept)).toBe(true);
      expect(lines.filter((l) => l.event === 'interrupted-write-removed').map((l) => l.file)).toEqual(stale);
    } finally {
      await server.close();
    }
  });
});

/** Lets handles closed a moment ago leave the event loop. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 150));
}
