/**
 * `dane-ns check ZONE` on a hidden primary (src/check/transfer.ts): the built server serves a signed zone whose
 * transfer.notify lists a real knotd secondary (TSIG key, as the README configures it), a stand-in that still
 * serves the previous serial, and a UDP socket that never answers. After an edit, Knot follows the NOTIFY and
 * check says `current` for it (asked with the key from --keys), `behind` for the stand-in, `no answer` for the
 * silent one within the 2 s timeout, and exits 0: those are warnings. Without the key (--keys elsewhere) the
 * keyed target is not asked.
 *
 * knotd and kdig are required (knot, knot-dnsutils): a missing one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG_AA, FLAG_QR } from '../../src/wire/header.js';
import { decodeMessage, encodeMessage, encodeQuery } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { CLASS_IN, T } from '../../src/wire/types.js';
import { withSoaSerial } from '../../src/zone/build.js';
import { delay } from '../support/time.js';
import { run } from '../cli/run.js';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { knotNotifiedConf } from './helpers/secondaries.js';

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';
const ZONE = 'example.com';
const KEY_FILE = `key "knot-xfr" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`;

const zoneText = (ports: { knot: number; behind: number; silent: number }, www: string): string => `origin: ${ZONE}.
soa: { mname: ns1, rname: hostmaster, serial: auto, refresh: 3600, retry: 3600 }
transfer:
  allow:
    - key: knot-xfr
  notify:
    - { address: 127.0.0.1, port: ${ports.knot}, key: knot-xfr }
    - { address: 127.0.0.1, port: ${ports.behind} }
    - { address: 127.0.0.1, port: ${ports.silent} }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
  www: { A: ${www} }
`;

const knotConf = (dir: string, knotPort: number, ourPort: number): string =>
  knotNotifiedConf(dir, knotPort, ourPort, ZONE, SECRET);

const base = mkdtempSync(join(tmpdir(), 'dane-ns-check-transfer-'));
const zones = join(base, 'zones');
const keys = join(base, 'keys');
const state = join(base, 'state');
const kdir = join(base, 'knot');
let server: DaneNsInstance | undefined;
let knotd: ChildProcess | undefined;
let knotLog = '';
const sockets: Socket[] = [];
const ports = { knot: 0, behind: 0, silent: 0 };
let dnsPort = 0;
/** The serials the primary served: before the edit (the stand-in's) and after it. */
let first = 0;
let second = 0;
let soaRdata: Uint8Array | undefined;

const servedSerial = async (port: number): Promise<number> => {
  const a = await query({ host: '127.0.0.1', port }, `${ZONE}.`, 'SOA');
  return Number(a.answer.find((r) => r.split(' ')[3] === 'SOA')?.split(' ')[6] ?? NaN);
};

