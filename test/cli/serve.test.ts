/**
 * `dane-ns serve` and the environment: DANE_NS_ZONES, DANE_NS_KEYS, DANE_NS_STATE, DANE_NS_LISTEN
 * (comma-separated), DANE_NS_HTTP, DANE_NS_UDP_ENGINE, DANE_NS_LOG_QUERIES, DANE_NS_CATALOG and
 * DANE_NS_CATALOG_GRACE each take effect in the built server (its "listening" log lines, the files it writes, its
 * query log, the catalog it publishes), the flags win over them, and without either the directories are ./zones,
 * ./keys and ./state. Bad values of flags and variables are usage errors that name them (exit 2, before anything
 * starts); a catalog name that a zone file serves stops the start (exit 1).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { query, requireTool } from '../integration/helpers/dig.js';
import { freePort } from '../integration/helpers/ports.js';
import { CLI } from '../integration/helpers/server.js';
import { run, usageLine } from './run.js';

const base = mkdtempSync(join(tmpdir(), 'dane-ns-cli-serve-'));
const ZONE = `origin: env.example.
soa: { mname: ns1, rname: hostmaster }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
`;

interface Started {
  /** The "listening" events: DNS ones with host, port, udpEngine; the HTTP one with transports ["http"]. */
  listening: Record<string, unknown>[];
  logLines(): Record<string, unknown>[];
  stop(): Promise<void>;
}

const running: Started[] = [];
afterAll(async () => {
  for (const s of running) await s.stop();
  rmSync(base, { recursive: true, force: true });
});

/**
 * Starts `dane-ns serve ARGS` in `cwd` with only the DANE_NS_* variables of `env`, and resolves once it has logged
 * `count` "listening" events.
 */
