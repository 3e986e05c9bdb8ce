/**
 * `dane-ns keys rollover` against a real validating Unbound whose cache stays warm (cache on, real TTLs). The
 * zone has TTLs of a few seconds so that a whole rollover runs in real time: the running server picks up the
 * key files the command writes (it watches the keys directory) and follows their times by itself.
 *   - ZSK: every answer through Unbound, asked four times a second from before the rollover until after the old
 *     key left, is secure (AD) with the expected rcode; the served DNSKEY RRset and the SOA's signer go through
 *     the four phases of a pre-publish rollover in order.
 *   - A naive ZSK swap (new key used at once) in a zone with a longer DNSKEY TTL makes the same Unbound fail:
 *     the timing is what keeps validation alive, not luck.
 *   - KSK: while both KSKs sign the DNSKEY RRset, an Unbound anchored at the old DS and one anchored at the new
 *     DS both validate; after --ds-published and its wait only the new KSK remains and the new anchor validates.
 *   - Mid-rollover (three keys, two signatures over the DNSKEY RRset) the exported signed zone passes
 *     ldns-verify-zone and dnssec-verify.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool, type Answer, type Server } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { dnskeyRdata, generateKey, keyTag } from '../../src/dnssec/keys.js';
import { loadZoneKeys, rewriteKeyTiming, writeKeyFiles } from '../../src/dnssec/keyfile.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { delay } from '../support/time.js';

const run = promisify(execFile);

const SOA = (zone: string, ttl: number): string =>
  `soa: { mname: ns1, rname: hostmaster@${zone}, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: ${ttl} }`;
/** TTL 2 everywhere (DNSKEY included), one TXT with 4: a ZSK rollover with margin 1 takes about 8 s. */
const FAST = [
  'origin: fast.example.',
  'ttl: 2',
  SOA('fast.example', 2),
  'records:',
  '  "@": { NS: ns1, MX: "10 mail" }',
  '  ns1: { A: 192.0.2.53 }',
  '  mail: { A: 192.0.2.25 }',
  '  www: { A: 192.0.2.80 }',
  '  txt: { TXT: { ttl: 4, values: [four seconds] } }',
  '',
].join('\n');
/** The naive-swap control: a DNSKEY TTL of 300 s keeps the old DNSKEY RRset in Unbound's cache. */
const SLOW = [
  'origin: slow.example.',
  'ttl: 300',
  SOA('slow.example', 300),
  'records:',
  '  "@": { NS: ns1 }',
  '  ns1: { A: 192.0.2.53 }',
  ...Array.from({ length: 20 }, (_, i) => `  h${i}: { A: 192.0.2.${i + 1} }`),
  '',
].join('\n');
/** The KSK rollover's zone. */
const KSK = [
  'origin: ksk.example.',
  'ttl: 2',
  SOA('ksk.example', 2),
  'records:',
  '  "@": { NS: ns1 }',
  '  ns1: { A: 192.0.2.53 }',
  '',
].join('\n');

let dir: string;
let zones: string;
let dane: DaneNsInstance;
const unbounds: UnboundInstance[] = [];
let server: Server;

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [
    CLI,
    ...args,
    '--zones',
    zones,
    '--keys',
    dane.keysDir,
    '--state',
    dane.stateDir,
  ]);
  return stdout;
}

async function ds(zone: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [CLI, 'ds', zone, '--keys', dane.keysDir]);
  return stdout.trim().split('\n');
}

async function resolver(anchors: string[]): Promise<Server> {
  const port = await freePort();
  const zonesServed = ['fast.example.', 'slow.example.', 'ksk.example.'];
  unbounds.push(
    await startUnbound({
      port,
      stubs: zonesServed.map((zone) => ({ zone, addr: `127.0.0.1@${dane.port}` })),
      trustAnchors: anchors,
    }),
  );
  return { host: '127.0.0.1', port };
}

