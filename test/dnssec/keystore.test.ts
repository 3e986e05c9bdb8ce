/**
 * Tests for src/dnssec/keystore.ts: generation on a true first start only, loading on later starts, the record
 * in <state>/keys.json, and the refusal to generate new keys when recorded ones are lost (which would break the
 * DS at the parent). Uses temporary directories and, for operator-provided keys, BIND's dnssec-keygen (Debian
 * bind9-utils; a missing tool fails the test).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFileBase, writeKeyFiles } from '../../src/dnssec/keyfile.js';
import { ensureZoneKeys, isActive, type KeySetResult } from '../../src/dnssec/keystore.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { parseName } from '../../src/wire/name.js';
import { execSync } from '../support/exec.js';
import { tempDirs } from '../support/tmp.js';

const tempDir = tempDirs('dane-ns-keystore');

const ZONE = parseName('example.com.');
const NOW = new Date('2025-06-01T12:00:00Z');
const DAY = 86_400_000;

function dirs(): { keysDir: string; stateDir: string } {
  const root = tempDir();
  return { keysDir: join(root, 'keys'), stateDir: join(root, 'state') };
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function keysJson(stateDir: string): Record<string, { tags: number[]; created: string }> {
  return JSON.parse(readFileSync(join(stateDir, 'keys.json'), 'utf8')) as Record<
    string,
    { tags: number[]; created: string }
  >;
}

function expectOk(r: KeySetResult): Extract<KeySetResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${r.error}`);
  return r;
}

function expectError(r: KeySetResult): string {
  if (r.ok) throw new Error(`expected an error, got keys ${r.ksk.tag}/${r.zsk.tag}`);
  expect(r.error).not.toContain('\n');
  return r.error;
}

/** The base64 PrivateKey values of every .private file in `dir`: must never appear in a message. */
function privateValues(dir: string): string[] {
  return listing(dir)
    .filter((f) => f.endsWith('.private'))
    .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/^PrivateKey:\s*(\S+)/gm)].map((m) => m[1]!));
}

function expectNoSecrets(texts: string[], secrets: string[]): void {
  expect(secrets.length).toBeGreaterThan(0);
  for (const t of texts) for (const s of secrets) expect(t).not.toContain(s);
}

function run(cmd: string, args: string[]): string {
  return execSync(cmd, args, { cwd: tempDir(), packages: 'bind9-utils' });
}

