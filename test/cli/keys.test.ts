/**
 * `dane-ns ds`, `keys list`, `keys generate` and `keys rollover` and their flags: --keys and --state (and
 * DANE_NS_KEYS, DANE_NS_STATE), --csk, --ksk, --ds-published, and the times --margin and --ds-ttl give
 * (RFC 7583 §3.3.1: publish, then sign after the DNSKEY TTL plus a margin; the old KSK leaves after the parent's
 * DS TTL plus a margin).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, usageLine } from './run.js';

const base = mkdtempSync(join(tmpdir(), 'dane-ns-cli-keys-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

/** A fresh zones/keys/state triple with roll.example (DNSKEY TTL 600, largest TTL 7200) and its keys. */
async function setup(csk = false): Promise<{ zones: string; keys: string; state: string; dirs: string[] }> {
  const dir = join(base, String(n++));
  const zones = join(dir, 'zones');
  mkdirSync(zones, { recursive: true });
  writeFileSync(
    join(zones, 'roll.example.yaml'),
    `origin: roll.example.\nttl: 600\nsoa: { mname: ns1, rname: h, serial: 1, minimum: 300 }\n${csk ? 'dnssec: { keys: csk }\n' : ''}records:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n  txt: { TXT: { ttl: 7200, values: [long] } }\n`,
  );
  const keys = join(dir, 'keys');
  const state = join(dir, 'state');
  const gen = await run([
    'keys',
    'generate',
    'roll.example',
    '--keys',
    keys,
    '--state',
    state,
    ...(csk ? ['--csk'] : []),
  ]);
  expect(gen.code, gen.stderr).toBe(0);
  return { zones, keys, state, dirs: ['--zones', zones, '--keys', keys, '--state', state] };
}

/** `keys list` rows as [role, state]. */
async function listed(keys: string): Promise<string[][]> {
  const r = await run(['keys', 'list', 'roll.example', '--keys', keys]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const f = l.split(/\s+/);
      return [f[1]!, f.at(-1)!];
    })
    .sort();
}

const time = (text: string, re: RegExp): number => Date.parse(re.exec(text)![1]!);

describe('dane-ns keys generate', () => {
  it('--csk makes one combined key, without it a KSK and a ZSK', async () => {
    // One key with the SEP flag (257) that signs every RRset; keys list names its role ksk.
    expect(await listed((await setup(true)).keys)).toEqual([['ksk', 'active']]);
    expect(await listed((await setup()).keys)).toEqual([
      ['ksk', 'active'],
      ['zsk', 'active'],
    ]);
  });

  it('--state remembers the keys: with it, lost keys are not replaced; with a new state directory they are', async () => {
    const s = await setup();
    rmSync(s.keys, { recursive: true });
    const lost = await run(['keys', 'generate', 'roll.example', '--keys', s.keys, '--state', s.state]);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/not generating new ones/);
    const other = await run(['keys', 'generate', 'roll.example', '--keys', s.keys, '--state', join(s.state, 'new')]);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/^; generated in /);
  });

  it('DANE_NS_KEYS and DANE_NS_STATE give the directories; ds and keys list read DANE_NS_KEYS', async () => {
    const dir = join(base, 'env');
    const env = { DANE_NS_KEYS: join(dir, 'keys'), DANE_NS_STATE: join(dir, 'state') };
    const gen = await run(['keys', 'generate', 'env.example'], env);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain(`; generated in ${env.DANE_NS_KEYS}: `);
    const ds = await run(['ds', 'env.example'], env);
    expect(ds.stdout.trim()).toBe(gen.stdout.trim().split('\n').at(-1));
    expect((await run(['keys', 'list', 'env.example'], env)).stdout.trim().split('\n')).toHaveLength(3);
    // The flag wins over the variable.
    const flag = await run(['ds', 'env.example', '--keys', join(dir, 'nothing')], env);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/no DNSSEC keys for env\.example\. in .*nothing/);
  });
});