/** The key tags of the DNSKEY RRset and of the RRSIGs over `type` at the apex, straight from the server. */
async function served(zone: string, type: 'SOA' | 'DNSKEY'): Promise<{ keys: number[]; signers: number[] }> {
  const a = await query(server, zone, 'DNSKEY', { dnssec: true });
  const keys = a.answer
    .map((l) => l.split(/\s+/))
    .filter((f) => f[3] === 'DNSKEY')
    .map((f) => keyTag(dnskeyRdata(Number(f[4]), Buffer.from(f.slice(7).join(''), 'base64'))))
    .sort((x, y) => x - y);
  const b = type === 'DNSKEY' ? a : await query(server, zone, type, { dnssec: true });
  const signers = b.answer
    .map((l) => l.split(/\s+/))
    .filter((f) => f[3] === 'RRSIG' && f[4] === type)
    .map((f) => Number(f[10]))
    .sort((x, y) => x - y);
  return { keys, signers };
}

const secure = (a: Answer): boolean => a.flags.includes('ad');

beforeAll(async () => {
  for (const t of ['unbound', 'kdig', 'ldns-verify-zone', 'dnssec-verify']) requireTool(t);
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-keyroll-'));
  zones = join(dir, 'zones');
  mkdirSync(zones);
  writeFileSync(join(zones, 'fast.example.yaml'), FAST);
  writeFileSync(join(zones, 'slow.example.yaml'), SLOW);
  writeFileSync(join(zones, 'ksk.example.yaml'), KSK);
  dane = await startDaneNs({
    zonesDir: zones,
    port: await freePort(),
    keysDir: join(dir, 'keys'),
    stateDir: join(dir, 'state'),
  });
  server = { host: '127.0.0.1', port: dane.port };
}, 60_000);