describe('ensureZoneKeys: first start and later starts', () => {
  it('generates a KSK and a ZSK on first start (0600 .private, keys.json) and loads the same ones later', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(first.generated).toBe(true);
    expect(first.warnings).toEqual([]);
    expect(first.ksk.flags).toBe(257);
    expect(first.ksk.role).toBe('ksk');
    expect(first.zsk.flags).toBe(256);
    expect(first.zsk.role).toBe('zsk');
    expect(first.ksk.tag).not.toBe(first.zsk.tag);

    const files = listing(keysDir);
    const expected = [first.ksk, first.zsk]
      .flatMap((k) => [`${keyFileBase(ZONE, k.tag)}.key`, `${keyFileBase(ZONE, k.tag)}.private`])
      .sort();
    expect(files).toEqual(expected);
    for (const f of files) expect(statSync(join(keysDir, f)).mode & 0o777).toBe(f.endsWith('.private') ? 0o600 : 0o644);

    const rec = keysJson(stateDir);
    expect(Object.keys(rec)).toEqual(['example.com.']);
    expect(rec['example.com.']!.tags).toEqual([first.ksk.tag, first.zsk.tag].sort((a, b) => a - b));
    expect(new Date(rec['example.com.']!.created).getTime()).toBe(NOW.getTime());
    const stateBefore = readFileSync(join(stateDir, 'keys.json'), 'utf8');

    const later = new Date(NOW.getTime() + 3 * DAY);
    const second = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: later }));
    expect(second.generated).toBe(false);
    expect(second.warnings).toEqual([]);
    expect(second.ksk.tag).toBe(first.ksk.tag);
    expect(second.zsk.tag).toBe(first.zsk.tag);
    expect(second.ksk.dnskeyRdata).toEqual(first.ksk.dnskeyRdata);
    expect(second.zsk.dnskeyRdata).toEqual(first.zsk.dnskeyRdata);
    expect(listing(keysDir)).toEqual(expected);
    expect(readFileSync(join(stateDir, 'keys.json'), 'utf8')).toBe(stateBefore);
  });

  it('csk mode: one 257 key used for everything', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(first.generated).toBe(true);
    expect(first.ksk).toBe(first.zsk);
    expect(first.ksk.flags).toBe(257);
    expect(first.ksk.role).toBe('csk');
    expect(listing(keysDir)).toEqual([
      `${keyFileBase(ZONE, first.ksk.tag)}.key`,
      `${keyFileBase(ZONE, first.ksk.tag)}.private`,
    ]);
    expect(keysJson(stateDir)['example.com.']!.tags).toEqual([first.ksk.tag]);

    const second = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(second.generated).toBe(false);
    expect(second.ksk).toBe(second.zsk);
    expect(second.ksk.role).toBe('csk');
    expect(second.ksk.tag).toBe(first.ksk.tag);
    expect(listing(keysDir)).toHaveLength(2);
  });

  it('csk mode ignores 256 keys with a warning', () => {
    const { keysDir, stateDir } = dirs();
    const ksk = generateKey(ZONE, 'ksk', new Date(NOW.getTime() - DAY));
    const zsk = generateKey(ZONE, 'zsk', new Date(NOW.getTime() - DAY));
    writeKeyFiles(keysDir, ksk);
    writeKeyFiles(keysDir, zsk);
    const r = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(r.ksk.tag).toBe(ksk.tag);
    expect(r.zsk).toBe(r.ksk);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(`ignored`);
    expect(r.warnings[0]).toContain(String(zsk.tag));
  });

  it('creates a missing keys directory (mode 0700) and state directory on generation', () => {
    const root = tempDir();
    const keysDir = join(root, 'a', 'b', 'keys');
    const stateDir = join(root, 'c', 'state');
    const r = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(r.generated).toBe(true);
    expect(statSync(keysDir).isDirectory()).toBe(true);
    expect(statSync(keysDir).mode & 0o077).toBe(0);
    expect(listing(keysDir)).toHaveLength(4);
    expect(keysJson(stateDir)['example.com.']!.tags).toHaveLength(2);
  });

  it('records zones under their lower-case absolute name and keeps other zones in keys.json', () => {
    const { keysDir, stateDir } = dirs();
    const a = expectOk(ensureZoneKeys({ zone: parseName('Example.COM.'), keysDir, stateDir, mode: 'csk', now: NOW }));
    const b = expectOk(
      ensureZoneKeys({ zone: parseName('example.net.'), keysDir, stateDir, mode: 'ksk-zsk', now: NOW }),
    );
    const rec = keysJson(stateDir);
    expect(Object.keys(rec).sort()).toEqual(['example.com.', 'example.net.']);
    expect(rec['example.com.']!.tags).toEqual([a.ksk.tag]);
    expect(rec['example.net.']!.tags).toEqual([b.ksk.tag, b.zsk.tag].sort((x, y) => x - y));
    // Same zone, other spelling: found, not regenerated.
    const again = expectOk(
      ensureZoneKeys({ zone: parseName('EXAMPLE.com.'), keysDir, stateDir, mode: 'csk', now: NOW }),
    );
    expect(again.generated).toBe(false);
    expect(again.ksk.tag).toBe(a.ksk.tag);
  });
});

