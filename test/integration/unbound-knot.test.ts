/**
 * Self-test of the validation harness: Knot DNS signs the oracle zones (test/fixtures/oracle, exported by
 * `dane-ns zone export`), a validating Unbound started by startUnbound() sits in front of it with the DS of
 * example.com and example.net as trust anchors, and every row of validation-cases.ts must come back with its
 * rcode and security status (AD bit), never SERVFAIL:
 *  1. cold: the caches are emptied (unbound-control reload) before each question, so each answer carries its own
 *     proofs;
 *  2. warm: every question again without flushing, in order, so Unbound answers from what it learned (including
 *     its aggressive NSEC cache, RFC 8198);
 *  3. warm, reversed order: everything cached;
 * and delv (BIND's validator) agrees on a subset, through Unbound and straight from Knot.
 * Knot being a correct signer, a failure here means the table or the harness is wrong, not the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delv } from './helpers/delv.js';
import { kdigQueryArgs, query, requireTool, type Answer, type Server } from './helpers/dig.js';
import { startKnot, type KnotInstance } from './helpers/knot.js';
import { freePorts } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUnbound, type UnboundInstance } from './helpers/unbound.js';
import { ORACLE_CASES } from './oracle-cases.js';
import {
  ANCHORED_ZONES,
  DELV_SUBSET,
  NOT_THROUGH_A_RESOLVER,
  OUT_OF_ZONE_TARGETS,
  SERVED_ZONES,
  VALIDATION_CASES,
  type ValidationCase,
} from './validation-cases.js';
import { exec } from '../support/exec.js';

const ORACLE_DIR = 'test/fixtures/oracle';

/**
 * The authoritative server under test: Knot DNS (this file, proving the table and the harness) or dane-ns
 * (unbound-dane-ns.test.ts runs this whole file again with VALIDATION_SUBJECT=dane-ns): one contract, two
 * subjects (after hono's shared router test cases).
 */
const SUBJECT = process.env.VALIDATION_SUBJECT === 'dane-ns' ? 'dane-ns' : 'knot';

let knot: KnotInstance | undefined;
let dane: DaneNsInstance | undefined;
let daneDir: string | undefined;
let unbound: UnboundInstance;
let resolver: Server;
let authoritative: Server;
const anchors: string[] = [];

beforeAll(async () => {
  for (const tool of ['kdig', 'knotd', 'keymgr', 'unbound', 'unbound-control', 'unbound-checkconf', 'delv'])
    requireTool(tool);
  const [knotPort, unboundPort] = (await freePorts(2)) as [number, number];
  authoritative = { host: '127.0.0.1', port: knotPort };
  if (SUBJECT === 'dane-ns') {
    daneDir = mkdtempSync(join(tmpdir(), 'dane-ns-validate-'));
    const zonesDir = join(daneDir, 'zones');
    cpSync(join(REPO_ROOT, ORACLE_DIR), zonesDir, { recursive: true });
    const keysDir = join(daneDir, 'keys');
    dane = await startDaneNs({ zonesDir, port: knotPort, keysDir, stateDir: join(daneDir, 'state') });
    for (const zone of ANCHORED_ZONES)
      anchors.push(...(await exec(process.execPath, [CLI, 'ds', zone, '--keys', keysDir])).trim().split('\n'));
  }
  const zones = [];
  if (SUBJECT === 'knot')
    for (const zone of SERVED_ZONES) {
      zones.push({
        origin: zone,
        text: await exec(process.execPath, [CLI, 'zone', 'export', zone, '--zones', ORACLE_DIR]),
      });
    }
  if (SUBJECT === 'knot') knot = await startKnot({ zones, port: knotPort, dnssec: true });
  for (const zone of SUBJECT === 'knot' ? ANCHORED_ZONES : []) {
    const out = await exec(requireTool('keymgr'), ['-c', `${knot!.dir}/knot.conf`, zone, 'ds']);
    // keymgr prints `zone. DS tag 13 2 hex` (SHA-256) and `... 4 hex` (SHA-384); keep the SHA-256 one.
    const ds = out.split('\n').filter((l) => /^\S+\s+DS\s+\d+\s+13\s+2\s+[0-9a-f]+\s*$/i.test(l.trim()));
    if (ds.length === 0) throw new Error(`keymgr ${zone} ds printed no SHA-256 DS:\n${out}`);
    anchors.push(...ds);
  }
  unbound = await startUnbound({
    port: unboundPort,
    stubs: SERVED_ZONES.map((zone) => ({ zone, addr: `127.0.0.1@${knotPort}` })),
    trustAnchors: anchors,
    authZones: [...OUT_OF_ZONE_TARGETS],
  });
  resolver = { host: '127.0.0.1', port: unboundPort };
});

afterAll(async () => {
  await unbound?.stop();
  await knot?.stop();
  await dane?.stop();
  if (daneDir) rmSync(daneDir, { recursive: true, force: true });
});

const label = (v: ValidationCase): string =>
  `${v.qname} ${v.qtype}${v.tcp === true ? ' (TCP)' : ''}: ${v.rcode} ${v.security} - ${v.why}`;

/** Unbound's log lines about this question (SERVFAIL reasons, validation failures). */
function logFor(v: ValidationCase): string {
  const name = v.qname.toLowerCase();
  const lines = unbound.logs().split('\n');
  const hits = lines.filter((l) => l.toLowerCase().includes(name) || /error|fail|bogus/i.test(l));
  return hits.slice(-20).join('\n');
}