afterAll(async () => {
  for (const u of unbounds) await u.stop();
  await dane?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('key rollover with a validating Unbound whose cache stays warm', () => {
  it('ZSK: every answer secure throughout, and the four phases of a pre-publish rollover in order', async () => {
    const unbound = await resolver([
      ...(await ds('fast.example')),
      ...(await ds('slow.example')),
      ...(await ds('ksk.example')),
    ]);
    const ask = async (): Promise<string[]> => {
      const problems: string[] = [];
      for (const [name, type, rcode] of [
        ['www.fast.example', 'A', 'NOERROR'],
        ['txt.fast.example', 'TXT', 'NOERROR'],
        ['fast.example', 'DNSKEY', 'NOERROR'],
        ['nope.fast.example', 'A', 'NXDOMAIN'],
        ['mail.fast.example', 'TXT', 'NOERROR'],
      ] as const) {
        const a = await query(unbound, name, type, { dnssec: true, rd: true });
        if (a.rcode !== rcode || !secure(a)) problems.push(`${name}/${type}: ${a.rcode} ${a.flags.join(' ')}`);
      }
      return problems;
    };
    expect(await ask()).toEqual([]); // warm

    const before = await served('fast.example', 'SOA');
    expect(before.keys).toHaveLength(2);
    const out = await cli('keys', 'rollover', 'fast.example', '--margin', '1');
    const tag = Number(/ZSK (\d+) is published now/.exec(out)![1]);
    const leaves = Date.parse(/leaves the DNSKEY RRset at (\S+)/.exec(out)![1]!);
    const oldZsk = before.signers[0]!;

    const problems: string[] = [];
    const phases: string[] = [];
    let asked = 0;
    while (Date.now() < leaves + 4000) {
      problems.push(...(await ask()));
      asked++;
      const s = await served('fast.example', 'SOA');
      const phase = `${s.keys.includes(oldZsk) ? 'old' : '-'}+${s.keys.includes(tag) ? 'new' : '-'} signed by ${s.signers[0] === tag ? 'new' : s.signers[0] === oldZsk ? 'old' : s.signers.join(',')}`;
      if (phases.at(-1) !== phase) phases.push(phase);
      await delay(250);
    }
    expect(problems, dane.logs().slice(-2000)).toEqual([]);
    expect(asked).toBeGreaterThan(15);
    // old only -> both published, old signs -> both published, new signs -> new only (the first may be missed
    // when the server picked the key files up before the first look).
    expect(phases.filter((p) => p !== 'old+- signed by old')).toEqual([
      'old+new signed by old',
      'old+new signed by new',
      '-+new signed by new',
    ]);
    expect(dane.logs()).toContain('"zone-keys-changed"');
  }, 60_000);

  it('control: a naive ZSK swap with the old DNSKEY RRset still cached makes the same Unbound fail', async () => {
    const unbound = await resolver([...(await ds('slow.example'))]);
    const zone = parseName('slow.example.', ROOT);
    // Warm: the DNSKEY RRset (TTL 300) is cached.
    expect(secure(await query(unbound, 'h0.slow.example', 'A', { dnssec: true, rd: true }))).toBe(true);
    // Swap as an operator without dane-ns' timing would: a new ZSK signing at once, the old one gone at once.
    const now = new Date();
    const old = loadZoneKeys(dane.keysDir, zone).keys.find((k) => k.flags === 256)!;
    writeKeyFiles(dane.keysDir, generateKey(zone, 'zsk', now));
    rewriteKeyTiming(dane.keysDir, { ...old, inactive: now, delete: now });
    const fresh = loadZoneKeys(dane.keysDir, zone).keys.find((k) => k.flags === 256 && k.tag !== old.tag)!;
    for (let i = 0; i < 40 && (await served('slow.example', 'SOA')).signers[0] !== fresh.tag; i++) await delay(100);
    let failed = 0;
    for (let i = 1; i < 20; i++)
      if ((await query(unbound, `h${i}.slow.example`, 'A', { dnssec: true, rd: true })).rcode === 'SERVFAIL') failed++;
    expect(failed).toBeGreaterThan(0);
  }, 60_000);

  it('KSK: both anchors validate while both KSKs sign; after --ds-published the new KSK stays alone', async () => {
    const oldDs = await ds('ksk.example');
    expect(oldDs).toHaveLength(1);
    const viaOld = await resolver(oldDs);
    const ok = async (r: Server): Promise<boolean> => {
      const a = await query(r, 'ns1.ksk.example', 'A', { dnssec: true, rd: true });
      return a.rcode === 'NOERROR' && secure(a);
    };
    expect(await ok(viaOld)).toBe(true);

    const out = await cli('keys', 'rollover', 'ksk.example', '--ksk', '--margin', '1');
    const newDs = out.split('\n').find((l) => / IN DS /.test(l))!;
    const dsFrom = Date.parse(/from (\S+) on/.exec(out)![1]!);
    for (let i = 0; i < 40 && (await served('ksk.example', 'DNSKEY')).signers.length < 2; i++) await delay(100);
    const both = await served('ksk.example', 'DNSKEY');
    expect(both.keys).toHaveLength(3);
    expect(both.signers).toHaveLength(2);

    // Mid-rollover, the signed zone passes the verifiers (three keys, two signatures over the DNSKEY RRset).
    const signed = join(dir, 'ksk.signed');
    writeFileSync(signed, await cli('zone', 'export', 'ksk.example', '--signed'));
    const anchor = join(dir, 'ksk.ds');
    writeFileSync(anchor, (await ds('ksk.example')).join('\n') + '\n');
    expect((await run('ldns-verify-zone', ['-k', anchor, signed])).stdout).toContain('Zone is verified and complete');
    const dv = await run(requireTool('dnssec-verify'), ['-o', 'ksk.example.', signed]);
    expect(dv.stdout + dv.stderr).toMatch(/Zone fully signed/);

    const viaNew = await resolver([newDs]);
    expect(await ok(viaNew)).toBe(true);
    expect(await ok(viaOld)).toBe(true);

    // The "parent" now publishes the new DS; once allowed, say so.
    await delay(Math.max(0, dsFrom - Date.now()) + 200);
    const done = await cli('keys', 'rollover', 'ksk.example', '--ds-published', '--ds-ttl', '1', '--margin', '1');
    const until = Date.parse(/until (\S+) \(/.exec(done)![1]!);
    await delay(Math.max(0, until - Date.now()) + 1500);
    const after = await served('ksk.example', 'DNSKEY');
    expect(after.keys).toHaveLength(2);
    expect(after.signers).toEqual([Number(newDs.split(/\s+/)[4])]);
    await delay(2500); // Unbound's cached DNSKEY RRset (TTL 2) expires
    expect(await ok(viaNew)).toBe(true);
  }, 60_000);
});