describe('ensureZoneKeys: lost keys are never replaced silently', () => {
  it('deleted key files: ok:false with the message, and no new files', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    const stateBefore = readFileSync(join(stateDir, 'keys.json'), 'utf8');
    for (const f of listing(keysDir)) unlinkSync(join(keysDir, f));

    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    const tags = [first.ksk.tag, first.zsk.tag].sort((a, b) => a - b);
    expect(err).toBe(
      `example.com.: the DNSSEC keys recorded in ${join(stateDir, 'keys.json')} (tags ${tags.join(', ')}) are missing from ${keysDir}; ` +
        `not generating new ones, because that would break the DS at the parent. Restore the key files, or remove the zone's entry ` +
        `from keys.json to start over with new keys (and a new DS).`,
    );
    expect(listing(keysDir)).toEqual([]);
    expect(readFileSync(join(stateDir, 'keys.json'), 'utf8')).toBe(stateBefore);

    // Also in csk mode, and again on the next start: still nothing generated.
    expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(listing(keysDir)).toEqual([]);
  });

  it('a deleted keys directory is not recreated', () => {
    const { keysDir, stateDir } = dirs();
    expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    rmSync(keysDir, { recursive: true });
    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(err).toContain('are missing from');
    expect(() => statSync(keysDir)).toThrow();
  });

  it('removing the zone from keys.json starts over with new keys', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    for (const f of listing(keysDir)) unlinkSync(join(keysDir, f));
    writeFileSync(join(stateDir, 'keys.json'), '{}\n');
    const r = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(r.generated).toBe(true);
    expect(keysJson(stateDir)['example.com.']!.tags).toEqual([r.ksk.tag]);
    expect(r.ksk.dnskeyRdata).not.toEqual(first.ksk.dnskeyRdata);
  });

  it('a corrupted key file with no other usable pair: ok:false naming the file, nothing generated, no secrets', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    const secrets = privateValues(keysDir);
    const zskPrivate = join(keysDir, `${keyFileBase(ZONE, first.zsk.tag)}.private`);
    // Corrupt the scalar but keep it in the file: an echo of the file text would leak it.
    writeFileSync(zskPrivate, readFileSync(zskPrivate, 'utf8').replace(/^PrivateKey:\s*(\S+)/m, 'PrivateKey: $1!!'), {
      mode: 0o600,
    });
    const before = listing(keysDir);

    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(err).toContain('not generating new ones');
    expect(err).toContain('no active ZSK');
    expect(err).toContain(zskPrivate);
    expect(err).toContain(String(first.zsk.tag));
    expectNoSecrets([err], secrets);
    expect(listing(keysDir)).toEqual(before);
  });

  it('a corrupted key file is a warning when another usable pair remains', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(
      ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: new Date(NOW.getTime() - 10 * DAY) }),
    );
    // A second, newer ZSK (a rollover in progress); then the newer one breaks.
    const zsk2 = generateKey(ZONE, 'zsk', new Date(NOW.getTime() - DAY));
    writeKeyFiles(keysDir, zsk2);
    const secrets = privateValues(keysDir);
    const r1 = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(r1.zsk.tag).toBe(zsk2.tag); // the newest active ZSK
    expect(keysJson(stateDir)['example.com.']!.tags).toEqual(
      [first.ksk.tag, first.zsk.tag, zsk2.tag].sort((a, b) => a - b),
    );

    const broken = join(keysDir, `${keyFileBase(ZONE, zsk2.tag)}.private`);
    writeFileSync(broken, readFileSync(broken, 'utf8').replace(/^PrivateKey:\s*(\S+)/m, 'PrivateKey: $1$1'), {
      mode: 0o600,
    });
    const r2 = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(r2.generated).toBe(false);
    expect(r2.ksk.tag).toBe(first.ksk.tag);
    expect(r2.zsk.tag).toBe(first.zsk.tag);
    expect(r2.warnings.length).toBeGreaterThanOrEqual(1);
    expect(r2.warnings.some((w) => w.includes(broken))).toBe(true);
    expectNoSecrets(r2.warnings, secrets);
  });

  it('key files that give no usable set, with nothing recorded: ok:false, nothing generated', () => {
    const { keysDir, stateDir } = dirs();
    writeKeyFiles(keysDir, generateKey(ZONE, 'ksk', NOW)); // a KSK alone, in ksk-zsk mode
    const before = listing(keysDir);
    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(err).toContain('no active ZSK');
    expect(err).toContain('not generating');
    expect(listing(keysDir)).toEqual(before);
    expect(listing(stateDir)).toEqual([]);
  });

  it('a broken key file alone, nothing recorded: ok:false (a key file exists, so this is not a first start)', () => {
    const { keysDir, stateDir } = dirs();
    const k = generateKey(ZONE, 'ksk', NOW);
    const { keyFile } = writeKeyFiles(keysDir, k);
    writeFileSync(keyFile, 'garbage\n');
    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(err).toContain(keyFile);
    expect(listing(keysDir)).toHaveLength(2);
  });

  it('an unreadable keys.json blocks generation (it may record keys that are now lost)', () => {
    const { keysDir, stateDir } = dirs();
    expectOk(ensureZoneKeys({ zone: parseName('other.example.'), keysDir, stateDir, mode: 'csk', now: NOW }));
    writeFileSync(join(stateDir, 'keys.json'), '{ "example.com.": { "tags": [1');
    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(err).toContain('is not valid JSON');
    expect(err).toContain('not generating');
    expect(listing(keysDir).filter((f) => f.startsWith('Kexample.com.'))).toEqual([]);
    // A zone whose keys load still works, with a warning, and the broken file is left for the operator.
    const other = expectOk(
      ensureZoneKeys({ zone: parseName('other.example.'), keysDir, stateDir, mode: 'csk', now: NOW }),
    );
    expect(other.warnings.some((w) => w.includes('not recorded'))).toBe(true);
    expect(readFileSync(join(stateDir, 'keys.json'), 'utf8')).toBe('{ "example.com.": { "tags": [1');
  });
});

