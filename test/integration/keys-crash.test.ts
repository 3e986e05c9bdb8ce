/**
 * A crash at any file write of key generation or of `dane-ns keys rollover` leaves nothing half done. The test
 * hook DANE_NS_FAULT_AFTER_WRITES=N (src/state/fault.ts) makes the process SIGKILL itself right after its Nth
 * atomic write; for every N up to the writes of the operation:
 *   - first start: the hooked start dies; the next start serves the zone, and the DNSKEY RRset it serves has the
 *     KSK(s) whose DS `dane-ns ds` prints (the digest computed here from the served DNSKEY, RFC 4034 §5.1.4);
 *   - `keys rollover` (ZSK, --ksk, --ds-published): the hooked command dies; the next command (`ds`) or start
 *     undoes the change, the served DNSKEY RRset again matches `ds`, and the same rollover then runs through.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { query, requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { CLI, REPO_ROOT, startDaneNs } from './helpers/server.js';

const run = promisify(execFile);
const ZONE = 'crash.example.';
const ZONE_FILE = [
  `origin: ${ZONE}`,
  'ttl: 300',
  'soa: { mname: ns1, rname: hostmaster@crash.example, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }',
  'records:',
  '  "@": { NS: ns1 }',
  '  ns1: { A: 192.0.2.53 }',
  '',
].join('\n');

const root = mkdtempSync(join(tmpdir(), 'dane-ns-keys-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const zonesDir = join(root, 'zones');
mkdirSync(zonesDir);
writeFileSync(join(zonesDir, `${ZONE.slice(0, -1)}.yaml`), ZONE_FILE);

interface Dirs {
  keys: string;
  state: string;
}

let n = 0;
function freshDirs(template?: Dirs): Dirs {
  const d = join(root, `run${++n}`);
  const dirs = { keys: join(d, 'keys'), state: join(d, 'state') };
  if (template) {
    cpSync(template.keys, dirs.keys, { recursive: true });
    cpSync(template.state, dirs.state, { recursive: true });
  }
  return dirs;
}

const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DANE_NS_')) env[k] = v;
  return env;
};

/** Runs the CLI to its end; the hook variable set when `faultAfter` is given. */
function cli(
  args: string[],
  faultAfter?: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const env = cleanEnv();
  if (faultAfter !== undefined) env.DANE_NS_FAULT_AFTER_WRITES = String(faultAfter);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.once('error', reject);
    p.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const hookWrites = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => /^dane-ns fault hook: write \d+: /.test(l));

/** `serve` with the hook at N: it must kill itself (before listening would matter). */
async function crashStart(dirs: Dirs, faultAfter: number): Promise<void> {
  const port = await freePort();
  const args = ['serve', '--zones', zonesDir, '--keys', dirs.keys, '--state', dirs.state];
  const r = await cli([...args, '--listen', `127.0.0.1:${port}`], faultAfter);
  expect(r.signal, `serve with the hook at write ${faultAfter}:\n${r.stderr}`).toBe('SIGKILL');
  expect(hookWrites(r.stderr)).toHaveLength(faultAfter);
}

/** Wire form of a name (lower case), for the DS digest. */
function nameWire(name: string): Buffer {
  const parts = name
    .toLowerCase()
    .split('.')
    .filter((l) => l !== '');
  return Buffer.concat([
    ...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/**
 * The DS rdata (tag, algorithm, digest type 2, SHA-256 hex) of a served DNSKEY line, computed here: RFC 4034
 * §5.1.4 and its Appendix B key tag.
 */
function dsOfServed(line: string): string {
  const f = line.split(' ');
  const [flags, proto, alg] = [Number(f[4]), Number(f[5]), Number(f[6])];
  const pub = Buffer.from(f.slice(7).join(''), 'base64');
  const rdata = Buffer.concat([Buffer.from([flags >> 8, flags & 0xff, proto, alg]), pub]);
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  const tag = ac & 0xffff;
  const digest = createHash('sha256')
    .update(Buffer.concat([nameWire(ZONE), rdata]))
    .digest('hex')
    .toUpperCase();
  return `${tag} ${alg} 2 ${digest}`;
}

/** Starts the server (no hook): it serves the zone, and its KSKs are exactly those whose DS `ds` prints. */
async function servesWhatDsPrints(dirs: Dirs, what: string): Promise<{ dnskeys: string[] }> {
  const dane = await startDaneNs({ zonesDir, port: await freePort(), keysDir: dirs.keys, stateDir: dirs.state });
  try {
    const a = await query({ host: '127.0.0.1', port: dane.port }, ZONE, 'DNSKEY');
    expect(a.rcode, `${what}: DNSKEY rcode\n${dane.logs()}`).toBe('NOERROR');
    const dnskeys = a.answer.filter((l) => / DNSKEY /.test(l)).sort();
    const served = dnskeys.filter((l) => / DNSKEY 257 /.test(l)).map(dsOfServed);
    expect(served.length, `${what}: a KSK is served`).toBeGreaterThan(0);
    const ds = await run(process.execPath, [CLI, 'ds', ZONE, '--keys', dirs.keys]);
    const printed = ds.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(4).join(' '));
    expect(printed.sort(), `${what}: ds prints the DS of the served KSKs`).toEqual(served.sort());
    expect(existsSync(join(dirs.keys, `K${ZONE}+pending.json`)), `${what}: journal left`).toBe(false);
    return { dnskeys };
  } finally {
    await dane.stop();
  }
}

/** The zone's key files and their text. */
function keyFiles(d: Dirs): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of readdirSync(d.keys).sort())
    if (/\+013\+\d{5}\.(key|private)$/.test(f)) m.set(f, readFileSync(join(d.keys, f), 'utf8'));
  return m;
}

