/**
 * `serve --resolver`: a signed zone without `dnssec.parent` finds its parent's name servers through this
 * recursive resolver (asked for the parent zone's NS, RD set); `none` asks no resolver and says once that the
 * parent's DS is not checked.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FLAG_RD } from '../../src/wire/header.js';
import { decodeMessage } from '../../src/wire/message.js';
import { nameToText } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs } from './helpers/server.js';

const ZONE = `origin: child.parent.test.
ttl: 300
soa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 60 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

const work = mkdtempSync(join(tmpdir(), 'dane-ns-resolver-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function until(test: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (test()) return true;
  return test();
}

describe('serve --resolver', () => {
  it('ADDR:PORT: the parent zone NS is asked of that resolver, with RD set', async () => {
    const zones = mkdtempSync(join(work, 'zones-'));
    writeFileSync(join(zones, 'child.parent.test.yaml'), ZONE);
    const asked: { name: string; type: number; rd: boolean }[] = [];
    const resolver: Socket = createSocket('udp4');
    resolver.on('message', (m) => {
      try {
        const q = decodeMessage(new Uint8Array(m));
        for (const x of q.questions)
          asked.push({ name: nameToText(x.name), type: x.type, rd: (q.flags & FLAG_RD) !== 0 });
      } catch {
        // not a DNS message: not ours to count
      }
    });
    await new Promise<void>((r) => resolver.bind(0, '127.0.0.1', r));
    const rport = resolver.address().port;
    const server = await startDaneNs({
      zonesDir: zones,
      port: await freePort(),
      extraArgs: ['--resolver', `127.0.0.1:${rport}`],
    });
    try {
      expect(await until(() => asked.length > 0, 15_000), server.logs()).toBe(true);
      expect(asked[0]).toEqual({ name: 'parent.test.', type: T.NS, rd: true });
      expect(server.logs()).not.toContain('parent-ds-not-checked');
    } finally {
      await server.stop();
      resolver.close();
    }
  });

  it('none: no resolver is asked, and the log says once that the parent DS is not checked', async () => {
    const zones = mkdtempSync(join(work, 'zones-'));
    writeFileSync(join(zones, 'child.parent.test.yaml'), ZONE);
    const server = await startDaneNs({ zonesDir: zones, port: await freePort(), extraArgs: ['--resolver', 'none'] });
    try {
      expect(await until(() => server.logs().includes('"event":"parent-ds-not-checked"'), 15_000), server.logs()).toBe(
        true,
      );
      expect(server.logs()).not.toContain('parent-ds-check-failed');
      expect(server.logs().split('parent-ds-not-checked').length).toBe(2);
    } finally {
      await server.stop();
    }
  });
});
