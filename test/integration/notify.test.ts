/**
 * NOTIFY (RFC 1996) from the running server, in process on loopback, to a real secondary: knotd, configured as
 * the README's "Hidden primary with secondaries" with an ACL taking NOTIFY signed with the key, transfers the
 * first serial; after an edit of the zone file it serves the new serial within seconds, and its log says a
 * NOTIFY came. The SOA refresh is an hour, so Knot's own polling cannot explain it. A second target is a UDP
 * socket that never answers: it receives the retries (a short schedule) and a `notify-failed` line appears.
 *
 * knotd and kdig are required (knot, knot-dnsutils): a missing one fails.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startServer } from '../../src/server/serve.js';
import { delay } from '../support/time.js';
import { requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { runTool } from './helpers/tsigpeer.js';
import { knotNotifiedConf } from './helpers/secondaries.js';

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const ZONE = 'example.com';
const KEY_FILE = `key "knot-xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`;

const zoneText = (serial: number, knotPort: number, silentPort: number, www: string): string => `origin: ${ZONE}.
soa: { mname: ns1, rname: hostmaster, serial: ${serial}, refresh: 3600, retry: 3600 }
dnssec: { enabled: false }
transfer:
  allow:
    - key: knot-xfr
  notify:
    - { address: 127.0.0.1, port: ${knotPort}, key: knot-xfr }
    - { address: 127.0.0.1, port: ${silentPort} }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: ${www} }
`;

const knotConf = (dir: string, knotPort: number, ourPort: number): string =>
  knotNotifiedConf(dir, knotPort, ourPort, ZONE, SECRET);

const base = mkdtempSync(join(tmpdir(), 'dane-ns-notify-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('NOTIFY to a Knot secondary and to a target that never answers', () => {
  it('Knot serves the new serial at once; the silent target gets the retries and a notify-failed line', async () => {
    const knotPort = await freePort();
    const silent = createSocket('udp4');
    const silentAt: number[] = [];
    silent.on('message', () => silentAt.push(Date.now()));
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const silentPort = silent.address().port;
    const zones = join(base, 'zones');
    const keys = join(base, 'keys');
    const kdir = join(base, 'knot');
    for (const d of [zones, join(keys, 'tsig'), join(kdir, 'run'), join(kdir, 'db')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(keys, 'tsig', 'knot-xfr.key'), KEY_FILE);
    const file = join(zones, `${ZONE}.yaml`);
    writeFileSync(file, zoneText(1, knotPort, silentPort, '192.0.2.1'));
    const lines: { event: string; [k: string]: unknown }[] = [];
    const server = await startServer({
      zonesDir: zones,
      keysDir: keys,
      stateDir: join(base, 'state'),
      listen: ['127.0.0.1:0'],
      udpEngine: 'dgram',
      logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }),
      notifyRetryMs: [200, 400, 800],
    });
    writeFileSync(join(kdir, 'knot.conf'), knotConf(kdir, knotPort, server.addresses[0]!.port));
    const knotd = spawn(requireTool('knotd'), ['-c', join(kdir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    knotd.stdout.on('data', (b: Buffer) => (log += b.toString()));
    knotd.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const knotSerial = async (want: number, tries: number): Promise<string> => {
      let out = '';
      for (let i = 0; i < tries && knotd.exitCode === null && !out.includes(` ${want} `); i++) {
        await delay(200);
        const args = ['@127.0.0.1', '-p', String(knotPort), '+time=1', '+retry=0', '+short', ZONE, 'SOA'];
        out = (await runTool('kdig', args)).stdout;
      }
      return out;
    };
    try {
      // Serial 1: Knot's first transfer (it starts with no copy).
      expect(await knotSerial(1, 50), log).toContain(' 1 3600 3600 ');
      // The silent target: the NOTIFY of serial 1 three times, 200 then 400 ms apart, then given up.
      for (let i = 0; i < 25 && !lines.some((l) => l.event === 'notify-failed'); i++) await delay(200);
      expect(silentAt).toHaveLength(3);
      expect(silentAt[2]! - silentAt[1]!).toBeGreaterThan(silentAt[1]! - silentAt[0]!);
      expect(lines.filter((l) => l.event === 'notify-failed')).toMatchObject([
        { zone: `${ZONE}.`, target: `127.0.0.1#${silentPort}`, serial: 1, reason: 'no answer after 3 tries' },
      ]);
      // The edit: serial 2 is served, and Knot has it within seconds although its refresh is an hour.
      const before = log.length;
      writeFileSync(file, zoneText(2, knotPort, silentPort, '192.0.2.2'));
      server.reload();
      expect(await knotSerial(2, 25), log).toContain(' 2 3600 3600 ');
      expect(log.slice(before)).toMatch(/notify, incoming, remote 127\.0\.0\.1@\d+.*serial 2/);
      expect(lines.some((l) => l.event === 'notify-acknowledged' && l.serial === 2)).toBe(true);
    } finally {
      await server.close();
      silent.close();
      if (knotd.exitCode === null && knotd.signalCode === null) {
        const exited = new Promise((r) => knotd.once('exit', r));
        knotd.kill('SIGTERM');
        await exited;
      }
    }
  }, 60_000);
});