function serve(args: string[], env: Record<string, string>, cwd: string, count: number): Promise<Started> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DANE_NS_')) e[k] = v;
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { cwd, env: { ...e, ...env } });
  let out = '';
  let err = '';
  const logLines = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const started: Started = {
    listening: [],
    logLines,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
  running.push(started);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening after 20 s:\n${out}\n${err}`)), 20_000);
    void exited.then(() => reject(new Error(`exited before listening:\n${out}\n${err}`)));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      started.listening = logLines().filter((l) => l.event === 'listening');
      if (started.listening.length >= count) {
        clearTimeout(timer);
        resolve(started);
      }
    });
  });
}

/** A working directory with zones/env.example.yaml, and empty keys and state directories named after `tag`. */
function workdir(tag: string): { cwd: string; zones: string; keys: string; state: string } {
  const cwd = join(base, tag);
  const zones = join(cwd, 'zones');
  mkdirSync(zones, { recursive: true });
  writeFileSync(join(zones, 'env.example.yaml'), ZONE);
  return { cwd, zones, keys: join(cwd, `${tag}-keys`), state: join(cwd, `${tag}-state`) };
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

const dnsEvents = (s: Started): Record<string, unknown>[] =>
  s.listening.filter((l) => (l.transports as string[]).includes('udp'));

describe('dane-ns serve and the environment', () => {
  it('every DANE_NS_* variable takes effect', async () => {
    requireTool('kdig');
    const w = workdir('env');
    const [p1, p2] = [await freePort(), await freePort()];
    const s = await serve(
      [],
      {
        DANE_NS_ZONES: w.zones,
        DANE_NS_KEYS: w.keys,
        DANE_NS_STATE: w.state,
        DANE_NS_LISTEN: `127.0.0.1:${p1}, 127.0.0.1:${p2}`,
        DANE_NS_HTTP: '127.0.0.1:0',
        DANE_NS_UDP_ENGINE: 'dgram',
        DANE_NS_LOG_QUERIES: '1',
      },
      w.cwd,
      3,
    );
    expect(dnsEvents(s).map((l) => [l.port, l.udpEngine])).toEqual([
      [p1, 'dgram'],
      [p2, 'dgram'],
    ]);
    const http = s.listening.find((l) => (l.transports as string[]).includes('http'))!;
    expect(await httpStatus(http.port as number, '/healthz')).toBe(200);
    expect(readdirSync(w.keys).some((f) => f.startsWith('Kenv.example.+013+'))).toBe(true);
    expect(existsSync(w.state)).toBe(true);
    expect(existsSync(join(w.cwd, 'keys'))).toBe(false);
    expect((await query({ host: '127.0.0.1', port: p2 }, 'ns1.env.example.', 'A')).rcode).toBe('NOERROR');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.logLines().filter((l) => l.event === 'query')).toMatchObject([{ qname: 'ns1.env.example.', qtype: 'A' }]);
    await s.stop();
  });

  it('the flags win over the variables; an empty --http turns DANE_NS_HTTP off', async () => {
    const w = workdir('flags');
    const p = await freePort();
    const s = await serve(
      ['--zones', w.zones, '--keys', w.keys, '--state', w.state, '--listen', `127.0.0.1:${p}`],
      {
        DANE_NS_ZONES: join(w.cwd, 'nothing'),
        DANE_NS_KEYS: join(w.cwd, 'other-keys'),
        DANE_NS_STATE: join(w.cwd, 'other-state'),
        DANE_NS_LISTEN: 'nowhere',
        DANE_NS_HTTP: '127.0.0.1:0',
        DANE_NS_UDP_ENGINE: 'dgram',
      },
      w.cwd,
      1,
    );
    expect(dnsEvents(s).map((l) => l.port)).toEqual([p]);
    expect(readdirSync(w.keys).length).toBeGreaterThan(0);
    expect(existsSync(join(w.cwd, 'other-keys'))).toBe(false);
    await s.stop();

    const p2 = await freePort();
    const t = await serve(
      ['--zones', w.zones, '--listen', `127.0.0.1:${p2}`, '--http=', '--udp-engine', 'batch', '--keys', w.keys],
      { DANE_NS_HTTP: '127.0.0.1:0', DANE_NS_UDP_ENGINE: 'dgram', DANE_NS_STATE: w.state },
      w.cwd,
      1,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(t.listening.map((l) => [l.port, l.udpEngine, l.transports])).toEqual([[p2, 'batch', ['udp', 'tcp']]]);
    await t.stop();
  });

  it('DANE_NS_CATALOG and DANE_NS_CATALOG_GRACE serve the catalog and set its grace; --catalog wins', async () => {
    const w = workdir('catalog');
    // A zone handed to secondaries (an address is enough: no key file needed), listed in the catalog.
    const member = ZONE.replace('env.example.', 'member.example.') + 'transfer:\n  allow:\n    - address: 127.0.0.1\n';
    writeFileSync(join(w.zones, 'member.example.yaml'), member);
    const env = {
      DANE_NS_CATALOG: 'Catalog.Invalid',
      DANE_NS_CATALOG_GRACE: '2h',
      DANE_NS_UDP_ENGINE: 'dgram',
      DANE_NS_RESOLVER: 'none',
    };
    const p = await freePort();
    const s = await serve(
      ['--zones', w.zones, '--keys', w.keys, '--state', w.state, '--listen', `127.0.0.1:${p}`],
      env,
      w.cwd,
      1,
    );
    const published = (t: Started): unknown[] =>
      t
        .logLines()
        .filter((l) => l.event === 'zone-published')
        .map((l) => l.zone);
    expect(published(s)).toContain('catalog.invalid.');
    // Asked from 127.0.0.1, which member.example.'s transfer.allow admits: the catalog's SOA.
    expect((await query({ host: '127.0.0.1', port: p }, 'catalog.invalid.', 'SOA')).rcode).toBe('NOERROR');
    rmSync(join(w.zones, 'member.example.yaml'));
    let lingers: Record<string, unknown> | undefined;
    // The zones directory is watched: the removal is seen within milliseconds, or seconds on a loaded machine.
    for (let i = 0; i < 400 && !lingers; i++) {
      await new Promise((r) => setTimeout(r, 50));
      lingers = s.logLines().find((l) => l.event === 'catalog-member-lingers');
    }
    expect(lingers).toMatchObject({ catalog: 'catalog.invalid.', zone: 'member.example.' });
    const grace = Date.parse(lingers!.until as string) - Date.parse(lingers!.time as string);
    expect(Math.abs(grace - 7_200_000)).toBeLessThan(1_000);
    await s.stop();

    const p2 = await freePort();
    const t = await serve(
      [
        '--zones',
        w.zones,
        '--keys',
        w.keys,
        '--state',
        join(w.cwd, 'other-state'),
        '--listen',
        `127.0.0.1:${p2}`,
        '--catalog',
        'other.invalid',
      ],
      env,
      w.cwd,
      1,
    );
    expect(published(t)).toContain('other.invalid.');
    expect(published(t)).not.toContain('catalog.invalid.');
    await t.stop();
  });

  it('without flags or variables: ./zones, ./keys and ./state; --listen port 0 lets the system choose', async () => {
    const w = workdir('defaults');
    const s = await serve(['--listen', '127.0.0.1:0', '--udp-engine=dgram'], {}, w.cwd, 1);
    expect(dnsEvents(s)[0]!.port).toBeGreaterThan(0);
    expect(readdirSync(join(w.cwd, 'keys')).some((f) => f.startsWith('Kenv.example.+013+'))).toBe(true);
    expect(existsSync(join(w.cwd, 'state'))).toBe(true);
    await s.stop();
  });
});

describe('serve --catalog with the name of a served zone', () => {
  it('exits 1 with one line: the catalog needs a name of its own', async () => {
    const w = workdir('catalog-taken');
    const args = ['--zones', w.zones, '--keys', w.keys, '--state', w.state, '--catalog', 'ENV.example'];
    const r = spawnSync(process.execPath, [CLI, 'serve', ...args, '--listen', `127.0.0.1:${await freePort()}`], {
      cwd: w.cwd,
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toBe(
      'dane-ns: --catalog env.example.: a zone file serves this name; the catalog needs a name of its own\n',
    );
  });
});

describe('serve usage errors (nothing is started)', () => {
  it.each([
    [['--udp-engine', 'fast'], {}, /^dane-ns: --udp-engine: expected auto, batch or dgram \(got "fast"\) /],
    [[], { DANE_NS_UDP_ENGINE: 'fast' }, /^dane-ns: DANE_NS_UDP_ENGINE: expected auto, batch or dgram \(got "fast"\) /],
    [[], { DANE_NS_LOG_QUERIES: 'yes' }, /^dane-ns: DANE_NS_LOG_QUERIES: expected 1 or 0 \(got "yes"\) /],
    [['--log-queries=yes'], {}, /^dane-ns: --log-queries takes no value \(got "yes"\) /],
    [['--tcp-per-source=x'], {}, /^dane-ns: --tcp-per-source: expected a whole number 0\.\.65535 \(got "x"\) /],
    [
      ['--tcp-per-source', '70000'],
      {},
      /^dane-ns: --tcp-per-source: expected a whole number 0\.\.65535 \(got "70000"\) /,
    ],
    [
      ['--listen', '127.0.0.1:65536'],
      {},
      /^dane-ns: --listen: expected ADDR:PORT or \[IPV6\]:PORT \(got "127\.0\.0\.1:65536"\) /,
    ],
    [
      [],
      { DANE_NS_LISTEN: '127.0.0.1' },
      /^dane-ns: DANE_NS_LISTEN: expected ADDR:PORT or \[IPV6\]:PORT \(got "127\.0\.0\.1"\) /,
    ],
    [[], { DANE_NS_LISTEN: ',' }, /^dane-ns: DANE_NS_LISTEN: no address in "," /],
    [['--http', 'localhost'], {}, /^dane-ns: --http: expected ADDR:PORT or \[IPV6\]:PORT \(got "localhost"\) /],
    [[], { DANE_NS_HTTP: ':8053' }, /^dane-ns: DANE_NS_HTTP: expected ADDR:PORT or \[IPV6\]:PORT \(got ":8053"\) /],
    [['--zones='], {}, /^dane-ns: --zones: expected a directory, not an empty value /],
    [['--keys'], {}, /^dane-ns: --keys needs a value /],
    [['--state', '--listen', '127.0.0.1:0'], {}, /^dane-ns: --state needs a value \(got the option "--listen"/],
    [['--zone', 'z'], {}, /^dane-ns: unknown option --zone /],
    [['zones'], {}, /^dane-ns: unexpected argument "zones" /],
    [
      ['--catalog-grace', 'soon'],
      {},
      /^dane-ns: --catalog-grace: expected a duration such as 3600, 30m, 1h or 1d \(got "soon"\) /,
    ],
    [[], { DANE_NS_CATALOG_GRACE: '1y' }, /^dane-ns: DANE_NS_CATALOG_GRACE: expected a duration /],
    [['--catalog='], {}, /^dane-ns: --catalog: expected a domain name, not an empty value /],
  ])('%j %j', async (args, env, message) => {
    expect(usageLine(await run(['serve', ...args], env))).toMatch(message);
  });
});
