/**
 * `dane-ns tsig generate NAME [--keys DIR] [--algorithm A]`: writes `<keys>/tsig/NAME.key` (mode 0600) in
 * tsig-keygen's format, prints the same text, never overwrites a key, and the server's keyring reads it.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTsigKeys, readKeyring } from '../../src/dnssec/tsigkey.js';
import { parseName } from '../../src/wire/name.js';
import { run, usageLine } from './run.js';

const base = mkdtempSync(join(tmpdir(), 'dane-ns-cli-tsig-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(base, String(n++));

describe('dane-ns tsig generate', () => {
  it('writes <keys>/tsig/NAME.key with mode 0600 and prints it; the keyring reads it', async () => {
    const keys = fresh();
    const r = await run(['tsig', 'generate', 'Knot-XFR', '--keys', keys]);
    expect(r.code, r.stderr).toBe(0);
    const file = join(keys, 'tsig', 'knot-xfr.key');
    expect(r.stdout).toBe(readFileSync(file, 'utf8'));
    expect(r.stdout).toMatch(/^key "Knot-XFR" \{\n\talgorithm hmac-sha256;\n\tsecret "[A-Za-z0-9+/]{43}=";\n\};\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const [printed] = parseTsigKeys(r.stdout);
    const key = readKeyring(keys).lookup(parseName('knot-xfr.'));
    expect(key && Buffer.from(key.secret).toString('hex')).toBe(Buffer.from(printed!.secret).toString('hex'));
    expect(r.stderr).toContain(file);
  });

  it('refuses to overwrite a key (exit 1, the file unchanged)', async () => {
    const keys = fresh();
    expect((await run(['tsig', 'generate', 'xfr', '--keys', keys])).code).toBe(0);
    const before = readFileSync(join(keys, 'tsig', 'xfr.key'), 'utf8');
    const again = await run(['tsig', 'generate', 'xfr.', '--keys', keys]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists: not overwritten');
    expect(readFileSync(join(keys, 'tsig', 'xfr.key'), 'utf8')).toBe(before);
  });

  it('--algorithm hmac-sha512 makes a 64-octet secret; DANE_NS_KEYS is the default directory', async () => {
    const keys = fresh();
    const r = await run(['tsig', 'generate', 'big', '--algorithm', 'hmac-sha512'], { DANE_NS_KEYS: keys });
    expect(r.code, r.stderr).toBe(0);
    const [key] = parseTsigKeys(readFileSync(join(keys, 'tsig', 'big.key'), 'utf8'));
    expect([key!.algorithm, key!.secret.length]).toEqual(['hmac-sha512', 64]);
  });

  it('usage errors: an unknown algorithm, a name that cannot be a file name, no NAME', async () => {
    const keys = fresh();
    expect(usageLine(await run(['tsig', 'generate', 'x', '--keys', keys, '--algorithm', 'hmac-md5']))).toContain(
      '--algorithm: expected one of hmac-sha1',
    );
    expect(usageLine(await run(['tsig', 'generate', 'a/b', '--keys', keys]))).toContain('cannot be a file name');
    expect(usageLine(await run(['tsig', 'generate', '--keys', keys]))).toContain(
      'tsig generate needs exactly one NAME',
    );
    expect(usageLine(await run(['tsig', 'rotate']))).toContain('unknown tsig subcommand "rotate"');
  });
});
