/**
 * IXFR (RFC 1995) of the running server against kdig on loopback, with TSIG (`-y`) as a secondary would ask:
 * the current serial gets our SOA alone (§4), an older serial the whole signed zone AXFR-style (§4 allows it in
 * place of differences: SOA first and last, equal to what AXFR sends), IXFR over UDP our SOA alone for any
 * serial (§4: the client asks again over TCP), a client the zone's transfer.allow does not name REFUSED; after
 * an edit of the zone file, the condensed difference from the old serial (applied to the old AXFR it gives the
 * new AXFR), and the same after a restart (the journal is kept in the state directory).
 *
 * The tools are required (knot-dnsutils, ldnsutils): a missing one fails.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay } from '../support/time.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { runTool, type ToolRun } from './helpers/tsigpeer.js';

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const Y = `hmac-sha256:knot-xfr:${SECRET}`;
const ZONE = 'example.com';

/** 300 TXT owners: the signed zone is well over 16 KiB, so a whole-zone answer takes several messages. */
const bulk = Array.from({ length: 300 }, (_, i) => `  host${i}:\n    TXT: "${'x'.repeat(60)} ${i}"\n`).join('');
const ZONE_TEXT = `soa: { mname: ns1, rname: hostmaster }
transfer:
  allow:
    - key: knot-xfr
records:
  "@":
    NS: ns1
  ns1:
    A: 192.0.2.53
${bulk}`;

const base = mkdtempSync(join(tmpdir(), 'dane-ns-ixfr-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
let server: DaneNsInstance;
/** The serial before the zone file was edited (set by the edit test, used by the restart test). */
let editedFrom: number | undefined;

const start = async (): Promise<DaneNsInstance> =>
  startDaneNs({
    zonesDir: zones,
    keysDir: keys,
    stateDir: join(base, 'state'),
    port: await freePort(),
    startTimeoutMs: 60_000,
  });

beforeAll(async () => {
  mkdirSync(zones, { recursive: true });
  mkdirSync(join(keys, 'tsig'), { recursive: true });
  writeFileSync(join(zones, `${ZONE}.yaml`), ZONE_TEXT);
  writeFileSync(
    join(keys, 'tsig', 'knot-xfr.key'),
    `key "knot-xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`,
  );
  server = await start();
}, 90_000);

afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

function kdig(args: string[]): Promise<ToolRun> {
  return runTool('kdig', ['@127.0.0.1', '-p', String(server.port), '+time=5', '+retry=0', ...args]);
}

/** The records kdig printed (comments and TSIG left out). */
function records(out: string): string[] {
  return out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l));
}

/** Our current serial, from a plain SOA query. */
async function ourSerial(): Promise<number> {
  const run = await kdig(['+short', ZONE, 'SOA']);
  const serial = Number(run.stdout.trim().split(/\s+/)[2]);
  expect(Number.isInteger(serial), run.stdout).toBe(true);
  return serial;
}

