/**
 * Permission problems are permission problems (src/state/access.ts): the commands and the server run as an
 * unprivileged user (uid 65534, setpriv) against keys written by root. `dane-ns ds` reads only the public .key
 * files, so it works when the .private files are root's 0600; a keys directory it may not enter, and private key
 * files `keys list` and `serve` may not read, are reported with the path, the uid, the owner and mode and the
 * chown that fixes it: never as lost keys, and no new keys are generated. So are a zone file and a state file.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './helpers/dig.js';
import { freePort } from './helpers/ports.js';
import { CLI, REPO_ROOT } from './helpers/server.js';

const NOBODY = 65534;
let setpriv: string;
const work = mkdtempSync(join(tmpdir(), 'dane-ns-perm-'));
const zones = join(work, 'zones');
const keys = join(work, 'keys');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `dane-ns ARGS`, as root or as uid 65534; bounded by `timeout` ms. */
function cli(
  args: string[],
  as: 'root' | 'nobody',
  timeout = 20_000,
): { code: number; stdout: string; stderr: string } {
  const argv = [process.execPath, CLI, ...args];
  if (as === 'nobody') argv.unshift(setpriv, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups');
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, encoding: 'utf8', timeout });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  setpriv = requireTool('setpriv');
  chmodSync(work, 0o755);
  mkdirSync(zones);
  writeFileSync(
    join(zones, 'perm.example.yaml'),
    'origin: perm.example.\nttl: 300\nsoa: { mname: ns1, rname: h, serial: 1, minimum: 60 }\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n',
  );
  const gen = cli(['keys', 'generate', 'perm.example', '--keys', keys, '--state', join(work, 'root-state')], 'root');
  expect(gen.code, gen.stderr).toBe(0);
});

describe('an unprivileged user and root-owned keys', () => {
  it('ds reads only the public .key files: the same DS as root gets, the .private files being 0600 root', () => {
    chmodSync(keys, 0o755);
    const root = cli(['ds', 'perm.example', '--keys', keys], 'root');
    expect(root.code, root.stderr).toBe(0);
    const r = cli(['ds', 'perm.example', '--keys', keys], 'nobody');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(root.stdout);
    expect(r.stdout).toMatch(/^perm\.example\. 3600 IN DS \d+ 13 2 [0-9A-F]{64}$/m);
  });

  it('a keys directory it may not enter: the directory, its owner and mode, the uid and the chown', () => {
    chmodSync(keys, 0o700);
    try {
      const r = cli(['ds', 'perm.example', '--keys', keys], 'nobody');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`runs as uid ${NOBODY} (gid ${NOBODY}) and may not enter ${keys}`);
      expect(r.stderr).toContain('owned by uid 0 gid 0, mode 0700');
      expect(r.stderr).toContain(`fix: chown -R ${NOBODY}:${NOBODY} ${keys}`);
      expect(r.stderr).not.toMatch(/generate|lost|missing|fix or remove/i);
    } finally {
      chmodSync(keys, 0o755);
    }
  });

  it('keys list with private files it may not read: each file, mode 0600, its chown; not "no keys"', () => {
    const r = cli(['keys', 'list', 'perm.example', '--keys', keys], 'nobody');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\.private, owned by uid 0 gid 0, mode 0600; fix: chown 65534:65534 \S+\.private/);
    expect(r.stderr).toContain('the keys are there: fix their ownership');
    expect(r.stderr).not.toMatch(/no DNSSEC keys|generate|lost/i);
  });

  it('serve: the zone is not served, the log says whose files and the fix, and no key is generated', async () => {
    const before = readdirSync(keys).sort();
    const state = join(work, 'nobody-state');
    mkdirSync(state);
    chownSync(state, NOBODY, NOBODY);
    const args = ['serve', '--zones', zones, '--keys', keys, '--state', state];
    // Killed by the timeout once it has run (it keeps serving, with the zone left out): the log is what counts.
    const r = cli([...args, '--listen', `127.0.0.1:${await freePort()}`], 'nobody', 4000);
    const line = r.stdout.split('\n').find((l) => l.includes('"event":"zone-keys-unreadable"'));
    expect(line, r.stdout + r.stderr).toBeDefined();
    const o = JSON.parse(line!) as { level: string; error: string; serving: string };
    expect(o.level).toBe('error');
    expect(o.error).toContain(`runs as uid ${NOBODY}`);
    expect(o.error).toMatch(/mode 0600; fix: chown 65534:65534 \S+\.private/);
    expect(o.error).toContain('not generating new keys');
    expect(r.stdout).not.toContain('zone-keys-generated');
    expect(readdirSync(keys).sort()).toEqual(before);
  });

  it('a zone file and a state file it may not read: each with its owner, mode and chown', async () => {
    const dir = mkdtempSync(join(work, 'files-'));
    chmodSync(dir, 0o755);
    const myZones = join(dir, 'zones');
    const state = join(dir, 'state');
    mkdirSync(myZones);
    mkdirSync(state);
    chownSync(state, NOBODY, NOBODY);
    const zoneFile = join(myZones, 'perm.example.yaml');
    writeFileSync(zoneFile, readFileSync(join(zones, 'perm.example.yaml')));
    chmodSync(zoneFile, 0o600);
    const args = ['serve', '--zones', myZones, '--keys', join(dir, 'keys'), '--state', state];
    const r = cli([...args, '--listen', `127.0.0.1:${await freePort()}`], 'nobody', 10_000);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `${zoneFile}:0: cannot read: permission denied: dane-ns runs as uid ${NOBODY} (gid ${NOBODY}) and may not read ${zoneFile}, owned by uid 0 gid 0, mode 0600; fix: chown ${NOBODY}:${NOBODY} ${zoneFile}`,
    );
    // The zone file readable, serials.json root's 0600: served all the same, the state file's problem logged.
    chmodSync(zoneFile, 0o644);
    writeFileSync(join(state, 'serials.json'), '{}\n', { mode: 0o600 });
    const s = cli([...args, '--listen', `127.0.0.1:${await freePort()}`], 'nobody', 4000);
    const line = s.stdout.split('\n').find((l) => l.includes('"event":"state-file-failed"'));
    expect(line, s.stdout + s.stderr).toBeDefined();
    expect(JSON.parse(line!).reason).toContain(
      `may not read ${join(state, 'serials.json')}, owned by uid 0 gid 0, mode 0600; fix: chown ${NOBODY}:${NOBODY}`,
    );
  });
});
