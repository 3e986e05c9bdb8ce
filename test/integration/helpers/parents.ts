/**
 * A signed parent zone `example.` on two Knot instances (two parent name servers) above dane-ns children, and a
 * registry stand-in that follows each child's CDS/CDNSKEY (RFC 7344 §4) with BIND's `dnssec-cds`, and the RFC 8078
 * delete records itself: it serves the new DS set at the first parent at once and at the second `lateMs` later,
 * so that the second serves the old DS longer. For tests that need the parent's DS to move by itself (KSK and
 * CSK rollovers, going insecure).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { query, requireTool, type Server } from './dig.js';
import { startKnot, type KnotInstance } from './knot.js';
import { freePort } from './ports.js';
import { delay } from '../../support/time.js';

const run = promisify(execFile);

export interface Parents {
  readonly knots: readonly KnotInstance[];
  /** The parent servers' ports (for `dnssec.parent: [127.0.0.1@PORT, ...]`). */
  readonly ports: readonly number[];
  /** The DS lines of the parent zone's KSKs (Unbound's trust anchors). */
  anchors(): Promise<string[]>;
  /** Serves `ds` (DS rdata texts) for `child` at parent `i`, the other children's DS as they are. */
  publish(i: number, child: string, ds: readonly string[]): Promise<void>;
  /** Starts following `child`'s CDS at `server` (its DS now `initial`); `workDir` holds dnssec-cds's files. */
  registry(child: string, server: Server, initial: readonly string[], lateMs: number, workDir: string): Registry;
  stop(): Promise<void>;
}

export interface Registry {
  /** Stops following, and resolves once the last round has finished. */
  stop(): Promise<void>;
  /** Every change served: when, and the DS set (a line starting `dnssec-cds failed` when it refused). */
  readonly updates: { at: number; ds: string[] }[];
}

/** The label of a child under `example.`: `zsk` for `zsk.example.`. */
const label = (child: string): string => child.replace(/\.example\.$/, '');

/**
 * Starts the two parents in `dir` (`knot0`, `knot1`), delegating each child (`NAME.example.`, its name server
 * `ns1.NAME.example.` at 127.0.0.1) with its DS (rdata texts).
 */
