/**
 * Tests for src/dnssec/tsigkey.ts: BIND key files for TSIG. Files from `tsig-keygen` parse and print back
 * byte for byte; files we write are read by `nsupdate -k`, whose signed UPDATE our verify() accepts (and whose
 * check of our signed answer fails when one MAC bit is flipped); the keyring directory's rules (file named after
 * its key, mode 0600, atomic write); errors that name the file and line and never echo the secret.
 *
 * The tools are required (Debian bind9 for tsig-keygen, bind9-dnsutils for nsupdate): a missing one fails.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { macLength, TSIG_ALGORITHMS } from '../../src/dnssec/tsig.js';
import {
  formatTsigKey,
  generateTsigKey,
  parseTsigKeys,
  readKeyring,
  tsigKeyFileName,
  TsigKeyError,
  writeTsigKey,
} from '../../src/dnssec/tsigkey.js';
import { opcode } from '../../src/wire/header.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { runTool, startPeer } from '../integration/helpers/tsigpeer.js';

const tmp = mkdtempSync(join(tmpdir(), 'dane-ns-tsigkey-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(tmp, `keys${++dirs}`);

const SECRET = 'UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=';

describe('tsig-keygen files', () => {
  for (const algorithm of TSIG_ALGORITHMS)
    it(`${algorithm}: parsed, and printed back byte for byte`, async () => {
      const run = await runTool('tsig-keygen', ['-a', algorithm, 'xfr.example']);
      expect(run.code).toBe(0);
      const [key, ...more] = parseTsigKeys(run.stdout, 'tsig-keygen output');
      expect(more).toHaveLength(0);
      expect([nameToText(key!.name), key!.algorithm, key!.secret.length]).toEqual([
        'xfr.example.',
        algorithm,
        macLength(algorithm),
      ]);
      expect(formatTsigKey(key!)).toBe(run.stdout);
    });
});

describe('parsing as tolerant as BIND', () => {
  it('comments of three kinds, any whitespace, quoted or bare values, clauses in any order, several keys', () => {
    const text = [
      '# made by hand',
      'key xfr-key { // the transfer key',
      '  secret   "' + SECRET + '" ; /* a comment',
      '  over two lines */ algorithm "HMAC-SHA512." ;',
      '};',
      'key "second"{algorithm hmac-sha1;secret "' + SECRET + '";};',
    ].join('\n');
    const keys = parseTsigKeys(text);
    expect(keys.map((k) => [nameToText(k.name), k.algorithm])).toEqual([
      ['xfr-key.', 'hmac-sha512'],
      ['second.', 'hmac-sha1'],
    ]);
    expect(Buffer.from(keys[0]!.secret).toString('base64')).toBe(SECRET);
  });

  const bad: [string, string, RegExp][] = [
    ['missing ";"', `key "k" {\n algorithm hmac-sha256\n secret "${SECRET}";\n};`, /f\.key:3: expected ";"/],
    ['unknown clause', `key "k" {\n\n digest-bits 128;\n};`, /f\.key:3: unknown clause "digest-bits"/],
    [
      'HMAC-MD5',
      `key "k" {\n algorithm hmac-md5;\n secret "${SECRET}";\n};`,
      /f\.key:2: .*HMAC-MD5\) is not supported/,
    ],
    ['unknown algorithm', `key "k" {\n algorithm hmac-sha3;\n};`, /f\.key:2: unknown TSIG algorithm "hmac-sha3"/],
    ['bad base64', `key "k" {\n algorithm hmac-sha256;\n secret "abc!";\n};`, /f\.key:3: the secret is not base64/],
    ['no secret', `key "k" {\n algorithm hmac-sha256;\n};`, /f\.key:1: key "k" has no secret/],
    ['no algorithm', `key "k" {\n secret "${SECRET}";\n};`, /f\.key:1: key "k" has no algorithm/],
    ['open comment', `key "k" {\n/* never closed\n`, /f\.key:2: comment "\/\*" is not closed/],
    ['open string', `key "k" {\n secret "${SECRET};\n};`, /f\.key:2: quoted string is not closed/],
    ['cut short', `key "k" {\n algorithm hmac-sha256;`, /f\.key:2: file ends where/],
    ['not a key', `options { };`, /f\.key:1: expected a "key" statement/],
  ];
  for (const [what, text, message] of bad)
    it(`error naming file and line: ${what}`, () => {
      let err: unknown = null;
      try {
        parseTsigKeys(text, 'f.key');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TsigKeyError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain(SECRET.slice(0, 12));
    });
});

describe('generateTsigKey', () => {
  it('a random secret as long as the hash output, hmac-sha256 by default; HMAC-MD5 refused', () => {
    for (const algorithm of TSIG_ALGORITHMS)
      expect(generateTsigKey('k', algorithm).secret.length).toBe(macLength(algorithm));
    const a = generateTsigKey('k');
    expect(a.algorithm).toBe('hmac-sha256');
    expect(Buffer.from(a.secret).equals(Buffer.from(generateTsigKey('k').secret))).toBe(false);
    expect(() => generateTsigKey('k', 'hmac-md5')).toThrow(/not supported/);
  });
});

