/**
 * The command line (dist/cli.js) as an operator uses it: start-up with a broken zone (exit 1 and
 * `file:line: reason`), SIGHUP reload (new data, a broken edit keeps the last good version and is logged with
 * file:line, serial: auto rises on each content change), `zone import` + `zone export` round trip checked with
 * ldns-read-zone -c as an independent canonicaliser, and the help / usage / exit-code contract.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, requireTool, type Server } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { CLI, startDaneNs, type DaneNsInstance } from './helpers/server.js';
import { delay } from '../support/time.js';
import { tempDirs } from '../support/tmp.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/cli.js ARGS` (never rejects: the exit code is part of what is tested). The working directory is
 * the temp dir, so defaults such as ./state never touch the checkout.
 */
function cli(args: readonly string[], timeoutMs = 10_000): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DANE_NS_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: tmpdir(), env, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a tool by absolute path; resolves with stdout, rejects with stderr on failure. */
function tool(name: string, args: readonly string[]): Promise<string> {
  const bin = requireTool(name);
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${name} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const tempDir = tempDirs('dane-ns-cli');

// ---------------------------------------------------------------------------------------------------------------
// Broken zones at start-up
// ---------------------------------------------------------------------------------------------------------------

const HEAD = `origin: example.com.
ttl: 3600
soa:
  mname: ns1
  rname: hostmaster
  serial: 1
  minimum: 300
records:
  "@":
    NS: ns1
`; // 10 lines

describe('serve with a broken zone file at start-up', () => {
  const cases = [
    {
      what: 'YAML syntax error (nested mapping in a compact mapping)',
      // line 11 is the broken one
      body: `${HEAD}    A: 192.0.2.1: 80\n  ns1:\n    A: 192.0.2.53\n`,
      line: 11,
      reason: /YAML/,
    },
    {
      what: 'CNAME and A at one name',
      body: `${HEAD}  ns1:\n    A: 192.0.2.53\n  www:\n    A: 192.0.2.80\n    CNAME: ns1\n`,
      line: 15,
      reason: /CNAME/,
    },
    {
      what: 'an unparsable MX value',
      body: `${HEAD}    MX: "ten mail"\n  ns1:\n    A: 192.0.2.53\n`,
      line: 11,
      reason: /MX/,
    },
  ];

  it.each(cases.map((c) => [c.what, c] as const))('%s: exit 1 and FILE:LINE: reason on stderr', async (_w, c) => {
    const zones = tempDir('bad');
    const state = tempDir('state');
    const file = join(zones, 'example.com.yaml');
    await writeFile(file, c.body);
    const port = await freePort();
    const r = await cli([
      'serve',
      '--zones',
      zones,
      '--state',
      state,
      '--keys',
      join(state, 'keys'),
      '--listen',
      `127.0.0.1:${port}`,
    ]);
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    const hit = lines.find((l) => l.includes(`${file}:`));
    expect(hit, r.stderr).toBeDefined();
    // file:line: reason, or file:line:column: reason for a YAML syntax error
    const m = /^(?:dane-ns: )?(.+?):(\d+)(?::\d+)?: (.+)$/.exec(hit!);
    expect(m, hit).not.toBeNull();
    expect(m![1]).toBe(file);
    expect(Number(m![2]), hit).toBe(c.line);
    expect(m![3]).toMatch(c.reason);
    // Nothing was started: no "listening" event.
    expect(r.stdout).not.toMatch(/"event":"listening"/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// SIGHUP reload
// ---------------------------------------------------------------------------------------------------------------

const RELOAD_BASE = `origin: example.com.
ttl: 3600
soa:
  mname: ns1
  rname: hostmaster
  serial: auto
  minimum: 300
records:
  "@":
    NS: ns1
    A: 192.0.2.1
  ns1:
    A: 192.0.2.53
`; // 13 lines

describe('SIGHUP reload', () => {
  let inst: DaneNsInstance | undefined;
  let zones: string;
  let server: Server;

  beforeAll(async () => {
    requireTool('kdig');
    zones = tempDir('reload');
    await writeFile(join(zones, 'example.com.yaml'), RELOAD_BASE);
    const port = await freePort();
    inst = await startDaneNs({ zonesDir: zones, port });
    server = { host: '127.0.0.1', port };
  });

  afterAll(async () => {
    await inst?.stop();
  });

  const serialNow = async (): Promise<number> => {
    const a = await query(server, 'example.com.', 'SOA');
    expect(a.rcode).toBe('NOERROR');
    const f = a.answer[0]!.split(' ');
    return Number(f[6]);
  };

  /** Polls until `check` passes, at most `ms` milliseconds after the signal. */
  async function within<T>(ms: number, fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (ok(v) || Date.now() > deadline) return v;
      await delay(25);
    }
  }

  const txt = (name: string): Promise<string[]> => query(server, name, 'TXT').then((a) => a.answer);

  it('serves an added record within 1 s, keeps the last good data on a broken edit (logged with file:line), serial rises on each change', async () => {
    const file = join(zones, 'example.com.yaml');
    const s0 = await serialNow();
    expect(await txt('new.example.com.')).toEqual([]);

    // 1. add a TXT record
    await writeFile(file, `${RELOAD_BASE}  new:\n    TXT: hello reload\n`);
    inst!.proc.kill('SIGHUP');
    const t1 = await within(
      1000,
      () => txt('new.example.com.'),
      (a) => a.length > 0,
    );
    expect(t1).toEqual(['new.example.com. 3600 IN TXT "hello reload"']);
    const s1 = await serialNow();
    expect(s1).toBeGreaterThan(s0);

    // 2. SIGHUP without a change: same serial
    inst!.proc.kill('SIGHUP');
    await delay(200);
    expect(await serialNow()).toBe(s1);

    // 3. break it: YAML syntax error on line 17 (a nested mapping in a compact mapping)
    const logBefore = inst!.logs().length;
    await writeFile(
      file,
      `${RELOAD_BASE}  new:\n    TXT: hello reload\n  bad:\n    A: 192.0.2.9: 80\n  more:\n    A: 192.0.2.10\n`,
    );
    inst!.proc.kill('SIGHUP');
    const failure = await within(
      1000,
      async () =>
        inst!
          .logs()
          .slice(logBefore)
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((e) => e.level === 'error'),
      (e) => e !== undefined,
    );
    expect(failure, inst!.logs()).toBeDefined();
    expect(failure!.file).toBe('example.com.yaml');
    const problems = failure!.problems as string[];
    expect(Array.isArray(problems)).toBe(true);
    expect(
      problems.some((p) => p.startsWith(`${file}:`)),
      JSON.stringify(problems),
    ).toBe(true);
    expect
      .soft(
        problems.some((p) => p.startsWith(`${file}:17:`) && /^:\d+: YAML/.test(p.slice(`${file}:17`.length))),
        `problems name line 17: ${JSON.stringify(problems)}`,
      )
      .toBe(true);
    // still the old data
    expect(await txt('new.example.com.')).toEqual(['new.example.com. 3600 IN TXT "hello reload"']);
    expect((await query(server, 'more.example.com.', 'A')).rcode).toBe('NXDOMAIN');
    expect(await serialNow()).toBe(s1);
    expect(inst!.proc.exitCode).toBeNull();

    // 4. fix it, with new content
    await writeFile(file, `${RELOAD_BASE}  new:\n    TXT: hello again\n  more:\n    A: 192.0.2.10\n`);
    inst!.proc.kill('SIGHUP');
    const t2 = await within(
      1000,
      () => txt('new.example.com.'),
      (a) => a[0]?.includes('again') === true,
    );
    expect(t2).toEqual(['new.example.com. 3600 IN TXT "hello again"']);
    expect((await query(server, 'more.example.com.', 'A')).answer).toEqual(['more.example.com. 3600 IN A 192.0.2.10']);
    const s2 = await serialNow();
    expect(s2).toBeGreaterThan(s1);
  });

  it('a zone file added is served after SIGHUP, and a removed one is no longer (REFUSED)', async () => {
    const file = join(zones, 'example.org.yaml');
    expect((await query(server, 'example.org.', 'SOA')).rcode).toBe('REFUSED');
    await writeFile(
      file,
      RELOAD_BASE.replace('origin: example.com.', 'origin: example.org.').replace('serial: auto', 'serial: 5'),
    );
    inst!.proc.kill('SIGHUP');
    const a = await within(
      1000,
      () => query(server, 'example.org.', 'SOA'),
      (x) => x.rcode === 'NOERROR',
    );
    expect(a.answer).toHaveLength(1);
    expect(a.answer[0]).toMatch(
      /^example\.org\. 3600 IN SOA ns1\.example\.org\. hostmaster\.example\.org\. 5 \d+ \d+ \d+ 300$/,
    );
    const { unlink } = await import('node:fs/promises');
    await unlink(file);
    inst!.proc.kill('SIGHUP');
    const b = await within(
      1000,
      () => query(server, 'example.org.', 'SOA'),
      (x) => x.rcode === 'REFUSED',
    );
    expect(b.rcode).toBe('REFUSED');
    expect((await query(server, 'example.com.', 'SOA')).rcode).toBe('NOERROR');
  });

  it('SIGHUP while the zones directory cannot be read: logged, the server stays up and keeps serving', async () => {
    const moved = `${zones}.away`;
    const { rename } = await import('node:fs/promises');
    const logBefore = inst!.logs().length;
    await rename(zones, moved);
    try {
      inst!.proc.kill('SIGHUP');
      await delay(300);
      expect(inst!.proc.exitCode, inst!.logs().slice(-3000)).toBeNull();
      expect(inst!.proc.signalCode).toBeNull();
      const a = await query(server, 'example.com.', 'SOA');
      expect(a.rcode).toBe('NOERROR');
      expect(inst!.logs().slice(logBefore)).toMatch(/"level":"error"/);
    } finally {
      await rename(moved, zones);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// zone import / zone export
// ---------------------------------------------------------------------------------------------------------------

const MASTER = `; Zone file for example.net, the way an operator would write it
$ORIGIN example.net.
$TTL 3600
@   IN  SOA ns1 hostmaster (
        2024060101 ; serial
        7200       ; refresh
        3600       ; retry
        1209600    ; expire
        300 )      ; negative caching
        IN  NS    ns1
        IN  NS    ns2.example.org.
        IN  MX    10 mail
        IN  MX    20 mail2.example.org.
        IN  A     192.0.2.1
        IN  AAAA  2001:db8::1
        IN  TXT   "v=spf1 mx -all"
        IN  CAA   0 issue "letsencrypt.org"
        IN  CAA   0 iodef "mailto:security@example.net"
        IN  HTTPS 1 . alpn=h2,h3 ipv4hint=192.0.2.1
ns1     IN  A     192.0.2.53
mail    300 IN A  192.0.2.25            ; TTL override
        300 IN A  192.0.2.26
        IN  AAAA  2001:db8::25
Mail2   IN  A     192.0.2.27
sel1._domainkey IN TXT ( "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr1cbN2Vt8mqL0X5pX2c0aZkXo9WnQ1rYk3Lm"
                         "Xo9WnQ1rYk3LmZbq2Tq7uPz4EJm1rV2c9f5gH0wIDAQAB" )
_25._tcp.mail IN TLSA 3 1 1 (
        8CB0FC6C527506A053F4F14C8464BEBB
        D6DEDE2738D11468DD953D7D6A3021F1 )
_submission._tcp IN SRV 0 1 587 mail
_imaps._tcp 600 IN SRV 0 1 993 mail.example.net.
*.apps  IN  A     192.0.2.80
*.apps  IN  TXT   "wildcard \\"quoted\\" text"
sub     IN  NS    ns1.sub
sub     IN  NS    ns.example.org.
sub     IN  DS    12345 13 2 3F1B2C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809
ns1.sub IN  A     192.0.2.60
$TTL 900
www     IN  CNAME @
$ORIGIN dev.example.net.
app     IN  A     192.0.2.90
`;

/** ldns-read-zone -c output as a sorted list of `owner ttl class type rdata` lines (whitespace collapsed). */
async function canonical(file: string): Promise<string[]> {
  const out = await tool('ldns-read-zone', ['-c', file]);
  return out
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '' && !l.startsWith(';'))
    .sort();
}

describe('zone import then zone export', () => {
  it('keeps every record (compared as sets with ldns-read-zone -c)', async () => {
    requireTool('ldns-read-zone');
    const work = tempDir('import');
    const zones = join(work, 'zones');
    await mkdir(zones);
    const src = join(work, 'example.net.zone');
    await writeFile(src, MASTER);

    const imp = await cli(['zone', 'import', src, '--out', join(zones, 'example.net.yaml')]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).toBe('');
    const yaml = await readFile(join(zones, 'example.net.yaml'), 'utf8');
    expect(yaml).toMatch(/^origin: example\.net\.$/m);

    const exp = await cli(['zone', 'export', 'example.net', '--zones', zones]);
    expect(exp.code, exp.stderr).toBe(0);
    const out = join(work, 'exported.zone');
    await writeFile(out, exp.stdout);

    const want = await canonical(src);
    const got = await canonical(out);
    expect(want.length).toBe(28);
    expect(got).toEqual(want);
    // The two-string DKIM TXT stayed two strings.
    expect(got.find((l) => l.startsWith('sel1._domainkey.'))).toMatch(/" "Xo9Wn/);

    // Trailing dot on the zone name, and stdout import, give the same result.
    const exp2 = await cli(['zone', 'export', 'example.net.', '--zones', zones]);
    expect(exp2.code).toBe(0);
    expect(exp2.stdout).toBe(exp.stdout);
    const imp2 = await cli(['zone', 'import', src]);
    expect(imp2.code).toBe(0);
    expect(imp2.stdout).toBe(yaml);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Help, usage errors, exit codes
// ---------------------------------------------------------------------------------------------------------------

describe('help and exit codes', () => {
  it.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['serve', '--help']],
    [['zone', '--help']],
    [['zone', 'export', '--help']],
    [['zone', 'import', '--help']],
    [['zone', 'check', '--help']],
    [['tlsa', '--help']],
    [['check', '--help']],
    [['keys', '--help']],
    [['ds', '--help']],
  ])('dane-ns %j exits 0 and prints usage', async (args) => {
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/usage: dane-ns/);
    expect(r.stderr).toBe('');
  });

  it('dane-ns without a command exits 2 with the usage on stderr', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: dane-ns <command>/m);
  });

  it('dane-ns --version prints the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `dane-ns ${version}\n`, stderr: '' });
  });

  it('serve --help and zone --help describe their options', async () => {
    expect((await cli(['serve', '--help'])).stdout).toMatch(/--listen/);
    const z = (await cli(['zone', 'export', '--help'])).stdout;
    expect(z).toMatch(/zone export ZONE/);
    expect(z).toMatch(/zone import FILE/);
  });

  it.each([
    [['frobnicate']],
    [['zone', 'frobnicate']],
    [['serve', '--no-such-flag']],
    [['serve', 'extra-arg']],
    [['serve', '--zones']],
    [['zone', 'export']],
    [['zone', 'import']],
    [['zone', 'export', 'a.example', 'b.example']],
    [['tlsa']],
    [['tlsa', 'a.pem', 'b.pem']],
    [['tlsa', 'a.pem', '--port', 'x']],
    [['check']],
    [['check', 'example.com', '--server', 'nowhere']],
    [['check', 'example.com', '--smtp-port', '0']],
  ])('dane-ns %j is a usage error: exit 2, one line on stderr', async (args) => {
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('zone export of a zone that does not exist: exit 1, one clear line', async () => {
    const zones = tempDir('empty');
    const r = await cli(['zone', 'export', 'nonexistent.example', '--zones', zones]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/nonexistent\.example/);
  });

  it('serve with a zones directory that does not exist: exit 1, one line naming it', async () => {
    const dir = tempDir('nozones');
    const r = await cli([
      'serve',
      '--zones',
      join(dir, 'missing'),
      '--state',
      join(dir, 'state'),
      '--listen',
      `127.0.0.1:${await freePort()}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/missing/);
  });

  it('serve with a malformed --listen: fails with one line naming the value', async () => {
    const dir = tempDir('badlisten');
    await writeFile(join(dir, 'example.com.yaml'), RELOAD_BASE);
    const r = await cli(['serve', '--zones', dir, '--state', join(dir, 'state'), '--listen', 'not-an-address']);
    expect([1, 2]).toContain(r.code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not-an-address/);
  });

  it('zone import of a file that does not exist: exit 1, one line', async () => {
    const dir = tempDir('nofile');
    const r = await cli(['zone', 'import', join(dir, 'missing.zone')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/missing\.zone/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// dane-ns tlsa FILE: the record for a certificate or key file, checked against the openssl CLI
// ---------------------------------------------------------------------------------------------------------------

describe('dane-ns tlsa', () => {
  let dir: string;
  let hex: string;
  beforeAll(async () => {
    dir = tempDir('tlsa');
    await tool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
      '-days',
      '30',
      '-subj',
      '/CN=mx.example.org',
      '-addext',
      'subjectAltName=DNS:mx.example.org,DNS:mail.example.org',
    ]);
    await tool('openssl', ['x509', '-in', join(dir, 'c.pem'), '-outform', 'der', '-out', join(dir, 'c.der')]);
    await tool('openssl', [
      'pkey',
      '-in',
      join(dir, 'k.pem'),
      '-pubout',
      '-outform',
      'der',
      '-out',
      join(dir, 'pub.der'),
    ]);
    const { createHash } = await import('node:crypto');
    hex = createHash('sha256')
      .update(await readFile(join(dir, 'pub.der')))
      .digest('hex')
      .toUpperCase();
  });

  it('prints _25._tcp.<first DNS name> TLSA 3 1 1 for a PEM certificate, with a comment line', async () => {
    const r = await cli(['tlsa', join(dir, 'c.pem')]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^; CN=mx\.example\.org, valid \S+ to \S+$/);
    expect(lines[1]).toBe(`_25._tcp.mx.example.org. IN TLSA 3 1 1 ${hex}`);
  });

  it.each([['c.der'], ['k.pem'], ['pub.der']])('gives the same digest for %s', async (file) => {
    const r = await cli(['tlsa', join(dir, file), '--host', 'mail.example.org', '--port', '465']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`_465._tcp.mail.example.org. IN TLSA 3 1 1 ${hex}`);
  });

  it('a broken file: exit 1, one line with the path and the reason', async () => {
    await writeFile(join(dir, 'bad.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n');
    const r = await cli(['tlsa', join(dir, 'bad.pem')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `dane-ns: ${join(dir, 'bad.pem')}: truncated PEM: a BEGIN line without its END line`,
    ]);
  });

  it('--issuer without a chain: exit 1 saying a chain is needed', async () => {
    const r = await cli(['tlsa', join(dir, 'c.pem'), '--issuer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no issuing CA certificate/);
  });
});

describe('dane-ns check (no server running)', () => {
  it('reports the unreachable server as FAIL and exits 1', async () => {
    const zones = tempDir('check');
    await writeFile(
      join(zones, 'example.org.yaml'),
      'soa: { mname: ns1, rname: h }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n',
    );
    const r = await cli(
      ['check', 'example.org', '--zones', zones, '--server', `127.0.0.1:${await freePort()}`],
      20_000,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}example\.org\. server: 127\.0\.0\.1:\d+: no answer/m);
  });
});

describe('dane-ns keys generate', () => {
  it('creates keys once, prints the DS that ds prints later, and never replaces lost keys', async () => {
    const dir = tempDir('keysgen');
    const args = ['keys', 'generate', 'gen.example', '--keys', join(dir, 'keys'), '--state', join(dir, 'state')];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^; generated in .*: KSK \d+, ZSK \d+$/m);
    const ds = first.stdout.trim().split('\n').at(-1)!;
    expect(ds).toMatch(/^gen\.example\. 3600 IN DS \d+ 13 2 [0-9A-F]{64}$/);
    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already has keys .*: nothing generated/);
    expect(again.stdout.trim().split('\n').at(-1)).toBe(ds);
    expect((await cli(['ds', 'gen.example', '--keys', join(dir, 'keys')])).stdout.trim()).toBe(ds);
    await rm(join(dir, 'keys'), { recursive: true });
    const lost = await cli(args);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/missing from .*not generating new ones/);
  });

  it('--csk makes one combined key', async () => {
    const dir = tempDir('keysgen-csk');
    const r = await cli([
      'keys',
      'generate',
      'csk.example',
      '--csk',
      '--keys',
      join(dir, 'keys'),
      '--state',
      join(dir, 'state'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^; generated in .*: CSK \d+$/m);
  });
});

describe('dane-ns keys rollover', () => {
  it('ZSK: writes the new key with its times, lists the states, and refuses a second rollover while one is under way', async () => {
    const dir = tempDir('roll-zsk');
    const zones = join(dir, 'zones');
    await mkdir(zones);
    await writeFile(
      join(zones, 'roll.example.yaml'),
      'origin: roll.example.\nttl: 600\nsoa: { mname: ns1, rname: h@roll.example, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }\nrecords:\n  "@": { NS: ns1.roll.example. }\n  ns1: { A: 192.0.2.1 }\n  txt: { TXT: { ttl: 7200, values: [long] } }\n',
    );
    const dirs = ['--zones', zones, '--keys', join(dir, 'keys'), '--state', join(dir, 'state')];
    expect((await cli(['keys', 'generate', 'roll.example', ...dirs.slice(2)])).code).toBe(0);
    const r = await cli(['keys', 'rollover', 'roll.example', ...dirs, '--margin', '60']);
    expect(r.code, r.stderr).toBe(0);
    const m = /ZSK (?<tag>\d+) is published now and signs from (?<from>\S+) \(DNSKEY TTL 600 s \+ margin 60 s\)/.exec(
      r.stdout,
    );
    expect(m?.groups?.from, r.stdout).toBeDefined();
    expect(r.stdout).toMatch(
      /ZSK \d+ stops signing then and leaves the DNSKEY RRset at \S+ \(largest TTL 7200 s \+ margin 60 s\)/,
    );
    // The times are what the flags say: signing 660 s after now, leaving 7260 s after that.
    const from = Date.parse(m!.groups!.from!);
    expect(Math.abs(from - Date.now() - 660_000)).toBeLessThan(5000);
    const leaves = Date.parse(/leaves the DNSKEY RRset at (\S+)/.exec(r.stdout)![1]!);
    expect(leaves - from).toBe(7260_000);

    const list = await cli(['keys', 'list', 'roll.example', '--keys', join(dir, 'keys')]);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    expect(list.stdout.split('\n')[0]).toMatch(/inactive\s+delete\s+state$/);
    expect(rows.find((l) => l.startsWith(m!.groups!.tag!))).toMatch(/ zsk .* published$/);
    expect(rows.filter((l) => / zsk .*Z {2}\d{4}-\S+Z {2}active$/.test(l))).toHaveLength(1); // the old ZSK, now with its end times

    const again = await cli(['keys', 'rollover', 'roll.example', ...dirs]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`a ZSK rollover is under way: ZSK ${m!.groups!.tag} starts signing at`);
  });

  it("with watched secondaries, a --margin below the zone file's is named: the server waits with the zone's", async () => {
    const dir = tempDir('roll-watched');
    const zones = join(dir, 'zones');
    await mkdir(zones);
    const zone = (transfer: string): string =>
      'origin: roll.example.\nttl: 600\nsoa: { mname: ns1, rname: h@roll.example, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }\n' +
      `dnssec: { margin: 120s }\n${transfer}records:\n  "@": { NS: ns1.roll.example. }\n  ns1: { A: 192.0.2.1 }\n`;
    await writeFile(
      join(zones, 'roll.example.yaml'),
      zone('transfer: { allow: [{ address: 127.0.0.1 }], notify: [{ address: 127.0.0.1, port: 5353 }] }\n'),
    );
    const dirs = ['--zones', zones, '--keys', join(dir, 'keys'), '--state', join(dir, 'state')];
    expect((await cli(['keys', 'generate', 'roll.example', ...dirs.slice(2)])).code).toBe(0);
    const r = await cli(['keys', 'rollover', 'roll.example', ...dirs, '--margin', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DNSKEY TTL 600 s \+ margin 5 s/);
    expect(r.stdout).toContain(
      "; note: the server takes each step only once its 1 watched server(s) serve the version it counts from, plus the TTL and the zone file's margin (120 s), not --margin 5",
    );
    // Without watched servers the plan is all there is: no note.
    const dir2 = tempDir('roll-unwatched');
    const zones2 = join(dir2, 'zones');
    await mkdir(zones2);
    await writeFile(join(zones2, 'roll.example.yaml'), zone(''));
    const dirs2 = ['--zones', zones2, '--keys', join(dir2, 'keys'), '--state', join(dir2, 'state')];
    expect((await cli(['keys', 'generate', 'roll.example', ...dirs2.slice(2)])).code).toBe(0);
    const r2 = await cli(['keys', 'rollover', 'roll.example', ...dirs2, '--margin', '5']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/DNSKEY TTL 600 s \+ margin 5 s/);
    expect(r2.stdout).not.toContain('; note:');
  });

  it('KSK: prints the new DS, ds prints both, --ds-published sets the old end; flags are checked', async () => {
    const dir = tempDir('roll-ksk');
    const zones = join(dir, 'zones');
    await mkdir(zones);
    await writeFile(
      join(zones, 'roll.example.yaml'),
      'origin: roll.example.\nttl: 600\nsoa: { mname: ns1, rname: h@roll.example, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }\nrecords:\n  "@": { NS: ns1.roll.example. }\n  ns1: { A: 192.0.2.1 }\n',
    );
    const keys = join(dir, 'keys');
    const dirs = ['--zones', zones, '--keys', keys, '--state', join(dir, 'state')];
    expect((await cli(['keys', 'generate', 'roll.example', ...dirs.slice(2)])).code).toBe(0);
    const before = (await cli(['ds', 'roll.example', '--keys', keys])).stdout.trim();

    const none = await cli(['keys', 'rollover', 'roll.example', ...dirs, '--ds-published']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no KSK rollover is under way');

    const r = await cli(['keys', 'rollover', 'roll.example', ...dirs, '--ksk']);
    expect(r.code, r.stderr).toBe(0);
    const newDs = r.stdout.split('\n').find((l) => / IN DS /.test(l))!;
    expect(newDs).toMatch(/^roll\.example\. \d+ IN DS \d+ 13 2 [0-9A-F]{64}$/);
    expect(r.stdout).toMatch(/once the parent publishes it, run: dane-ns keys rollover roll\.example\. --ds-published/);
    expect((await cli(['ds', 'roll.example', '--keys', keys])).stdout.trim().split('\n').sort()).toEqual(
      [before, newDs].sort(),
    );

    const done = await cli([
      'keys',
      'rollover',
      'roll.example',
      ...dirs,
      '--ds-published',
      '--ds-ttl',
      '3600',
      '--margin',
      '0',
    ]);
    expect(done.code, done.stderr).toBe(0);
    // Submitted at once: warned that the new key may not be in every cached DNSKEY RRset yet.
    expect(done.stderr).toMatch(/^warning: the DS of \d+ went to the parent before /);
    const oldTag = before.split(' ')[4];
    expect(done.stdout).toMatch(
      new RegExp(
        `; roll\\.example\\.: ${oldTag} signs the DNSKEY RRset until \\S+ \\(the parent's DS TTL 3600 s \\+ margin 0 s\\), then leaves it`,
      ),
    );

    for (const bad of [
      ['--ksk', '--ds-published'],
      ['--margin', 'soon'],
    ]) {
      const u = await cli(['keys', 'rollover', 'roll.example', ...dirs, ...bad]);
      expect(u.code).toBe(2);
    }
    const unsigned = tempDir('roll-off');
    await writeFile(
      join(unsigned, 'off.example.yaml'),
      'origin: off.example.\nttl: 600\nsoa: { mname: ns1, rname: h@off.example, serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 300 }\ndnssec: { enabled: false }\nrecords:\n  "@": { NS: ns1.off.example. }\n',
    );
    const off = await cli(['keys', 'rollover', 'off.example', '--zones', unsigned, '--keys', keys]);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('is not signed');
  });
});