describe('IXFR with TSIG from kdig', () => {
  it('the current serial: our SOA alone (RFC 1995 §4)', async () => {
    const serial = await ourSerial();
    const run = await kdig(['-y', Y, ZONE, `IXFR=${serial}`]);
    expect(run.stdout + run.stderr).not.toMatch(/failed|;; ERROR|REFUSED|FORMERR|NOTIMP|SERVFAIL/i);
    const rrs = records(run.stdout);
    expect(rrs).toHaveLength(1);
    expect(rrs[0]).toMatch(new RegExp(`^example\\.com\\.\\s.*\\sSOA\\s.*\\s${serial}\\s`));
  });

  it('an older serial: the whole signed zone AXFR-style, the same records AXFR sends', async () => {
    const serial = await ourSerial();
    const run = await kdig(['-y', Y, ZONE, `IXFR=${serial - 1}`]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/failed|;; ERROR|REFUSED|FORMERR|NOTIMP|SERVFAIL/i);
    const rrs = records(run.stdout);
    expect(rrs[0]).toMatch(/\sSOA\s/);
    expect(rrs.at(-1)).toMatch(/\sSOA\s/);
    expect(rrs.filter((l) => /\sIN\s+TXT\s/.test(l))).toHaveLength(300);
    expect(rrs.some((l) => /\sRRSIG\s/.test(l)) && rrs.some((l) => /\sNSEC\s/.test(l))).toBe(true);
    const axfr = await kdig(['-y', Y, ZONE, 'AXFR']);
    expect([...rrs].sort()).toEqual(records(axfr.stdout).sort());
  });

  it('over UDP: our SOA alone for an older serial too, so the client asks again over TCP', async () => {
    const serial = await ourSerial();
    const run = await kdig(['+notcp', '-y', Y, ZONE, `IXFR=${serial - 1}`]);
    expect(run.stdout + run.stderr).not.toMatch(/;; ERROR/);
    expect(run.stdout).toMatch(/\(1 messages, 1 records\)/);
    expect(run.stdout).toMatch(/\(UDP\)/);
    const rrs = records(run.stdout);
    expect(rrs).toHaveLength(1);
    expect(rrs[0]).toMatch(new RegExp(`\\sSOA\\s.*\\s${serial}\\s`));
  });

  it('without a key the zone allows: REFUSED, over TCP and over UDP', async () => {
    const serial = await ourSerial();
    const tcp = await kdig([ZONE, `IXFR=${serial - 1}`]);
    expect(tcp.stdout + tcp.stderr).toMatch(/REFUSED/);
    const udp = await kdig(['+notcp', ZONE, `IXFR=${serial - 1}`]);
    expect(udp.stdout + udp.stderr).toMatch(/replied with error 'REFUSED'/);
    expect(udp.stdout).toMatch(/\(UDP\)/);
  });

  it('after an edit of the zone file: the condensed difference from the old serial, which turns the old AXFR into the new one', async () => {
    const old = await ourSerial();
    editedFrom = old;
    const before = records((await kdig(['-y', Y, ZONE, 'AXFR'])).stdout);
    writeFileSync(
      join(zones, `${ZONE}.yaml`),
      ZONE_TEXT.replace('    A: 192.0.2.53\n', '    A: 192.0.2.54\n') + '  added:\n    TXT: new\n',
    );
    let serial = old;
    for (let i = 0; i < 100 && serial === old; i++) {
      await delay(100);
      serial = await ourSerial();
    }
    expect(serial).not.toBe(old);
    const run = await kdig(['-y', Y, ZONE, `IXFR=${old}`]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/failed|;; ERROR/i);
    const rrs = records(run.stdout).map(norm);
    const soa = rrs.map((l, i) => (/\sIN\s+SOA\s/.test(l) ? i : -1)).filter((i) => i >= 0);
    // RFC 1995 §4: new SOA, old SOA, deletions, new SOA, additions, new SOA; much less than the whole zone.
    expect(soa).toEqual([0, 1, soa[2], rrs.length - 1]);
    expect(rrs[1]).toMatch(new RegExp(`\\sIN\\s+SOA\\s.*\\s${old}\\s`));
    expect(rrs[0]).toMatch(new RegExp(`\\sIN\\s+SOA\\s.*\\s${serial}\\s`));
    expect(rrs.length).toBeLessThan(before.length / 4);
    const deleted = rrs.slice(2, soa[2]);
    const added = rrs.slice(soa[2]! + 1, -1);
    expect(deleted.some((l) => /192\.0\.2\.53/.test(l))).toBe(true);
    expect(added.some((l) => /192\.0\.2\.54/.test(l)) && added.some((l) => /"new"/.test(l))).toBe(true);
    const after = new Set(before.map(norm).filter((l) => !/\sIN\s+SOA\s/.test(l)));
    for (const l of deleted) expect(after.delete(l), l).toBe(true);
    for (const l of added) after.add(l);
    const now = records((await kdig(['-y', Y, ZONE, 'AXFR'])).stdout)
      .map(norm)
      .filter((l) => !/\sIN\s+SOA\s/.test(l));
    expect([...after].sort()).toEqual(now.sort());
    expect(server.logs()).toMatch(/"event":"transfer".*"qtype":"IXFR".*"answer":"ixfr"/);
  });

  it('after a restart: the journal in the state directory still answers IXFR from the serial before the edit', async () => {
    expect(editedFrom).toBeDefined();
    const serial = await ourSerial();
    await server.stop();
    server = await start();
    expect(await ourSerial()).toBe(serial);
    const run = await kdig(['-y', Y, ZONE, `IXFR=${editedFrom}`]);
    expect(run.stdout + run.stderr).not.toMatch(/failed|;; ERROR/i);
    const rrs = records(run.stdout);
    expect(rrs[1]).toMatch(new RegExp(`\\sIN\\s+SOA\\s.*\\s${editedFrom}\\s`));
    expect(rrs.length).toBeLessThan(100);
    expect(server.logs()).toMatch(/"event":"transfer".*"qtype":"IXFR".*"answer":"ixfr"/);
  }, 90_000);
});

/** A printed record with its whitespace made single spaces. */
const norm = (l: string): string => l.split(/\s+/).join(' ');