beforeAll(async () => {
  requireTool('knotd');
  for (const d of [zones, join(keys, 'tsig'), state, join(kdir, 'run'), join(kdir, 'db')])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(keys, 'tsig', 'knot-xfr.key'), KEY_FILE, { mode: 0o600 });
  // The stand-in serves the first serial whatever happens; the silent socket never answers.
  const behind = createSocket('udp4');
  const silent = createSocket('udp4');
  sockets.push(behind, silent);
  behind.on('message', (m, from) => {
    const q = decodeMessage(m);
    if (q.flags & FLAG_QR || !first || !soaRdata) return; // a NOTIFY answer or too early: ignored
    const answer =
      q.questions[0]?.type === T.SOA
        ? [{ name: q.questions[0].name, type: T.SOA, class: CLASS_IN, ttl: 300, rdata: withSoaSerial(soaRdata, first) }]
        : [];
    const a = { ...q, flags: FLAG_QR | FLAG_AA | (q.flags & 0x7800), answer, authority: [], additional: [] };
    behind.send(encodeMessage({ ...a, edns: null }).bytes, from.port, from.address);
  });
  for (const s of [behind, silent]) await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  ports.behind = behind.address().port;
  ports.silent = silent.address().port;
  ports.knot = await freePort();
  dnsPort = await freePort();
  writeFileSync(join(zones, `${ZONE}.yaml`), zoneText(ports, '192.0.2.1'));
  server = await startDaneNs({ zonesDir: zones, keysDir: keys, stateDir: state, port: dnsPort });
  first = await servedSerial(dnsPort);
  soaRdata = await soaOf(dnsPort);
  writeFileSync(join(kdir, 'knot.conf'), knotConf(kdir, ports.knot, dnsPort));
  knotd = spawn(requireTool('knotd'), ['-c', join(kdir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  knotd.stdout!.on('data', (b: Buffer) => (knotLog += b.toString()));
  knotd.stderr!.on('data', (b: Buffer) => (knotLog += b.toString()));
  await knotServes(first);
  // An edit: a new serial, which Knot gets by NOTIFY and the stand-in does not.
  writeFileSync(join(zones, `${ZONE}.yaml`), zoneText(ports, '192.0.2.2'));
  for (let i = 0; i < 100 && (await servedSerial(dnsPort)) === first; i++) await delay(100);
  second = await servedSerial(dnsPort);
  expect(second).not.toBe(first);
  await knotServes(second);
}, 60_000);

/** The SOA rdata the primary serves, in wire form (for the stand-in's answers). */
async function soaOf(port: number): Promise<Uint8Array> {
  const s = createSocket('udp4');
  try {
    const raw = await new Promise<Buffer>((resolve) => {
      s.on('message', (m) => resolve(m));
      s.send(encodeQuery(parseName(`${ZONE}.`), T.SOA, { id: 7 }), port, '127.0.0.1');
    });
    return decodeMessage(raw).answer.find((r) => r.type === T.SOA)!.rdata;
  } finally {
    s.close();
  }
}

async function knotServes(serial: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (knotd?.exitCode !== null) break;
    try {
      if ((await servedSerial(ports.knot)) === serial) return;
    } catch {
      /* not up yet */
    }
    await delay(200);
  }
  throw new Error(`Knot never served serial ${serial}\n${knotLog}`);
}

afterAll(async () => {
  await server?.stop();
  for (const s of sockets) s.close();
  if (knotd && knotd.exitCode === null && knotd.signalCode === null) {
    const exited = new Promise((r) => knotd!.once('exit', r));
    knotd.kill('SIGTERM');
    await exited;
  }
  rmSync(base, { recursive: true, force: true });
});

describe('dane-ns check ZONE: the NOTIFY targets of a hidden primary', () => {
  it('Knot current (asked with its key), the stand-in behind, the silent target no answer; exit 0', async () => {
    const t0 = Date.now();
    const args = ['check', ZONE, '--zones', zones, '--keys', keys];
    const r = await run([...args, '--server', `127.0.0.1:${dnsPort}`]);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('ok    transfer allow: key knot-xfr.');
    expect(lines).toContain(`ok    notify 127.0.0.1:${ports.knot} key knot-xfr.: serial ${second} (current)`);
    expect(lines).toContain(`warn  notify 127.0.0.1:${ports.behind}: serial ${first} (behind the served ${second})`);
    expect(lines).toContain(`warn  notify 127.0.0.1:${ports.silent}: (no answer within 2000 ms)`);
  }, 30_000);

  it('--keys without the key: the keyed target is not asked; the others are', async () => {
    const empty = join(base, 'empty');
    mkdirSync(empty, { recursive: true });
    const args = ['check', ZONE, '--zones', zones, '--keys', empty];
    const r = await run([...args, '--server', `127.0.0.1:${dnsPort}`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain(
      `warn  notify 127.0.0.1:${ports.knot} key knot-xfr.: not asked: no TSIG key "knot-xfr." in ${empty}/tsig`,
    );
    expect(lines).toContain(`warn  notify 127.0.0.1:${ports.behind}: serial ${first} (behind the served ${second})`);
  }, 30_000);
});