describe('ensureZoneKeys: operator-provided keys and key timing', () => {
  it('uses and records keys made by dnssec-keygen; losing them later is an error', () => {
    const { keysDir, stateDir } = dirs();
    mkdirSync(keysDir, { recursive: true });
    const kskBase = run('dnssec-keygen', [
      '-q',
      '-a',
      'ECDSAP256SHA256',
      '-f',
      'KSK',
      '-K',
      keysDir,
      'example.com',
    ]).trim();
    const zskBase = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-K', keysDir, 'example.com']).trim();
    const tagOf = (base: string): number => Number(/\+(\d{5})$/.exec(base)![1]);
    const secrets = privateValues(keysDir);
    const before = listing(keysDir);

    const now = new Date(Date.now() + 60_000); // dnssec-keygen activates at the wall-clock time of creation
    const r = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now }));
    expect(r.generated).toBe(false);
    expect(r.warnings).toEqual([]);
    expect(r.ksk.tag).toBe(tagOf(kskBase));
    expect(r.zsk.tag).toBe(tagOf(zskBase));
    expect(listing(keysDir)).toEqual(before);
    expect(keysJson(stateDir)['example.com.']!.tags).toEqual([tagOf(kskBase), tagOf(zskBase)].sort((a, b) => a - b));

    for (const f of listing(keysDir)) if (f.startsWith(zskBase)) unlinkSync(join(keysDir, f));
    const err = expectError(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now }));
    expect(err).toContain(`tags ${[tagOf(kskBase), tagOf(zskBase)].sort((a, b) => a - b).join(', ')}`);
    expect(err).toContain('no longer form a usable set');
    expect(err).toContain('not generating new ones, because that would break the DS at the parent');
    expectNoSecrets([err], secrets);
    expect(listing(keysDir)).toHaveLength(2);
  });

  it('picks the active ZSK over an inactive old one (even one activated later) and ignores future keys', () => {
    const { keysDir, stateDir } = dirs();
    const ksk = generateKey(ZONE, 'ksk', new Date(NOW.getTime() - 60 * DAY));
    const active = generateKey(ZONE, 'zsk', new Date(NOW.getTime() - 30 * DAY));
    const retired = {
      ...generateKey(ZONE, 'zsk', new Date(NOW.getTime() - 20 * DAY)),
      inactive: new Date(NOW.getTime() - DAY),
    };
    const deleted = {
      ...generateKey(ZONE, 'zsk', new Date(NOW.getTime() - 10 * DAY)),
      delete: new Date(NOW.getTime() - 2 * DAY),
    };
    const future = generateKey(ZONE, 'zsk', new Date(NOW.getTime() + DAY));
    for (const k of [ksk, active, retired, deleted, future]) writeKeyFiles(keysDir, k);

    const r = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(r.ksk.tag).toBe(ksk.tag);
    expect(r.zsk.tag).toBe(active.tag);
    expect(r.warnings).toEqual([]);
    // Every valid key file is recorded, not only the two in use.
    expect(keysJson(stateDir)['example.com.']!.tags).toHaveLength(5);

    // Two days later the future key is active and newest.
    const later = expectOk(
      ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: new Date(NOW.getTime() + 2 * DAY) }),
    );
    expect(later.zsk.tag).toBe(future.tag);
  });

  it('isActive follows Activate, Inactive and Delete', () => {
    const k = generateKey(ZONE, 'zsk', NOW);
    expect(isActive(k, NOW)).toBe(true);
    expect(isActive(k, new Date(NOW.getTime() - 1000))).toBe(false);
    expect(isActive({ ...k, inactive: new Date(NOW.getTime() + 1000) }, NOW)).toBe(true);
    expect(isActive({ ...k, inactive: NOW }, NOW)).toBe(false);
    expect(isActive({ ...k, delete: NOW }, NOW)).toBe(false);
  });

  it('a recorded key that disappears while a usable set remains is a warning', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(
      ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: new Date(NOW.getTime() - 10 * DAY) }),
    );
    const ksk2 = generateKey(ZONE, 'ksk', new Date(NOW.getTime() - DAY));
    writeKeyFiles(keysDir, ksk2);
    for (const f of listing(keysDir)) if (f.startsWith(keyFileBase(ZONE, first.ksk.tag))) unlinkSync(join(keysDir, f));
    const r = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(r.ksk.tag).toBe(ksk2.tag);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(`tags ${first.ksk.tag}`);
    expect(r.warnings[0]).toContain("parent's DS");
    expect(listing(keysDir)).toHaveLength(4);
  });
});

