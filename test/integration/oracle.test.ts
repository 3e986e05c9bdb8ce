/**
 * Oracle test (after Knot's system tests): the same zones served by dane-ns and by Knot DNS (zone text from
 * `dane-ns zone export`), the same queries to both with kdig, and rcode, flags and the three sections must be
 * equal (order within a section aside). Differences that are RFC-permitted choices are listed in PERMITTED
 * with the reason; anything else fails.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparable, query, type Answer } from './helpers/dig.js';
import { startKnot, type KnotInstance } from './helpers/knot.js';
import { freePorts } from './helpers/ports.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { ORACLE_CASES, type OracleCase } from './oracle-cases.js';

const run = promisify(execFile);
const FIXTURES = new URL('../fixtures/oracle/', import.meta.url).pathname;

type Cmp = ReturnType<typeof comparable>;

/**
 * RFC-permitted differences. Each entry names the cases it applies to and rewrites both answers to what they
 * must then agree on, so the rest of the answer is still compared.
 */
/**
 * RFC-permitted differences, each with the cases it applies to, the reason, and a rewrite of both answers to
 * what they must then agree on (so the rest of the answer is still compared). Empty today: where the RFCs
 * leave a choice (the one RRset answering ANY, RFC 8482 §4.1; whether a truncated answer keeps the RRsets that
 * fitted), dane-ns makes the same choice as Knot, and the table checks it.
 */
const PERMITTED: {
  readonly applies: (c: OracleCase) => boolean;
  readonly why: string;
  readonly normalise: (a: Cmp) => Cmp;
}[] = [];

describe('oracle: dane-ns answers equal Knot DNS answers', () => {
  let zonesDir: string;
  let dane: DaneNsInstance;
  let knot: KnotInstance;

  beforeAll(async () => {
    zonesDir = mkdtempSync(join(tmpdir(), 'dane-ns-oracle-'));
    cpSync(FIXTURES, zonesDir, { recursive: true });
    const [pDane, pKnot] = await freePorts(2);
    dane = await startDaneNs({ zonesDir, port: pDane! });
    const zones = [];
    for (const f of readdirSync(zonesDir).filter((x) => x.endsWith('.yaml'))) {
      const origin = f.replace(/\.yaml$/, '.');
      const { stdout } = await run(process.execPath, [CLI, 'zone', 'export', origin, '--zones', zonesDir]);
      zones.push({ origin, text: stdout });
    }
    knot = await startKnot({ zones, port: pKnot! });
  });

  afterAll(async () => {
    await dane?.stop();
    await knot?.stop();
    if (zonesDir) rmSync(zonesDir, { recursive: true, force: true });
  });

  it('has at least 80 cases', () => {
    expect(ORACLE_CASES.length).toBeGreaterThanOrEqual(80);
  });

  it('every case: rcode, flags, answer, authority and additional equal', async () => {
    const diffs: string[] = [];
    const rows: { c: OracleCase; ours: Answer; theirs: Answer }[] = [];
    // A few at a time: each is two kdig processes.
    for (let i = 0; i < ORACLE_CASES.length; i += 8) {
      const batch = ORACLE_CASES.slice(i, i + 8);
      const res = await Promise.all(
        batch.map(async (c) => {
          const opts = {
            ...(c.tcp ? { tcp: true } : {}),
            ...(c.noEdns ? { noEdns: true } : {}),
            ...(c.bufsize ? { bufsize: c.bufsize } : {}),
          };
          const [ours, theirs] = await Promise.all([
            query({ host: '127.0.0.1', port: dane.port }, c.qname, c.qtype, opts),
            query({ host: '127.0.0.1', port: knot.port }, c.qname, c.qtype, opts),
          ]);
          return { c, ours, theirs };
        }),
      );
      rows.push(...res);
    }
    for (const { c, ours, theirs } of rows) {
      let a = comparable(ours);
      let b = comparable(theirs);
      for (const p of PERMITTED)
        if (p.applies(c)) {
          a = p.normalise(a);
          b = p.normalise(b);
        }
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        diffs.push(
          `${c.qname} ${c.qtype}${c.tcp ? ' +tcp' : ''}${c.noEdns ? ' +noedns' : ''} (${c.why})\n  dane-ns: ${JSON.stringify(a)}\n  knot:    ${JSON.stringify(b)}`,
        );
      }
    }
    expect(diffs, diffs.join('\n\n')).toEqual([]);
    // The table must exercise what it claims: a sample of outcomes that would go unnoticed if both servers failed alike.
    const rcodes = new Set(rows.map((r) => r.ours.rcode));
    expect([...rcodes].sort()).toEqual(['NOERROR', 'NXDOMAIN', 'REFUSED']);
    expect(rows.some((r) => r.ours.flags.includes('tc'))).toBe(true);
    expect(rows.some((r) => !r.ours.flags.includes('aa') && r.ours.authority.some((x) => / NS /.test(x)))).toBe(true);
  });
});