describe('crash at every write of key generation and of keys rollover', () => {
  it('first start: killed after each write N, the next start serves a key set whose DS `ds` prints', async () => {
    requireTool('kdig');
    // The writes of a whole first start, counted by the hook at N = 0 (never kills).
    const probe = freshDirs();
    const port = await freePort();
    const dry = await startDaneNs({
      zonesDir,
      port,
      keysDir: probe.keys,
      stateDir: probe.state,
      env: { DANE_NS_FAULT_AFTER_WRITES: '0' },
    });
    await new Promise((r) => setTimeout(r, 300));
    const writes = hookWrites(dry.logs());
    await dry.stop();
    // The journal comes first, the four key files next, keys.json after them.
    expect(writes.findIndex((l) => l.endsWith(`K${ZONE}+pending.json`))).toBeGreaterThanOrEqual(0);
    expect(writes.filter((l) => /\+013\+\d{5}\.(key|private)$/.test(l))).toHaveLength(4);
    for (let i = 1; i <= writes.length; i++) {
      const dirs = freshDirs();
      await crashStart(dirs, i);
      await servesWhatDsPrints(dirs, `first start killed after write ${i} (${writes[i - 1]})`);
      expect(readdirSync(dirs.keys).filter((f) => /\+013\+\d{5}\.(key|private)$/.test(f))).toHaveLength(4);
    }
  }, 180_000);

  it('keys rollover (ZSK, --ksk, --ds-published): killed after each write N, undone by the next command or start', async () => {
    requireTool('kdig');
    const base = freshDirs();
    await servesWhatDsPrints(base, 'template');
    const kskRolled = freshDirs(base);
    const ksk = await cli([
      'keys',
      'rollover',
      ZONE,
      '--zones',
      zonesDir,
      '--keys',
      kskRolled.keys,
      '--state',
      kskRolled.state,
      '--ksk',
    ]);
    expect(ksk.code, ksk.stderr).toBe(0);

    const cases: { what: string; template: Dirs; flags: string[] }[] = [
      { what: 'ZSK rollover', template: base, flags: [] },
      { what: 'KSK rollover', template: base, flags: ['--ksk'] },
      { what: '--ds-published', template: kskRolled, flags: ['--ds-published'] },
    ];
    for (const c of cases) {
      const rollover = (d: Dirs, fault?: number) =>
        cli(['keys', 'rollover', ZONE, '--zones', zonesDir, '--keys', d.keys, '--state', d.state, ...c.flags], fault);
      const probe = freshDirs(c.template);
      const dry = await rollover(probe, 0);
      expect(dry.code, dry.stderr).toBe(0);
      const writes = hookWrites(dry.stderr);
      expect(writes[0], c.what).toMatch(/\+pending\.json$/);
      for (let i = 1; i <= writes.length; i++) {
        const what = `${c.what} killed after write ${i} (${writes[i - 1]})`;
        const dirs = freshDirs(c.template);
        const r = await rollover(dirs, i);
        expect(r.signal, `${what}\n${r.stderr}`).toBe('SIGKILL');
        // Every other case, `ds` is the next command and undoes the change itself; else the server start does.
        if (i % 2 === 0) {
          const ds = await cli(['ds', ZONE, '--keys', dirs.keys]);
          expect(ds.code, `${what}: ds\n${ds.stderr}`).toBe(0);
        }
        await servesWhatDsPrints(dirs, what);
        // The change is complete only once its journal is gone; the one write after that is keys.json.
        const completed = writes[i - 1]!.endsWith('keys.json');
        const after = keyFiles(dirs);
        const again = await rollover(dirs);
        if (completed) {
          expect(after.size, what).toBe(keyFiles(c.template).size + 2);
          expect(again.stderr, `${what}: a second rollover`).toMatch(/under way/);
        } else {
          // Undone: the key files are exactly those before the command, and the command runs through again.
          expect(after, what).toEqual(keyFiles(c.template));
          expect(again.code, `${what}: run again\n${again.stderr}`).toBe(0);
        }
      }
    }
  }, 300_000);
});