describe('keyring directory <keys>/tsig/<name>.key', () => {
  it('written atomically with mode 0600, read back, looked up case-insensitively', () => {
    const dir = freshDir();
    const key = generateTsigKey('Xfr.Example', 'hmac-sha384');
    const path = writeTsigKey(dir, key);
    expect(path).toBe(join(dir, 'tsig', 'xfr.example.key'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(formatTsigKey(key));
    expect(readdirSync(join(dir, 'tsig'))).toEqual(['xfr.example.key']); // no temporary file left behind
    const ring = readKeyring(dir);
    expect(ring.keys).toHaveLength(1);
    const found = ring.lookup(parseName('XFR.example.'));
    expect(found && Buffer.from(found.secret).equals(Buffer.from(key.secret))).toBe(true);
    expect(ring.lookup(parseName('other.'))).toBeUndefined();
  });

  it('no directory is an empty keyring; files not ending in .key are ignored', () => {
    expect(readKeyring(freshDir()).keys).toEqual([]);
    const dir = freshDir();
    writeTsigKey(dir, generateTsigKey('a'));
    writeFileSync(join(dir, 'tsig', 'README'), 'not a key');
    expect(readKeyring(dir).keys.map((k) => nameToText(k.name))).toEqual(['a.']);
  });

  it('a file must hold one key named like the file; errors name the file', () => {
    const dir = freshDir();
    const tsigDir = join(dir, 'tsig');
    mkdirSync(tsigDir, { recursive: true });
    writeFileSync(join(tsigDir, 'one.key'), formatTsigKey(generateTsigKey('two')));
    expect(() => readKeyring(dir)).toThrow(/one\.key: holds key "two"; the file must be named after its key/);
    writeFileSync(
      join(tsigDir, 'one.key'),
      formatTsigKey(generateTsigKey('one')) + formatTsigKey(generateTsigKey('x')),
    );
    expect(() => readKeyring(dir)).toThrow(/one\.key: holds 2 keys/);
    writeFileSync(join(tsigDir, 'one.key'), 'key "one" {\n algorithm hmac-md5;\n};\n');
    expect(() => readKeyring(dir)).toThrow(/tsig\/one\.key:2: .*HMAC-MD5/);
  });

  it('a FIFO or a link to /dev/zero in the keyring is refused with the path, not read forever', () => {
    const dir = freshDir();
    const tsigDir = join(dir, 'tsig');
    mkdirSync(tsigDir, { recursive: true });
    execFileSync('mkfifo', [join(tsigDir, 'one.key')]);
    expect(() => readKeyring(dir)).toThrow(`${join(tsigDir, 'one.key')}: not a regular file (FIFO)`);
    rmSync(join(tsigDir, 'one.key'));
    symlinkSync('/dev/zero', join(tsigDir, 'one.key'));
    expect(() => readKeyring(dir)).toThrow(`${join(tsigDir, 'one.key')}: not a regular file (character device)`);
  });

  it('key names that cannot be file names are refused', () => {
    expect(tsigKeyFileName(parseName('a-b_c.example.'))).toBe('a-b_c.example.key');
    expect(() => tsigKeyFileName(parseName('a\\/b.'))).toThrow(/cannot be a file name/);
  });
});

describe('nsupdate -k', () => {
  const UPDATE = (port: number): string =>
    `server 127.0.0.1 ${port}\nzone example.com\nupdate add new.example.com 300 A 192.0.2.7\nsend\n`;

  it('reads a key file we wrote; its signed UPDATE verifies with the keyring, and it accepts our answer', async () => {
    const dir = freshDir();
    const path = writeTsigKey(dir, generateTsigKey('update-key', 'hmac-sha512'));
    const peer = await startPeer(readKeyring(dir).keys);
    try {
      const run = await runTool('nsupdate', ['-k', path], UPDATE(peer.port));
      expect([run.code, run.stderr]).toEqual([0, '']);
      const [ex] = peer.exchanges;
      expect(ex && opcode((ex.query[2]! << 8) | ex.query[3]!)).toBe(5); // UPDATE (RFC 2136)
      expect(ex?.result.ok).toBe(true);
    } finally {
      await peer.close();
    }
  });

  it('control: one flipped bit of our answer MAC makes nsupdate fail', async () => {
    const dir = freshDir();
    const path = writeTsigKey(dir, generateTsigKey('update-key'));
    const peer = await startPeer(readKeyring(dir).keys, { tamper: 0 });
    try {
      const run = await runTool('nsupdate', ['-k', path], UPDATE(peer.port));
      expect(peer.exchanges[0]?.result.ok).toBe(true);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/tsig verify failure/);
    } finally {
      await peer.close();
    }
  });

  it('a tsig-keygen file put in the keyring is the key nsupdate signs with', async () => {
    const made = await runTool('tsig-keygen', ['-a', 'hmac-sha256', 'ddns-key']);
    const src = join(tmp, 'ddns-key.conf');
    writeFileSync(src, made.stdout);
    const dir = freshDir();
    mkdirSync(join(dir, 'tsig'), { recursive: true });
    copyFileSync(src, join(dir, 'tsig', 'ddns-key.key'));
    const peer = await startPeer(readKeyring(dir).keys);
    try {
      const run = await runTool('nsupdate', ['-k', src], UPDATE(peer.port));
      expect(run.code).toBe(0);
      expect(peer.exchanges[0]?.result.ok).toBe(true);
    } finally {
      await peer.close();
    }
  });
});
