/**
 * NSD and BIND as secondaries of dane-ns (RFC 5936 AXFR with RFC 8945 TSIG), each configured with exactly what
 * `dane-ns secondary-config ZONE --for nsd|bind` prints, plus the daemon options around it (listen address and
 * port, its own directories, and an ACL that lets this test read the zone back from it). Each must serve
 * dane-ns's SOA serial, and its AXFR must equal dane-ns's (canonically: ldns-read-zone, lines sorted) and pass
 * ldns-verify-zone. What it prints for Knot passes `knotc conf-check`; knotd, configured from the README, runs in
 * axfr.test.ts.
 *
 * The tools are required (nsd, named, kdig, ldns-read-zone, ldns-verify-zone): a missing one fails.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../support/exec.js';
import { delay } from '../support/time.js';
import { requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import {
  bindConf,
  canonical,
  nsdConf,
  secondaryConfig as printedConfig,
  startDaemon,
  transferRecords as records,
  type SecondaryKind,
} from './helpers/secondaries.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { runTool } from './helpers/tsigpeer.js';

const ZONE = 'example.net';
const KEY = 'sec-xfr';

/** 200 TXT owners: the signed zone takes several AXFR messages. */
const bulk = Array.from({ length: 200 }, (_, i) => `  h${i}:\n    TXT: "${'y'.repeat(50)} ${i}"\n`).join('');
const ZONE_TEXT = `soa: { mname: ns1, rname: hostmaster }
transfer:
  allow:
    - key: ${KEY}
records:
  "@":
    NS: ns1
    MX: 10 mail
  ns1:
    A: 192.0.2.53
  mail:
    A: 192.0.2.25
${bulk}`;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-secondaries-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
let server: DaneNsInstance;
let secret = '';

beforeAll(async () => {
  mkdirSync(zones, { recursive: true });
  writeFileSync(join(zones, `${ZONE}.yaml`), ZONE_TEXT);
  const printed = await exec(process.execPath, [CLI, 'tsig', 'generate', KEY, '--keys', keys]);
  secret = /secret "([^"]+)"/.exec(printed)![1]!;
  server = await startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: join(base, 'state'),
    port: await freePort(),
    startTimeoutMs: 60_000,
  });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** What `dane-ns secondary-config ZONE --for KIND` prints for this server. */
const secondaryConfig = (kind: SecondaryKind): Promise<string> => printedConfig(ZONE, kind, server.port, zones, keys);

/**
 * Starts `argv` (a secondary listening on 127.0.0.1:port), waits until it serves dane-ns's serial, then
 * compares its AXFR with dane-ns's and verifies it.
 */
async function checkSecondary(name: string, argv: string[], port: number): Promise<void> {
  const daemon = startDaemon(argv);
  try {
    const ours = await runTool('kdig', ['@127.0.0.1', '-p', String(server.port), '+short', ZONE, 'SOA']);
    const serial = ours.stdout.trim().split(/\s+/)[2];
    expect(serial).toMatch(/^\d+$/);
    let theirs = '';
    for (let i = 0; i < 100 && daemon.proc.exitCode === null && !theirs.includes(` ${serial} `); i++) {
      await delay(200);
      const r = await runTool('kdig', ['@127.0.0.1', '-p', String(port), '+time=1', '+retry=0', '+short', ZONE, 'SOA']);
      theirs = r.stdout;
    }
    expect(theirs, `${name} log:\n${daemon.log()}`).toContain(` ${serial} `);
    const fromThem = await runTool('kdig', ['@127.0.0.1', '-p', String(port), '+time=5', ZONE, 'AXFR']);
    const fromUs = await runTool('kdig', [
      '@127.0.0.1',
      '-p',
      String(server.port),
      '+time=5',
      '-y',
      `hmac-sha256:${KEY}:${secret}`,
      ZONE,
      'AXFR',
    ]);
    const theirRecords = records(fromThem.stdout);
    expect(await canonical(theirRecords, join(base, `${name}.zone`))).toEqual(
      await canonical(records(fromUs.stdout), join(base, 'ours.zone')),
    );
    const file = join(base, `${name}-axfr.zone`);
    writeFileSync(file, theirRecords.join('\n') + '\n');
    const verify = await runTool('ldns-verify-zone', [file]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  } finally {
    await daemon.stop();
  }
}

describe('secondaries configured with dane-ns secondary-config', () => {
  it('NSD: transfers the zone with TSIG, serves the same serial and the same valid signed zone', async () => {
    const dir = join(base, 'nsd');
    mkdirSync(dir);
    const port = await freePort();
    const printed = await secondaryConfig('nsd');
    expect(printed).toContain(`request-xfr: 127.0.0.1@${server.port} ${KEY}`);
    // The daemon around the printed clauses; provide-xfr continues the printed zone: clause (the last one).
    writeFileSync(join(dir, 'nsd.conf'), nsdConf(dir, port, printed));
    await checkSecondary('nsd', [requireTool('nsd'), '-d', '-c', join(dir, 'nsd.conf')], port);
  }, 60_000);

  it('BIND: transfers the zone with TSIG, serves the same serial and the same valid signed zone', async () => {
    const dir = join(base, 'bind');
    mkdirSync(dir);
    const port = await freePort();
    const printed = await secondaryConfig('bind');
    expect(printed).toContain(`primaries port ${server.port} { 127.0.0.1 key "${KEY}"; };`);
    writeFileSync(join(dir, 'named.conf'), bindConf(dir, port, printed));
    await checkSecondary('bind', [requireTool('named'), '-g', '-n', '1', '-c', join(dir, 'named.conf')], port);
  }, 60_000);

  it('Knot: what it prints is a valid knot.conf (knotc conf-check)', async () => {
    const printed = await secondaryConfig('knot');
    expect(printed).toContain(`address: 127.0.0.1@${server.port}\n    key: ${KEY}\n`);
    const file = join(base, 'knot.conf');
    writeFileSync(file, printed);
    const r = await runTool('knotc', ['-c', file, 'conf-check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('Configuration is valid');
  });
});