describe('dane-ns keys rollover', () => {
  it('ZSK: --margin moves both times; --zones gives the TTLs', async () => {
    for (const margin of [0, 1800]) {
      const s = await setup();
      const t0 = Date.now();
      const r = await run(['keys', 'rollover', 'roll.example', ...s.dirs, '--margin', String(margin)]);
      expect(r.code, r.stderr).toBe(0);
      const from = time(r.stdout, /signs from (\S+) \(DNSKEY TTL 600 s \+ margin (?:\d+) s\)/);
      expect(Math.abs(from - t0 - (600 + margin) * 1000)).toBeLessThan(5000);
      expect(time(r.stdout, /leaves the DNSKEY RRset at (\S+)/) - from).toBe((7200 + margin) * 1000);
      expect(await listed(s.keys)).toEqual([
        ['ksk', 'active'],
        ['zsk', 'active'],
        ['zsk', 'published'],
      ]);
    }
  });

  it('without --margin: 3600 s', async () => {
    const s = await setup();
    const r = await run(['keys', 'rollover', 'roll.example', ...s.dirs]);
    expect(r.stdout).toContain('(DNSKEY TTL 600 s + margin 3600 s)');
  });

  it('--ksk rolls the KSK (a second KSK, signing now) instead of the ZSK', async () => {
    const s = await setup();
    const r = await run(['keys', 'rollover', 'roll.example', ...s.dirs, '--ksk']);
    expect(r.code, r.stderr).toBe(0);
    expect(await listed(s.keys)).toEqual([
      ['ksk', 'active'],
      ['ksk', 'active'],
      ['zsk', 'active'],
    ]);
  });

  it('--ksk on a zone with one combined key (keys: csk) is a usage error; without it the CSK rolls', async () => {
    const s = await setup(true);
    expect(usageLine(await run(['keys', 'rollover', 'roll.example', ...s.dirs, '--ksk']))).toMatch(
      /^dane-ns: --ksk: roll\.example\. has one combined key \(keys: csk\)/,
    );
    expect(await listed(s.keys)).toEqual([['ksk', 'active']]);
    const r = await run(['keys', 'rollover', 'roll.example', ...s.dirs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CSK \d+ is published now/);
    expect(await listed(s.keys)).toEqual([
      ['ksk', 'active'],
      ['ksk', 'published'],
    ]);
  });

  it('--ds-published: the old KSK leaves after --ds-ttl + --margin (default 86400 + 3600 s)', async () => {
    const ends: number[] = [];
    for (const flags of [[], ['--ds-ttl', '600', '--margin', '60']]) {
      const s = await setup();
      expect((await run(['keys', 'rollover', 'roll.example', ...s.dirs, '--ksk'])).code).toBe(0);
      const t0 = Date.now();
      const r = await run(['keys', 'rollover', 'roll.example', ...s.dirs, '--ds-published', ...flags]);
      expect(r.code, r.stderr).toBe(0);
      const until = time(r.stdout, /signs the DNSKEY RRset until (\S+)/);
      expect(r.stdout).toContain(
        flags.length ? "(the parent's DS TTL 600 s + margin 60 s)" : "(the parent's DS TTL 86400 s + margin 3600 s)",
      );
      ends.push(until - t0);
    }
    expect(Math.abs(ends[0]! - 90000_000)).toBeLessThan(5000);
    expect(Math.abs(ends[1]! - 660_000)).toBeLessThan(5000);
  });

  it.each([
    [['--margin', 'soon'], /^dane-ns: --margin: expected a whole number of seconds \(got "soon"\) /],
    [['--margin', '-5'], /^dane-ns: --margin needs a value \(got the option "-5"; write --margin=-5\) /],
    [['--margin=-5'], /^dane-ns: --margin: expected a whole number of seconds \(got "-5"\) /],
    [['--ds-published', '--ds-ttl', '1h'], /^dane-ns: --ds-ttl: expected a whole number of seconds \(got "1h"\) /],
    [['--ds-ttl', '600'], /^dane-ns: --ds-ttl only applies with --ds-published /],
    [['--ksk', '--ds-published'], /^dane-ns: --ksk starts a KSK rollover and --ds-published ends one/],
    [['--csk'], /^dane-ns: unknown option --csk /],
  ])('%j is a usage error naming the flag', async (flags, message) => {
    expect(usageLine(await run(['keys', 'rollover', 'roll.example', ...flags]))).toMatch(message);
  });
});

describe('dane-ns keys list --json', () => {
  it('one object: zone, each key with tag, role, flags, algorithm, times and state; what the table shows', async () => {
    const { keys } = await setup();
    const r = await run(['keys', 'list', 'roll.example', '--keys', keys, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as {
      zone: string;
      keys: { tag: number; role: string; flags: number; algorithm: number; state: string; created: string }[];
      problems: string[];
    };
    expect(o.zone).toBe('roll.example.');
    expect(o.problems).toEqual([]);
    expect(o.keys.map((k) => [k.role, k.flags, k.algorithm, k.state]).sort()).toEqual([
      ['ksk', 257, 13, 'active'],
      ['zsk', 256, 13, 'active'],
    ]);
    for (const k of o.keys) {
      expect(k.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(k).not.toHaveProperty('inactive');
    }
    expect(o.keys.map((k) => [k.role, k.state]).sort()).toEqual(await listed(keys));
    // The tags are those of the table.
    const table = await run(['keys', 'list', 'roll.example', '--keys', keys]);
    expect(o.keys.map((k) => String(k.tag)).sort()).toEqual(
      table.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    );
  });

  it('a SyncPublish time (a DS step that waited for the watched servers) is listed as syncPublish', async () => {
    const { keys } = await setup();
    const ksk = readdirSync(keys).find(
      (f) => f.endsWith('.key') && readFileSync(join(keys, f), 'utf8').includes(' 257 '),
    )!;
    const priv = join(keys, ksk.replace(/\.key$/, '.private'));
    writeFileSync(priv, readFileSync(priv, 'utf8') + 'SyncPublish: 20300101000000\n');
    const r = await run(['keys', 'list', 'roll.example', '--keys', keys, '--json']);
    const o = JSON.parse(r.stdout) as { keys: { flags: number; syncPublish?: string }[] };
    expect(o.keys.map((k) => [k.flags, k.syncPublish]).sort()).toEqual([
      [256, undefined],
      [257, '2030-01-01T00:00:00Z'],
    ]);
  });

  it('a key file that does not load is one of `problems` (and a warning on stderr)', async () => {
    const { keys } = await setup();
    writeFileSync(join(keys, 'Kroll.example.+013+00001.key'), 'not a key\n');
    const r = await run(['keys', 'list', 'roll.example', '--keys', keys, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { keys: unknown[]; problems: string[] };
    expect(o.keys).toHaveLength(2);
    expect(o.problems).toHaveLength(1);
    expect(o.problems[0]).toContain('Kroll.example.+013+00001');
    expect(r.stderr).toContain('warning: ');
  });
});

describe('usage errors of ds, keys list and keys generate', () => {
  it.each([
    [['ds'], /^dane-ns: ds needs exactly one ZONE /],
    [['ds', 'a.example', '--state', 's'], /^dane-ns: unknown option --state /],
    [['ds', 'a.example', '--json'], /^dane-ns: unknown option --json /],
    [['keys', 'list', 'a.example', '--keys'], /^dane-ns: --keys needs a value /],
    [['keys', 'generate', 'a.example', '--csk=1'], /^dane-ns: --csk takes no value/],
    [['keys', 'generate', 'a.example', '--keys='], /^dane-ns: --keys: expected a directory, not an empty value /],
    [['keys', 'remove', 'a.example'], /^dane-ns: unknown keys subcommand "remove"/],
    [['keys', 'list', 'a..example'], /^dane-ns: ZONE: empty label/],
  ])('%j', async (args, message) => {
    expect(usageLine(await run(args))).toMatch(message);
  });
});

describe('dane-ns ds and an incomplete key set', () => {
  it('a key-signing key without its ZSK (keys: ksk-zsk) is not taken for a CSK: no DS, the files and the way out', async () => {
    const { zones, keys } = await setup();
    const zsk = (await listed(keys)).findIndex(([role]) => role === 'zsk');
    expect(zsk).toBe(1);
    const files = readdirSync(keys).filter((f) => f.endsWith('.key'));
    const tags = files.map((f) => Number(/\+(\d+)\.key$/.exec(f)![1]));
    const before = await run(['ds', 'roll.example', '--keys', keys]);
    expect(before.code, before.stderr).toBe(0);
    // Drop the ZSK's files: the KSK alone is left.
    const kskFile = files.find((f) => readFileSync(join(keys, f), 'utf8').includes('DNSKEY 257'))!;
    for (const f of readdirSync(keys)) if (!f.startsWith(kskFile.replace(/\.key$/, ''))) rmSync(join(keys, f));
    expect(tags).toHaveLength(2);
    const r = await run(['ds', 'roll.example', '--keys', keys, '--zones', zones]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(join(keys, kskFile));
    expect(r.stderr).toContain('with keys: ksk-zsk they are not taken for a CSK');
    expect(r.stderr).toContain('the key set is incomplete, so no DS is printed');
    // Without the zone file it cannot tell: refused too, saying what to give.
    const blind = await run(['ds', 'roll.example', '--keys', keys], { DANE_NS_ZONES: join(keys, 'no-zones') });
    expect(blind.code).toBe(1);
    expect(blind.stdout).toBe('');
    expect(blind.stderr).toMatch(/was not read \(.*no-zones.*\); give its directory with --zones DIR/);
    // The zone file saying keys: csk makes the same lone key a combined signing key: its DS is printed.
    writeFileSync(
      join(zones, 'roll.example.yaml'),
      readFileSync(join(zones, 'roll.example.yaml'), 'utf8').replace('records:', 'dnssec: { keys: csk }\nrecords:'),
    );
    const csk = await run(['ds', 'roll.example', '--keys', keys], { DANE_NS_ZONES: zones });
    expect(csk.code, csk.stderr).toBe(0);
    expect(csk.stdout).toBe(before.stdout);
  });

  it('a CSK set (keys: csk) gives its DS with the zone file; without it, no DS', async () => {
    const { zones, keys } = await setup(true);
    const r = await run(['ds', 'roll.example', '--keys', keys, '--zones', zones]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^roll\.example\. 3600 IN DS \d+ 13 2 [0-9A-F]{64}\n$/);
    const blind = await run(['ds', 'roll.example', '--keys', keys, '--zones', join(zones, 'none')]);
    expect(blind.code).toBe(1);
    expect(blind.stdout).toBe('');
  });

  it('a key file that does not load: no DS, an error naming the file', async () => {
    const { keys } = await setup();
    const stray = join(keys, 'Kroll.example.+013+00001.private');
    writeFileSync(stray, 'Private-key-format: v1.3\n');
    const r = await run(['ds', 'roll.example', '--keys', keys]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${stray}: no matching .key file`);
    expect(r.stderr).toContain('the key set is incomplete, so no DS is printed');
  });

  it('a key change still being written (its journal, its writer alive): no DS, an error naming the files', async () => {
    const { keys } = await setup();
    const before = (await run(['ds', 'roll.example', '--keys', keys])).stdout;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const journal = join(keys, 'Kroll.example.+pending.json');
      const created = ['Kroll.example.+013+00002.private', 'Kroll.example.+013+00002.key'];
      writeFileSync(join(keys, created[0]!), 'Private-key-format: v1.3\n');
      const j = { version: 1, zone: 'roll.example.', change: 'rollover', started: new Date().toISOString() };
      writeFileSync(journal, JSON.stringify({ ...j, pid: child.pid, created, restore: [] }));
      const r = await run(['ds', 'roll.example', '--keys', keys]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(journal);
      expect(r.stderr).toContain(join(keys, created[0]!));
      // Its writer gone, the next command undoes the change and prints the DS of the set as it was.
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const after = await run(['ds', 'roll.example', '--keys', keys]);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toBe(before);
      expect(after.stderr).toMatch(/^warning: roll\.example\.: undid the key change \(rollover\)/);
      expect(existsSync(journal)).toBe(false);
      expect(existsSync(join(keys, created[0]!))).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
