/**
 * A fake root: the root zone `.` served and signed by Knot on a loopback port, delegating top-level zones to
 * test servers with their DS (RFC 4035 §5: the chain of trust from the root anchor down). A validating Unbound
 * anchored at this root's key (instead of at a parent's) checks every link a real resolver checks: the root's
 * DS for the TLD, the TLD's DS for the child. Unbound reaches the root and the TLD through stub zones (glue cannot
 * carry a port), so the delegation's NS names only need to exist.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { query, requireTool } from './dig.js';
import { startKnot, type KnotInstance } from './knot.js';
import { freePort } from './ports.js';
import { delay } from '../../support/time.js';

const run = promisify(execFile);

export interface FakeRoot {
  readonly knot: KnotInstance;
  readonly port: number;
  /** The DS lines of the root's KSK, Unbound's trust anchor (`. 3600 IN DS ...`). */
  anchors(): Promise<string[]>;
  /** Serves `ds` (DS rdata texts) as the DS of `tld`, the others as they are; resolves once reloaded. */
  setDs(tld: string, ds: readonly string[]): Promise<void>;
  /** The stub entry for Unbound: the root at this Knot. */
  readonly stub: { zone: string; addr: string };
  stop(): Promise<void>;
}

/** DS rdata texts (`TAG 13 2 HEX`) of DS lines in zone-file syntax (what `keymgr ZONE ds` prints). */
export function dsRdatas(lines: readonly string[]): string[] {
  return lines.map((l) => l.split(/\s+/).slice(-4).join(' '));
}

/**
 * Starts the root in `dir`, delegating each TLD (`example.`) to `ns.TLD` (127.0.0.1) with its DS (rdata texts).
 * TTLs are 2 s, as in the rollover tests.
 */
export async function startFakeRoot(dir: string, tlds: Record<string, readonly string[]>): Promise<FakeRoot> {
  const port = await freePort();
  const current: Record<string, readonly string[]> = { ...tlds };
  let serial = 1;
  const text = (): string =>
    [
      '$TTL 2',
      `@ SOA a.root-servers.test. hostmaster.root-servers.test. ${serial} 60 60 600 2`,
      '@ NS a.root-servers.test.',
      ...Object.entries(current).flatMap(([tld, ds]) => [
        `${tld} NS ns.${tld}`,
        `ns.${tld} A 127.0.0.1`,
        ...ds.map((d) => `${tld} DS ${d}`),
      ]),
      '',
    ].join('\n');
  const knot = await startKnot({ port, dnssec: true, dir: join(dir, 'root'), zones: [{ origin: '.', text: text() }] });
  return {
    knot,
    port,
    stub: { zone: '.', addr: `127.0.0.1@${port}` },
    anchors: async () => {
      const { stdout } = await run(requireTool('keymgr'), ['-c', join(knot.dir, 'knot.conf'), '.', 'ds']);
      return stdout
        .trim()
        .split('\n')
        .filter((l) => / DS \d+ 13 2 /.test(l));
    },
    setDs: async (tld, ds) => {
      current[tld] = [...ds];
      serial++;
      writeFileSync(join(knot.dir, 'zones', '00-root.zone'), `$ORIGIN .\n${text()}`);
      await run(requireTool('knotc'), ['-c', join(knot.dir, 'knot.conf'), 'zone-reload', '.']);
      const want = ds.map((d) => d.split(' ')[0]!).sort();
      for (let t = 0; t < 50; t++) {
        const a = await query({ host: '127.0.0.1', port }, tld, 'DS', { tcp: true });
        const tags = a.answer
          .map((l) => l.split(/\s+/))
          .filter((f) => f[3] === 'DS')
          .map((f) => f[4]!);
        if (JSON.stringify(tags.sort()) === JSON.stringify(want)) return;
        await delay(100);
      }
      throw new Error(`the fake root does not serve ${ds.join(', ')} for ${tld}\n${knot.logs().slice(-2000)}`);
    },
    stop: () => knot.stop(),
  };
}
