import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAtomic, removeInterruptedWrites, TEMP_NAME, writeFileAtomic } from '../../src/state/atomic.js';
import { tempDirs } from '../support/tmp.js';

const tmp = tempDirs('dane-ns-atomic');

describe('removeInterruptedWrites', () => {
  it('removes only regular files named like a temporary file of writeFileAtomic', () => {
    const d = tmp();
    writeFileAtomic(join(d, 'serials.json'), '{}\n');
    writeFileSync(join(d, '.Kexample.com.+013+01234.private.0123456789ab.tmp'), 'Private-key-format: v1.3\n');
    writeFileSync(join(d, '.tlsa.json.abcdef012345.tmp'), '{');
    writeFileSync(join(d, '.tlsa.json.ABCDEF012345.tmp'), 'upper-case hex: not ours');
    writeFileSync(join(d, 'x.0123456789ab.tmp'), 'not hidden: not ours');
    writeFileSync(join(d, '.short.0123.tmp'), 'too few digits: not ours');
    mkdirSync(join(d, '.dir.0123456789ab.tmp'));
    symlinkSync('nowhere', join(d, '.link.0123456789ab.tmp'));
    const r = removeInterruptedWrites(d);
    expect(r.removed.sort()).toEqual(
      [join(d, '.Kexample.com.+013+01234.private.0123456789ab.tmp'), join(d, '.tlsa.json.abcdef012345.tmp')].sort(),
    );
    expect(r.failed).toEqual([]);
    expect(readdirSync(d).sort()).toEqual(
      [
        '.dir.0123456789ab.tmp',
        '.link.0123456789ab.tmp',
        '.short.0123.tmp',
        '.tlsa.json.ABCDEF012345.tmp',
        'serials.json',
        'x.0123456789ab.tmp',
      ].sort(),
    );
    expect(readFileSync(join(d, 'serials.json'), 'utf8')).toBe('{}\n');
  });

  it('a missing directory has nothing to remove', () => {
    expect(removeInterruptedWrites(join(tmp(), 'none'))).toEqual({ removed: [], failed: [] });
  });

  it('the pattern matches what a write stopped before its rename leaves (here: the target is a directory)', () => {
    const d = tmp();
    mkdirSync(join(d, 'keys.json'));
    expect(() => writeFileAtomic(join(d, 'keys.json'), '{}')).toThrow();
    const left = readdirSync(d).filter((f) => f !== 'keys.json');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(TEMP_NAME);
    expect(removeInterruptedWrites(d).removed).toEqual([join(d, left[0]!)]);
    expect(readdirSync(d)).toEqual(['keys.json']);
  });
});

describe('openAtomic', () => {
  it('flush() makes the pieces durable on another thread; the target changes only at commit()', async () => {
    const d = tmp();
    const target = join(d, 'signed.bin');
    writeFileSync(target, 'old');
    const w = openAtomic(target);
    w.write(Buffer.from('new '));
    await w.flush();
    w.write(Buffer.from('content')); // written after the flush: commit() syncs it itself
    expect(readFileSync(target, 'utf8')).toBe('old');
    w.commit();
    expect(readFileSync(target, 'utf8')).toBe('new content');
    expect(readdirSync(d)).toEqual(['signed.bin']);
    await expect(w.flush()).rejects.toThrow(/after the atomic write ended/);
  });

  it('abandon() after a flush leaves the target and no temporary file', async () => {
    const d = tmp();
    const target = join(d, 'signed.bin');
    writeFileSync(target, 'old');
    const w = openAtomic(target);
    w.write(Buffer.from('new'));
    await w.flush();
    w.abandon();
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readdirSync(d)).toEqual(['signed.bin']);
  });
});
