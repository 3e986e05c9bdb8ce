/**
 * Tests for src/dnssec/keyjournal.ts: an interrupted key change (its journal left behind) is undone: the files
 * it created removed, those it rewrote written back, the journal removed; a change whose writer still runs is
 * an error naming the journal and the files (nothing touched); a journal naming a file that is not a key file of
 * the zone is refused; ensureZoneKeys and a rollover undo before reading the keys.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFileBase, rewriteKeyTiming, writeKeyFiles } from '../../src/dnssec/keyfile.js';
import { beginKeyChange, journalPath, recoverKeyChange } from '../../src/dnssec/keyjournal.js';
import { ensureZoneKeys } from '../../src/dnssec/keystore.js';
import { startRollover } from '../../src/dnssec/keyroll.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { parseName } from '../../src/wire/name.js';
import { tempDirs } from '../support/tmp.js';

const tempDir = tempDirs('dane-ns-keyjournal');
const ZONE = parseName('example.com.');
const NOW = new Date('2025-06-01T12:00:00Z');
const files = (tag: number): string[] => [`${keyFileBase(ZONE, tag)}.private`, `${keyFileBase(ZONE, tag)}.key`];

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

describe('recoverKeyChange', () => {
  it('without a journal: nothing to do', () => {
    expect(recoverKeyChange(tempDir(), ZONE, NOW)).toEqual({ ok: true });
  });

  it('undoes an interrupted change: created files removed, rewritten ones restored, the journal removed', () => {
    const dir = tempDir();
    const old = generateKey(ZONE, 'zsk', NOW);
    writeKeyFiles(dir, old);
    const before = snapshot(dir);
    const fresh = generateKey(ZONE, 'zsk', NOW);
    beginKeyChange(dir, ZONE, 'rollover', files(fresh.tag), files(old.tag), NOW);
    // The change as far as it got: the new key complete, the old key's .private rewritten, its .key not.
    writeKeyFiles(dir, fresh);
    rewriteKeyTiming(dir, Object.freeze({ ...old, inactive: NOW, delete: NOW }));
    expect(snapshot(dir)).not.toEqual(before);
    const r = recoverKeyChange(dir, ZONE, NOW);
    expect(r.ok).toBe(true);
    expect(r.ok && r.undone).toMatch(/undid the key change \(rollover\)/);
    expect(r.ok && r.undone).toContain(`${keyFileBase(ZONE, fresh.tag)}.key removed`);
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(journalPath(dir, ZONE))).toBe(false);
  });

  it('a change whose writer still runs is an error naming the journal and its files; nothing is touched', async () => {
    const dir = tempDir();
    const k = generateKey(ZONE, 'ksk', NOW);
    beginKeyChange(dir, ZONE, 'generate', files(k.tag), [], new Date());
    writeKeyFiles(dir, k);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const j = JSON.parse(readFileSync(journalPath(dir, ZONE), 'utf8')) as { pid: number };
      writeFileSync(journalPath(dir, ZONE), JSON.stringify({ ...j, pid: child.pid }));
      const before = snapshot(dir);
      const r = recoverKeyChange(dir, ZONE, new Date());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toContain(`by process ${child.pid} is under way`);
        expect(r.error).toContain(journalPath(dir, ZONE));
        expect(r.error).toContain(join(dir, `${keyFileBase(ZONE, k.tag)}.private`));
      }
      expect(snapshot(dir)).toEqual(before);
      // The same journal 5 minutes later is from a dead writer (a key change takes milliseconds): undone.
      const later = recoverKeyChange(dir, ZONE, new Date(Date.now() + 6 * 60_000));
      expect(later.ok).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a journal that names a file outside the zone’s key files', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'x');
    const j = { version: 1, zone: 'example.com.', change: 'generate', pid: 1 << 30, started: NOW.toISOString() };
    writeFileSync(journalPath(dir, ZONE), JSON.stringify({ ...j, created: ['../keep.txt'], restore: [] }));
    const r = recoverKeyChange(dir, ZONE, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/not a key file of the zone/);
    expect(existsSync(join(dir, 'keep.txt'))).toBe(true);
  });
});

describe('callers undo first', () => {
  it('ensureZoneKeys after a first start killed mid-set: the partial set is replaced by a whole one', () => {
    const root = tempDir();
    const keysDir = join(root, 'keys');
    const stateDir = join(root, 'state');
    const ksk = generateKey(ZONE, 'ksk', NOW);
    const zsk = generateKey(ZONE, 'zsk', NOW);
    beginKeyChange(keysDir, ZONE, 'generate', [...files(ksk.tag), ...files(zsk.tag)], [], NOW);
    writeKeyFiles(keysDir, ksk); // the ZSK never written
    const r = ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.generated).toBe(true);
    expect(r.warnings[0]).toMatch(/undid the key change \(generate\)/);
    expect(Buffer.from(r.ksk.publicKey).equals(Buffer.from(ksk.publicKey))).toBe(false);
    expect(readdirSync(keysDir).sort()).toEqual([...files(r.ksk.tag), ...files(r.zsk.tag)].sort());
  });

  it('startRollover after an interrupted rollover: undone, then the new rollover runs', () => {
    const root = tempDir();
    const keysDir = join(root, 'keys');
    const stateDir = join(root, 'state');
    const first = ensureZoneKeys({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', now: NOW });
    expect(first.ok).toBe(true);
    const stray = generateKey(ZONE, 'zsk', NOW);
    beginKeyChange(keysDir, ZONE, 'rollover', files(stray.tag), [], NOW);
    writeKeyFiles(keysDir, stray);
    const timing = { dnskeyTtl: 300, maxTtl: 300, margin: 60, dsTtl: 3600 };
    const r = startRollover({ zone: ZONE, keysDir, stateDir, mode: 'ksk-zsk', timing, now: NOW, kind: 'zsk' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings.join('\n')).toMatch(/undid the key change \(rollover\)/);
    expect(existsSync(join(keysDir, files(stray.tag)[0]!))).toBe(false);
    expect(existsSync(join(keysDir, files(r.created.tag)[1]!))).toBe(true);
    expect(existsSync(journalPath(keysDir, ZONE))).toBe(false);
  });
});
