/**
 * Reloads never stop answering: while a large signed zone (bench/gen-zone.mjs, NAMES host names) is added to
 * the watched zones directory, edited (one record) and removed, a UDP and a TCP probe ask the server for a small
 * zone's SOA every 50 ms, and no probe waits long for its answer. The parse, build, signing, serial
 * digests and IXFR journal of the large zone run in slices (src/server/slices.ts) between the probes' answers.
 * (The bound is BOUND_MS below, not the 100 ms aimed at: see there.)
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeQuery } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { RCODE, T } from '../../src/wire/types.js';
import { freePort } from './helpers/ports.js';
import { REPO_ROOT, startDaneNs, type DaneNsInstance } from './helpers/server.js';

/**
 * Host names of the large zone: enough that a reload done in one piece (parse, build, sign, digest, journal on
 * the main thread) stops the answers for seconds, small enough that the test takes well under a minute.
 */
const NAMES = 10_000;
const BIG = 'gap.example';
const PROBE_EVERY_MS = 50;
/**
 * The longest wait allowed. The aim is 100 ms, which bench/reload-gap.sh measures beside Knot DNS on a quiet
 * machine (docs/benchmarks.md: every step now yields; what remains are the garbage collector's pauses, and a TCP
 * probe meets two turns of the event loop). A test cannot hold that bound: it shares a 2-core machine with other
 * test files, and on one loaded so (load average 12-14) even Knot DNS waited up to 338 ms in the bench. Before
 * the work was cut into steps, this test saw 877-2732 ms on such a machine, and before the slicing a probe went
 * unanswered for over 5 s. The bound sits above the loaded machine's figures.
 */
const BOUND_MS = 4000;

/** One query, its answer's rcode and SOA serial; rejects after `timeoutMs`. */
type Ask = (name: string, type: number, timeoutMs?: number) => Promise<{ rcode: number; serial?: number }>;

function answerOf(buf: Uint8Array): { rcode: number; serial?: number } {
  const m = decodeMessage(buf);
  const soa = m.answer.find((r) => r.type === T.SOA);
  const serial = soa ? Buffer.from(soa.rdata).readUInt32BE(soa.rdata.length - 20) : undefined;
  return { rcode: m.flags & 0xf, ...(serial !== undefined ? { serial } : {}) };
}

function udpAsk(port: number): Ask {
  let id = 0;
  return (name, type, timeoutMs = 5000) =>
    new Promise((resolve, reject) => {
      const s = createSocket('udp4');
      const q = encodeQuery(parseName(`${name}.`), type, { id: ++id & 0xffff });
      const timer = setTimeout(() => {
        s.close();
        reject(new Error(`no UDP answer within ${timeoutMs} ms`));
      }, timeoutMs);
      s.on('message', (buf) => {
        clearTimeout(timer);
        s.close();
        resolve(answerOf(buf));
      });
      s.send(q, port, '127.0.0.1');
    });
}

function tcpAsk(port: number): Ask {
  return (name, type, timeoutMs = 5000) =>
    new Promise((resolve, reject) => {
      const q = encodeQuery(parseName(`${name}.`), type, { id: 7 });
      const c = connect({ host: '127.0.0.1', port });
      let got = Buffer.alloc(0);
      const timer = setTimeout(() => {
        c.destroy();
        reject(new Error(`no TCP answer within ${timeoutMs} ms`));
      }, timeoutMs);
      c.on('connect', () => c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
      c.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
          clearTimeout(timer);
          c.destroy();
          resolve(answerOf(got.subarray(2, 2 + got.readUInt16BE(0))));
        }
      });
      c.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
}

/** Asks every PROBE_EVERY_MS until stopped; keeps each probe's wait (a probe not answered in 5 s fails). */
function probe(ask: Ask): { stop: () => Promise<number[]> } {
  const waits: Promise<number>[] = [];
  const timer = setInterval(() => {
    const t0 = performance.now();
    waits.push(ask('probe.example', T.SOA).then(() => performance.now() - t0));
  }, PROBE_EVERY_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      return Promise.all(waits);
    },
  };
}

describe('reloads of a large zone never stop the answers', () => {
  let dir: string;
  let gen: string;
  let server: DaneNsInstance;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-gap-'));
    gen = mkdtempSync(join(tmpdir(), 'dane-ns-gap-gen-'));
    const g = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bench/gen-zone.mjs'), '--names', String(NAMES), '--zone', BIG, '--out', gen],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(g.status, g.stderr).toBe(0);
    writeFileSync(
      join(dir, 'probe.example.yaml'),
      'origin: probe.example.\nsoa: { mname: ns1, rname: h, serial: 1 }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n',
    );
    port = await freePort();
    server = await startDaneNs({ zonesDir: dir, port });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(gen, { recursive: true, force: true });
  });

  it(`added, edited and removed (${NAMES} names): no probe waits over ${BOUND_MS} ms`, async () => {
    const udp = udpAsk(port);
    const big = async (): Promise<{ rcode: number; serial?: number }> => udp(BIG, T.SOA).catch(() => ({ rcode: -1 }));
    /** Waits until `done` holds for the large zone's answer (checked every 100 ms, at most 120 s). */
    const until = async (done: (a: { rcode: number; serial?: number }) => boolean): Promise<number> => {
      const t0 = performance.now();
      for (;;) {
        const a = await big();
        if (done(a)) return a.serial ?? 0;
        if (performance.now() - t0 > 120_000) throw new Error(`not reached\n${server.logs().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // The file is written beside the directory and renamed in: the watcher sees it whole.
    const text =
      readFileSync(join(gen, 'yaml', `${BIG}.yaml`), 'utf8') + 'transfer:\n  allow:\n    - address: 127.0.0.1\n';
    const put = (t: string): void => {
      writeFileSync(join(gen, 'next.yaml'), t);
      renameSync(join(gen, 'next.yaml'), join(dir, `${BIG}.yaml`));
    };
    // The directory watch is set up once the server listens, and its first scan of the directory takes a moment:
    // a file renamed in before it ends would be seen only at the next change.
    await new Promise((r) => setTimeout(r, 2000));
    const probes = [probe(udp), probe(tcpAsk(port))];
    put(text);
    const first = await until((a) => a.rcode === RCODE.NOERROR && a.serial !== undefined);
    put(text.replace('TXT: "v=spf1 mx -all"', 'TXT: "v=spf1 mx ~all"'));
    await until((a) => a.serial !== undefined && a.serial !== first);
    unlinkSync(join(dir, `${BIG}.yaml`));
    await until((a) => a.rcode === RCODE.REFUSED);
    const [udpWaits, tcpWaits] = await Promise.all(probes.map((p) => p.stop()));
    const longest = (w: number[]): number => Math.round(Math.max(...w));
    const seen = { udp: longest(udpWaits!), tcp: longest(tcpWaits!), probes: udpWaits!.length + tcpWaits!.length };
    process.stdout.write(`reload-gap: longest waits ${JSON.stringify(seen)}\n`);
    // Both probes asked all along (the phases took seconds), and never waited long.
    expect(udpWaits!.length).toBeGreaterThan(20);
    expect(seen, JSON.stringify(seen)).toMatchObject({ udp: expect.any(Number), tcp: expect.any(Number) });
    expect(seen.udp, JSON.stringify(seen)).toBeLessThanOrEqual(BOUND_MS);
    expect(seen.tcp, JSON.stringify(seen)).toBeLessThanOrEqual(BOUND_MS);
    expect(server.logs()).toMatch(/"event":"zone-published".*"zone":"gap\.example\.".*"reason":"reload"/);
  }, 300_000);
});