async function ask(v: ValidationCase): Promise<void> {
  const opts = { rd: true, dnssec: true, tcp: v.tcp === true, timeoutSec: 5, retries: 1 };
  let a: Answer;
  try {
    a = await query(resolver, v.qname, v.qtype, opts);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nunbound log:\n${logFor(v)}`);
  }
  const got = { rcode: a.rcode, security: a.flags.includes('ad') ? 'secure' : 'insecure' };
  const context =
    `kdig ${kdigQueryArgs(resolver, v.qname, v.qtype, opts).join(' ')}\n` +
    `flags: ${a.flags.join(' ')}\nanswer:\n  ${a.answer.join('\n  ')}\nauthority:\n  ${a.authority.join('\n  ')}\n` +
    `EDE: ${JSON.stringify(a.edns?.options.filter((o) => o.code === 15) ?? [])}\nunbound log:\n${logFor(v)}`;
  expect(got, context).toEqual({ rcode: v.rcode, security: v.security });
  expect(a.flags, context).toContain('ra');
}

describe('validation table', () => {
  it('has at least 85 cases and covers every oracle case a resolver can answer', () => {
    expect(VALIDATION_CASES.length).toBeGreaterThanOrEqual(85);
    const key = (qname: string, qtype: string): string => `${qname.toLowerCase()} ${qtype.toUpperCase()}`;
    const inTable = new Set(VALIDATION_CASES.map((v) => key(v.qname, v.qtype)));
    const excluded = new Set(NOT_THROUGH_A_RESOLVER.map((v) => key(v.qname, v.qtype)));
    const missing = ORACLE_CASES.filter((o) => o.noEdns !== true)
      .map((o) => key(o.qname, o.qtype))
      .filter((k) => !inTable.has(k) && !excluded.has(k));
    expect(missing).toEqual([]);
    for (const k of excluded) expect(inTable.has(k), `${k} is both in the table and excluded`).toBe(false);
  });
});

describe(`Unbound in front of ${SUBJECT} (signed oracle zones)`, () => {
  describe('cold cache: flushed before every question', () => {
    it.each(VALIDATION_CASES.map((v) => [label(v), v] as const))('%s', async (_l, v) => {
      await unbound.flush();
      await ask(v);
    });
  });

  describe('warm cache: asked again without flushing (aggressive NSEC)', () => {
    it.each(VALIDATION_CASES.map((v) => [label(v), v] as const))('%s', async (_l, v) => {
      await ask(v);
    });
  });

  describe('warm cache, reversed order', () => {
    it.each([...VALIDATION_CASES].reverse().map((v) => [label(v), v] as const))('%s', async (_l, v) => {
      await ask(v);
    });
  });

  it('answered the warm passes partly from the aggressive NSEC cache, with no bogus answer and no SERVFAIL', async () => {
    // The counters restart at the last reload, i.e. they cover the last cold question and both warm passes.
    const st = await unbound.stats();
    const aggressive = (st['num.query.aggressive.NOERROR'] ?? 0) + (st['num.query.aggressive.NXDOMAIN'] ?? 0);
    expect(aggressive, JSON.stringify(st)).toBeGreaterThan(0);
    expect(st['num.answer.bogus'] ?? 0).toBe(0);
    expect(st['num.answer.rcode.SERVFAIL'] ?? 0).toBe(0);
    const bad = unbound
      .logs()
      .split('\n')
      .filter((l) => /SERVFAIL|validation failure|bogus/i.test(l));
    expect(bad).toEqual([]);
  });
});

describe('negative control: a wrong trust anchor is caught', () => {
  it('Unbound answers SERVFAIL and delv fails for example.com, while example.net stays secure', async () => {
    // Flip the last digest digit of the example.com DS.
    const wrong = anchors.map((l) =>
      l.toLowerCase().startsWith('example.com.')
        ? l.replace(/([0-9a-f])\s*$/i, (d) => (d.trim().toLowerCase() === '0' ? '1' : '0'))
        : l,
    );
    expect(wrong).not.toEqual(anchors);
    const [port] = (await freePorts(1)) as [number];
    const bad = await startUnbound({
      port,
      stubs: SERVED_ZONES.map((zone) => ({ zone, addr: `127.0.0.1@${authoritative.port}` })),
      trustAnchors: wrong,
    });
    try {
      const srv = { host: '127.0.0.1', port };
      const soa = await query(srv, 'example.com.', 'SOA', { rd: true, dnssec: true, timeoutSec: 5 });
      expect(soa.rcode, bad.logs()).toBe('SERVFAIL');
      expect(
        soa.edns?.options.some((o) => o.code === 15),
        'EDE in the SERVFAIL',
      ).toBe(true);
      const net = await query(srv, 'www.example.net.', 'A', { rd: true, dnssec: true, timeoutSec: 5 });
      expect(net.rcode).toBe('NOERROR');
      expect(net.flags).toContain('ad');
      const d = await delv(authoritative, '_25._tcp.mail.example.com.', 'TLSA', wrong);
      expect(d.status, d.output).toBe('failed');
      expect(d.validated).toBe(false);
    } finally {
      await bad.stop();
    }
  });
});

describe.each([
  ['through Unbound', () => resolver],
  ['straight from Knot', () => authoritative],
] as const)('delv agrees (%s)', (_where, server) => {
  it.each(DELV_SUBSET.map((v) => [label(v), v] as const))('%s', async (_l, v) => {
    const r = await delv(server(), v.qname, v.qtype, anchors);
    const context = `${r.command}\n${r.output
      .split('\n')
      .filter((l) => !l.startsWith(';; '))
      .join('\n')}`;
    expect(r.status, context).toBe(v.security);
    expect(r.negative === 'NXDOMAIN', context).toBe(v.rcode === 'NXDOMAIN');
  });
});