export async function startParents(dir: string, children: Record<string, readonly string[]>): Promise<Parents> {
  const ds: Record<string, string[]>[] = [0, 1].map(() =>
    Object.fromEntries(Object.entries(children).map(([c, d]) => [c, [...d]])),
  );
  let serial = Math.floor(Date.now() / 1000);
  const text = (i: number): string =>
    [
      '$TTL 2',
      `@ SOA ns.example. hostmaster.example. ${serial} 60 60 600 2`,
      '@ NS ns',
      'ns A 127.0.0.1',
      ...Object.entries(ds[i]!).flatMap(([c, d]) => [
        `${label(c)} NS ns1.${label(c)}`,
        `ns1.${label(c)} A 127.0.0.1`,
        ...d.map((x) => `${label(c)} 2 DS ${x}`),
      ]),
      '',
    ].join('\n');
  const ports = [await freePort(), await freePort()];
  const knots: KnotInstance[] = [];
  for (const [i, port] of ports.entries())
    knots.push(
      await startKnot({
        port,
        dnssec: true,
        dir: join(dir, `knot${i}`),
        zones: [{ origin: 'example.', text: text(i) }],
      }),
    );

  async function publish(i: number, child: string, set: readonly string[]): Promise<void> {
    const k = knots[i]!;
    ds[i]![child] = [...set];
    serial++;
    writeFileSync(join(k.dir, 'zones', '00-example.zone'), `$ORIGIN example.\n${text(i)}`);
    await run(requireTool('knotc'), ['-c', join(k.dir, 'knot.conf'), 'zone-reload', 'example.']);
    const want = set.map((d) => d.split(' ')[0]!).sort();
    for (let t = 0; t < 50; t++) {
      const a = await query({ host: '127.0.0.1', port: k.port }, child, 'DS', { tcp: true });
      const tags = a.answer
        .map((l) => l.split(/\s+/))
        .filter((f) => f[3] === 'DS')
        .map((f) => f[4]!);
      if (JSON.stringify(tags.sort()) === JSON.stringify(want)) return;
      await delay(100);
    }
    throw new Error(`parent ${i} does not serve ${set.join(', ')} for ${child}\n${k.logs().slice(-2000)}`);
  }

  function registry(child: string, server: Server, initial: readonly string[], lateMs: number, work: string): Registry {
    let current = [...initial];
    let stopped = false;
    const updates: { at: number; ds: string[] }[] = [];
    const norm = (xs: readonly string[]): string =>
      [...xs]
        .map((x) => x.toUpperCase())
        .sort()
        .join('|');
    const round = async (): Promise<void> => {
      const sets = await Promise.all(
        ['DNSKEY', 'CDS', 'CDNSKEY'].map((t) => query(server, child, t, { dnssec: true, tcp: true })),
      );
      if (!sets[1]!.answer.some((l) => l.split(/\s+/)[3] === 'CDS')) return;
      // RFC 8078 §4: the delete record asks for no DS at all. dnssec-cds 9.18 refuses a CDS delete record ("do not
      // match any -a digest types") and turns the CDNSKEY one into a DS of its own: the stand-in applies a delete
      // itself once the CDS RRset carries a signature by a key the current DS points to.
      if (sets[1]!.answer.some((l) => / CDS 0 0 0 00$/.test(l))) {
        const tags = current.map((d) => d.split(' ')[0]);
        const signedBy = sets[1]!.answer.filter((l) => / RRSIG CDS /.test(l)).map((l) => l.split(/\s+/)[10]);
        if (current.length === 0 || !signedBy.some((t) => tags.includes(t))) return;
        current = [];
        await publish(0, child, []);
        updates.push({ at: Date.now(), ds: [] });
        await delay(lateMs);
        await publish(1, child, []);
        updates.push({ at: Date.now(), ds: [] });
        return;
      }
      const childFile = join(work, `${child}records`);
      writeFileSync(childFile, sets.flatMap((a) => a.answer).join('\n') + '\n');
      const dsset = join(work, `dsset-${child}`);
      writeFileSync(dsset, current.map((d) => `${child} 2 IN DS ${d}`).join('\n') + '\n');
      // dnssec-cds checks the CDS is signed by a key the current DS points to, with signatures valid since -s.
      const start = new Date(Date.now() - 86400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
      let out: string;
      try {
        out = (await run(requireTool('dnssec-cds'), ['-s', start, '-f', childFile, '-d', dsset, child])).stdout;
      } catch (e) {
        updates.push({ at: Date.now(), ds: [`dnssec-cds failed: ${(e as { stderr?: string }).stderr ?? e}`] });
        return;
      }
      const next = out
        .split('\n')
        .filter((l) => / DS /.test(l))
        .map((l) => l.split(/\s+/).slice(-4).join(' ').toUpperCase());
      if (next.length === 0 || norm(next) === norm(current)) return;
      current = next;
      await publish(0, child, next);
      updates.push({ at: Date.now(), ds: next });
      await delay(lateMs);
      await publish(1, child, next);
      updates.push({ at: Date.now(), ds: next });
    };
    const loop = (async () => {
      while (!stopped) {
        await delay(500);
        if (stopped) break;
        try {
          await round();
        } catch (e) {
          // A failed question while the child is served is a finding; after stop() the child may be gone.
          if (!stopped) updates.push({ at: Date.now(), ds: [`registry round failed: ${(e as Error).message}`] });
        }
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
      },
      updates,
    };
  }

  async function anchors(): Promise<string[]> {
    const out: string[] = [];
    for (const k of knots) {
      const { stdout } = await run(requireTool('keymgr'), ['-c', join(k.dir, 'knot.conf'), 'example.', 'ds']);
      out.push(
        ...stdout
          .trim()
          .split('\n')
          .filter((l) => / DS \d+ 13 2 /.test(l)),
      );
    }
    return out;
  }

  return {
    knots,
    ports,
    anchors,
    publish,
    registry,
    stop: async () => {
      for (const k of knots) await k.stop();
    },
  };
}