describe('ensureZoneKeys: keys.json that cannot be read or written', () => {
  it('says why in keysFileProblem (and a warning), and never writes over a keys.json it cannot read', () => {
    const { keysDir, stateDir } = dirs();
    const first = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(first.keysFileProblem).toBeUndefined();
    const file = join(stateDir, 'keys.json');
    rmSync(file);
    mkdirSync(file); // not a regular file
    const unreadable = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(unreadable.keysFileProblem).toBe('read: cannot be read (not a regular file (directory))');
    expect(unreadable.warnings.join('\n')).toContain(`${file} cannot be read`);
    expect(statSync(file).isDirectory()).toBe(true);
    rmSync(file, { recursive: true });
    const back = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW }));
    expect(back.keysFileProblem).toBeUndefined();
    expect(keysJson(stateDir)['example.com.']!.tags).toEqual([first.ksk.tag, first.zsk.tag].sort((a, b) => a - b));
  });
});

describe('ensureZoneKeys: a key-signing key alone with keys: ksk-zsk', () => {
  it('is not taken for a CSK: an error naming the file and the two ways out; with keys: csk it is the CSK', () => {
    const { keysDir, stateDir } = dirs();
    const ksk = generateKey(ZONE, 'ksk', NOW);
    writeKeyFiles(keysDir, ksk);
    const r = ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW });
    expect(r.ok).toBe(false);
    const err = (r as { error: string }).error;
    expect(err).toContain(join(keysDir, `${keyFileBase(ZONE, ksk.tag)}.key`));
    expect(err).toContain('with keys: ksk-zsk they are not taken for a CSK');
    expect(err).toContain('set dnssec: { keys: csk }');
    expect(listing(keysDir)).toHaveLength(2); // nothing generated
    const csk = expectOk(ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'csk', now: NOW }));
    expect(csk.ksk.tag).toBe(ksk.tag);
    expect(csk.zsk).toBe(csk.ksk);
  });
});
