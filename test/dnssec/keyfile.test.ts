/**
 * Tests for src/dnssec/keyfile.ts: BIND's K<zone>+013+<tag>.key/.private files. Round trip through our writer
 * and loader, interoperability in both directions with BIND (dnssec-keygen, dnssec-dsfromkey, dnssec-signzone,
 * dnssec-verify) and ldns (ldns-keygen, ldns-key2ds, ldns-signzone, ldns-verify-zone), and malformed files,
 * which must come back as problems naming the file and never quoting private key material.
 *
 * The external tools are required (Debian bind9-utils, ldnsutils): a missing tool fails the test.
 */
import { sign as cryptoSign, verify as cryptoVerify, createPublicKey } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  copyFileSync,
  readdirSync,
  symlinkSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dsText } from '../../src/dnssec/ds.js';
import {
  formatKeyFile,
  formatKeyTime,
  formatPrivateFile,
  keyFileBase,
  loadZoneKeys,
  parseKeyFile,
  parsePrivateFile,
  writeKeyFiles,
  zoneFileName,
} from '../../src/dnssec/keyfile.js';
import { generateKey, KeyError, keyTag, privateScalar, type ZoneKey } from '../../src/dnssec/keys.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { execSync } from '../support/exec.js';
import { tempDirs } from '../support/tmp.js';

const tempDir = tempDirs('dane-ns-keyfile');

/**
 * Runs an external tool; a missing tool or a failure fails the test with the tool's stderr. The working
 * directory is always a temporary one: some tools drop files there (dnssec-signzone's dsset-, ldns-keygen).
 */
function run(cmd: string, args: string[], cwd: string = tempDir()): string {
  return execSync(cmd, args, { cwd, packages: 'bind9-utils / ldnsutils' });
}

/** "example.com. [ttl] IN DS 1 13 2 ABC" -> "1 13 2 ABC" (upper-case digest) for comparison. */
function dsRdataOf(line: string): string {
  const t = line.trim().split(/\s+/);
  const i = t.findIndex((x) => x.toUpperCase() === 'DS');
  expect(i, `no DS in "${line}"`).toBeGreaterThan(0);
  return t
    .slice(i + 1)
    .join(' ')
    .toUpperCase();
}

function secretsOf(key: ZoneKey): string[] {
  const d = Buffer.from(privateScalar(key.privateKey));
  const b64 = d.toString('base64');
  // The whole scalar in the usual encodings, and prefixes that a truncated file would still contain.
  return [b64, d.toString('base64url'), d.toString('hex'), b64.slice(0, 12), d.toString('hex').slice(0, 16)];
}

const mode = (p: string): number => statSync(p).mode & 0o777;
const exampleCom = parseName('example.com.');
const T0 = new Date(Date.UTC(2026, 4, 17, 8, 9, 10));

describe('file names and times', () => {
  it.each([
    ['example.com.', 'example.com.'],
    ['Example.COM.', 'example.com.'],
    ['.', '.'],
    ['_25._tcp.mail-1.example.', '_25._tcp.mail-1.example.'],
    ['a/b\\ c.Ex%ample.', 'a%2Fb%20c.ex%25ample.'],
    ['dot\\.in.label.', 'dot%2Ein.label.'],
    ['..\\/etc.', null],
  ])('%s -> %s', (text, want) => {
    if (want === null) {
      expect(() => parseName(text)).toThrow();
      return;
    }
    expect(zoneFileName(parseName(text))).toBe(want);
    expect(zoneFileName(parseName(text))).not.toContain('/');
  });

  it('pads tag and algorithm like BIND', () => {
    expect(keyFileBase(exampleCom, 42)).toBe('Kexample.com.+013+00042');
    expect(keyFileBase(parseName('.'), 65535)).toBe('K.+013+65535');
  });

  it('escapes unusual zone names the way dnssec-keygen does, and loads such keys', () => {
    const dir = tempDir();
    const zoneText = 'a/b\\ c.Ex%ample.';
    const base = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-K', dir, zoneText]).trim();
    const zone = parseName(zoneText);
    expect(base).toMatch(new RegExp(`^K${zoneFileName(zone).replace(/[.+%]/g, '\\$&')}\\+013\\+\\d{5}$`));
    const { keys, problems } = loadZoneKeys(dir, zone);
    expect(problems).toEqual([]);
    expect(keys.length).toBe(1);
    expect(base.endsWith(String(keys[0]!.tag).padStart(5, '0'))).toBe(true);
  });

  it('formats YYYYMMDDHHMMSS in UTC (parsing: test/wire/timestamp.test.ts)', () => {
    expect(formatKeyTime(T0)).toBe('20260517080910');
    expect(() => formatKeyTime(new Date(Number.NaN))).toThrow(KeyError);
  });
});

describe('write and load', () => {
  it('round-trips generated keys with modes 0600 (.private) and 0644 (.key)', () => {
    const dir = join(tempDir(), 'keys'); // does not exist yet: writeKeyFiles creates it
    const ksk = generateKey(exampleCom, 'ksk', T0);
    const zsk = generateKey(exampleCom, 'zsk', new Date(T0.getTime() + 1000));
    const w1 = writeKeyFiles(dir, ksk);
    const w2 = writeKeyFiles(dir, zsk);
    expect(w1.keyFile).toBe(join(dir, `Kexample.com.+013+${String(ksk.tag).padStart(5, '0')}.key`));
    expect(w1.privateFile).toBe(join(dir, `Kexample.com.+013+${String(ksk.tag).padStart(5, '0')}.private`));
    for (const w of [w1, w2]) {
      expect(mode(w.privateFile)).toBe(0o600);
      expect(mode(w.keyFile) & ~0o644).toBe(0); // 0644 less the umask
      expect(mode(w.keyFile) & 0o600).toBe(0o600);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const keyText = readFileSync(w1.keyFile, 'utf8');
    expect(keyText).toBe(
      `; This is a key-signing key, keyid ${ksk.tag}, for example.com.\n` +
        '; Created: 20260517080910 (Sun May 17 08:09:10 2026)\n' +
        '; Publish: 20260517080910 (Sun May 17 08:09:10 2026)\n' +
        '; Activate: 20260517080910 (Sun May 17 08:09:10 2026)\n' +
        `example.com. IN DNSKEY 257 3 13 ${Buffer.from(ksk.publicKey).toString('base64')}\n`,
    );
    expect(readFileSync(w2.keyFile, 'utf8')).toMatch(/^; This is a zone-signing key, keyid \d+, for example\.com\.\n/);
    expect(readFileSync(w1.privateFile, 'utf8')).toBe(
      'Private-key-format: v1.3\n' +
        'Algorithm: 13 (ECDSAP256SHA256)\n' +
        `PrivateKey: ${Buffer.from(privateScalar(ksk.privateKey)).toString('base64')}\n` +
        'Created: 20260517080910\nPublish: 20260517080910\nActivate: 20260517080910\n',
    );

    const { keys, problems } = loadZoneKeys(dir, exampleCom);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.flags, k.role, k.tag])).toEqual([
      [257, 'ksk', ksk.tag],
      [256, 'zsk', zsk.tag],
    ]);
    for (const [got, want] of [
      [keys[0]!, ksk],
      [keys[1]!, zsk],
    ] as const) {
      expect(Buffer.from(got.publicKey).equals(Buffer.from(want.publicKey))).toBe(true);
      expect(Buffer.from(got.dnskeyRdata).equals(Buffer.from(want.dnskeyRdata))).toBe(true);
      expect([got.created, got.publish, got.activate].map((t) => t.getTime())).toEqual(
        [want.created, want.publish, want.activate].map((t) => t.getTime()),
      );
      expect(nameToText(got.zone)).toBe('example.com.');
      // The loaded private key signs what the original public key verifies.
      const msg = Buffer.from('round trip');
      const sig = cryptoSign('sha256', msg, { key: got.privateKey, dsaEncoding: 'ieee-p1363' });
      const pub = createPublicKey(want.privateKey);
      expect(cryptoVerify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    }
  });

  it('is idempotent and never overwrites a different file', () => {
    const dir = tempDir();
    const k = generateKey(exampleCom, 'ksk', T0);
    const w = writeKeyFiles(dir, k);
    expect(writeKeyFiles(dir, k)).toEqual(w); // same content: fine
    const priv = readFileSync(w.privateFile, 'utf8');
    const later = { ...k, created: new Date(T0.getTime() + 86_400_000) };
    let err: unknown;
    try {
      writeKeyFiles(dir, later);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyError);
    expect((err as KeyError).code).toBe('E_KEY_FILE');
    expect((err as KeyError).message).toContain(w.privateFile);
    for (const s of secretsOf(k)) expect((err as KeyError).message).not.toContain(s);
    expect(readFileSync(w.privateFile, 'utf8')).toBe(priv);

    // A changed .key blocks the write before the .private is touched.
    writeFileSync(w.keyFile, readFileSync(w.keyFile, 'utf8') + '; edited\n');
    rmSync(w.privateFile);
    expect(() => writeKeyFiles(dir, k)).toThrow(/exists with different content/);
    expect(readdirSync(dir).some((f) => f.endsWith('.private'))).toBe(false);
  });

  it('loads a CSK as flags 257 (the caller decides the role)', () => {
    const dir = tempDir();
    const csk = generateKey(exampleCom, 'csk', T0);
    writeKeyFiles(dir, csk);
    const { keys, problems } = loadZoneKeys(dir, exampleCom);
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.flags, k.tag])).toEqual([[257, csk.tag]]);
  });

  it('matches zone and file names case-insensitively and ignores other zones', () => {
    const dir = tempDir();
    const k = generateKey(parseName('Example.Com.'), 'zsk', T0);
    const w = writeKeyFiles(dir, k);
    renameSync(w.keyFile, w.keyFile.replace('Kexample.com.', 'KEXAMPLE.COM.'));
    for (const other of ['sub.example.com.', 'example.co.', 'com.', 'example.com.evil.'])
      writeKeyFiles(dir, generateKey(parseName(other), 'ksk', T0));
    writeFileSync(join(dir, 'README'), 'not a key\n');
    writeFileSync(join(dir, `${keyFileBase(exampleCom, k.tag)}.state`), 'Generated: 20260517080910\n');
    const { keys, problems } = loadZoneKeys(dir, parseName('EXAMPLE.com.'));
    expect(problems).toEqual([]);
    expect(keys.map((x) => x.tag)).toEqual([k.tag]);
  });

  it('reads Inactive and Delete when present', () => {
    const dir = tempDir();
    const k = generateKey(exampleCom, 'zsk', T0);
    const w = writeKeyFiles(dir, k);
    writeFileSync(
      w.privateFile,
      readFileSync(w.privateFile, 'utf8') +
        'Inactive: 20270101000000\nDelete: 20270201000000\nSyncPublish: 20260101000000\n',
    );
    const { keys, problems } = loadZoneKeys(dir, exampleCom);
    expect(problems).toEqual([]);
    expect(keys[0]!.inactive?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(keys[0]!.delete?.toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(formatPrivateFile(keys[0]!)).toContain('Inactive: 20270101000000\nDelete: 20270201000000\n');
    expect(formatKeyFile(keys[0]!)).toContain('; Inactive: 20270101000000 (Fri Jan  1 00:00:00 2027)\n');
  });

  it('reads SyncPublish (a DS step that waited for the watched servers) and keeps it in both files', () => {
    const dir = tempDir();
    const k = generateKey(exampleCom, 'ksk', T0);
    writeKeyFiles(dir, { ...k, syncPublish: new Date('2026-06-01T12:00:00Z') });
    const [read] = loadZoneKeys(dir, exampleCom).keys;
    expect(read!.syncPublish?.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    expect(formatPrivateFile(read!)).toContain('SyncPublish: 20260601120000\n');
    expect(formatKeyFile(read!)).toContain('; SyncPublish: 20260601120000 (');
    expect(loadZoneKeys(dir, exampleCom).keys.map((x) => x.syncPublish)).toEqual([read!.syncPublish]);
    writeKeyFiles(tempDir(), k);
    expect(formatPrivateFile(k)).not.toContain('SyncPublish');
  });

  it('treats a missing directory as no keys, and an unreadable one as a problem', () => {
    const dir = tempDir();
    expect(loadZoneKeys(join(dir, 'nope'), exampleCom)).toEqual({ keys: [], problems: [] });
    writeFileSync(join(dir, 'file'), '');
    const r = loadZoneKeys(join(dir, 'file'), exampleCom);
    expect(r.keys).toEqual([]);
    expect(r.problems).toEqual([`${join(dir, 'file')}: cannot read the keys directory (ENOTDIR)`]);
  });
});

describe('parseKeyFile', () => {
  it('accepts TTL, class, parentheses and trailing comments (as ldns and dnssec-keygen -L write)', () => {
    const b = 'GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==';
    for (const text of [
      `example.net. IN DNSKEY 257 3 13 ${b}\n`,
      `example.net.\tIN\tDNSKEY\t257 3 13 ${b} ;{id = 55648 (ksk), size = 256b}\n`,
      `; comment\nexample.net. 3600 IN DNSKEY 257 3 13 ${b.slice(0, 44)} ${b.slice(44)}\n`,
      `example.net. IN 1h DNSKEY 257 3 13 (\n  ${b.slice(0, 44)} ; first half\n  ${b.slice(44)} )\n`,
      `example.net. dnskey 257 3 13 ${b}`,
    ]) {
      const p = parseKeyFile(text);
      expect(nameToText(p.owner)).toBe('example.net.');
      expect([p.flags, p.protocol, p.algorithm, keyTag(p.rdata)]).toEqual([257, 3, 13, 55648]);
    }
  });

  it.each([
    ['empty', ''],
    ['comments only', '; nothing\n'],
    ['two records', 'a. IN DNSKEY 256 3 13 AAAA\nb. IN DNSKEY 256 3 13 AAAA\n'],
    ['another type', 'example.net. IN DS 1 13 2 AB\n'],
    ['unbalanced', 'example.net. IN DNSKEY 257 3 13 ( AAAA\n'],
    ['relative owner', 'example IN DNSKEY 257 3 13 AAAA\n'],
    ['bad base64', 'example.net. IN DNSKEY 257 3 13 !!!!\n'],
  ])('rejects %s', (_, text) => {
    expect(() => parseKeyFile(text)).toThrow(KeyError);
  });
});

describe('interoperability', () => {
  it('loads dnssec-keygen keys; our DS equals dnssec-dsfromkey -2 and ldns-key2ds -n -2', () => {
    const dir = tempDir();
    const kskBase = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-K', dir, 'example.com']).trim();
    const zskBase = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-K', dir, 'example.com']).trim();
    const { keys, problems } = loadZoneKeys(dir, exampleCom);
    expect(problems).toEqual([]);
    expect(keys.map((k) => keyFileBase(k.zone, k.tag))).toEqual([kskBase, zskBase]);
    expect(keys.map((k) => k.flags)).toEqual([257, 256]);
    const created = /^Created: (\d{14})$/m.exec(readFileSync(join(dir, `${kskBase}.private`), 'utf8'))![1]!;
    expect(formatKeyTime(keys[0]!.created)).toBe(created);
    for (const k of keys) {
      const keyFile = join(dir, `${keyFileBase(k.zone, k.tag)}.key`);
      const ours = dsRdataOf(dsText(k.zone, k.dnskeyRdata));
      expect(dsRdataOf(run('dnssec-dsfromkey', ['-2', keyFile]))).toBe(ours);
      expect(dsRdataOf(run('ldns-key2ds', ['-n', '-f', '-2', keyFile]))).toBe(ours);
    }
  });

  it('loads ldns-keygen keys (Private-key-format v1.2, no timing)', () => {
    const dir = tempDir();
    const base = run('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', 'example.org'], dir).trim();
    const { keys, problems } = loadZoneKeys(dir, parseName('example.org.'));
    expect(problems).toEqual([]);
    expect(keys.length).toBe(1);
    const k = keys[0]!;
    expect(keyFileBase(k.zone, k.tag)).toBe(base);
    expect(k.flags).toBe(257);
    expect(k.created.getTime()).toBe(0);
    expect(dsRdataOf(dsText(k.zone, k.dnskeyRdata))).toBe(dsRdataOf(readFileSync(join(dir, `${base}.ds`), 'utf8')));
  });

  it('our files give the same DS with dnssec-dsfromkey -2 (file and base-name forms) and ldns-key2ds -n -2', () => {
    const dir = tempDir();
    for (const role of ['ksk', 'zsk'] as const) {
      const k = generateKey(exampleCom, role, T0);
      const { keyFile } = writeKeyFiles(dir, k);
      const ours = dsRdataOf(dsText(k.zone, k.dnskeyRdata));
      expect(ours).toMatch(new RegExp(`^${k.tag} 13 2 [0-9A-F]{64}$`));
      expect(dsRdataOf(run('dnssec-dsfromkey', ['-2', keyFile]))).toBe(ours);
      expect(dsRdataOf(run('dnssec-dsfromkey', ['-2', join(dir, keyFileBase(k.zone, k.tag))]))).toBe(ours);
      expect(dsRdataOf(run('ldns-key2ds', ['-n', '-f', '-2', keyFile]))).toBe(ours);
      // SHA-384 too.
      expect(dsRdataOf(run('dnssec-dsfromkey', ['-a', 'SHA-384', keyFile]))).toBe(
        dsRdataOf(dsText(k.zone, k.dnskeyRdata, 4)),
      );
    }
  });

  it('dnssec-signzone and ldns-signzone sign with our private keys; dnssec-verify and ldns-verify-zone accept', () => {
    const dir = tempDir();
    const past = new Date(Date.now() - 3_600_000);
    const ksk = generateKey(exampleCom, 'ksk', past);
    const zsk = generateKey(exampleCom, 'zsk', past);
    writeKeyFiles(dir, ksk);
    writeKeyFiles(dir, zsk);
    const zoneFile = join(dir, 'example.com.zone');
    writeFileSync(
      zoneFile,
      'example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n' +
        'example.com. 3600 IN NS ns1.example.com.\nns1.example.com. 3600 IN A 192.0.2.1\n' +
        '_25._tcp.mail.example.com. 3600 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n',
    );
    // BIND: smart signing (-S) finds the keys in the directory and reads their timing from the .private files.
    const bindOut = join(dir, 'bind.signed');
    // -d and cwd: dnssec-signzone writes a dsset- file, which belongs in the temporary directory.
    const log = run('dnssec-signzone', ['-S', '-K', dir, '-d', dir, '-o', 'example.com', '-f', bindOut, zoneFile], dir);
    expect(readFileSync(join(dir, 'dsset-example.com.'), 'utf8')).toContain(`DS ${ksk.tag} 13 2 `);
    expect(log).toContain(`example.com/ECDSAP256SHA256/${ksk.tag} (KSK)`);
    expect(log).toContain(`example.com/ECDSAP256SHA256/${zsk.tag} (ZSK)`);
    run('dnssec-verify', ['-o', 'example.com', bindOut]);
    const bindSigned = readFileSync(bindOut, 'utf8').replace(/[()\s]+/g, ' ');
    expect(bindSigned).toMatch(new RegExp(`RRSIG DNSKEY 13 2 3600 \\d+ \\d+ ${ksk.tag} example\\.com\\.`));
    expect(bindSigned).toMatch(new RegExp(`RRSIG SOA 13 2 3600 \\d+ \\d+ ${zsk.tag} example\\.com\\.`));

    // ldns: explicit key base names; ldns reads the .private itself.
    const ldnsOut = join(dir, 'ldns.signed');
    run('ldns-signzone', [
      '-f',
      ldnsOut,
      zoneFile,
      join(dir, keyFileBase(exampleCom, ksk.tag)),
      join(dir, keyFileBase(exampleCom, zsk.tag)),
    ]);
    run('ldns-verify-zone', [ldnsOut]);
    const ldnsSigned = readFileSync(ldnsOut, 'utf8');
    for (const k of [ksk, zsk])
      expect(ldnsSigned.replace(/\s+/g, '')).toContain(Buffer.from(k.publicKey).toString('base64'));
  });
});

describe('malformed files', () => {
  /** A directory with one good KSK, plus whatever `setup` adds; returns the load result and the secrets involved. */
  function scenario(setup: (dir: string, spare: () => ZoneKey) => void) {
    const dir = tempDir();
    const good = generateKey(exampleCom, 'ksk', T0);
    writeKeyFiles(dir, good);
    const spares: ZoneKey[] = [];
    setup(dir, () => {
      const k = generateKey(exampleCom, 'zsk', T0);
      spares.push(k);
      return k;
    });
    const result = loadZoneKeys(dir, exampleCom);
    const secrets = [good, ...spares].flatMap(secretsOf);
    return { dir, good, result, secrets };
  }

  function write(dir: string, k: ZoneKey, tag = k.tag): { key: string; priv: string } {
    const base = join(dir, keyFileBase(exampleCom, tag));
    writeFileSync(`${base}.key`, formatKeyFile(k));
    writeFileSync(`${base}.private`, formatPrivateFile(k), { mode: 0o600 });
    return { key: `${base}.key`, priv: `${base}.private` };
  }

  const cases: [string, (dir: string, spare: () => ZoneKey) => string, RegExp][] = [
    [
      'garbage .key',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, 'hello world\n');
        return f.key;
      },
      /\.key: /,
    ],
    [
      'binary .key',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x3b]));
        return f.key;
      },
      /\.key: /,
    ],
    [
      'empty .key',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, '');
        return f.key;
      },
      /no DNSKEY record/,
    ],
    [
      'garbage .private',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, 'this is not a key file\n');
        return f.priv;
      },
      /is not "Field: value"/,
    ],
    [
      'empty .private',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, '');
        return f.priv;
      },
      /empty file/,
    ],
    [
      'wrong format version',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, readFileSync(f.priv, 'utf8').replace('v1.3', 'v2.0'));
        return f.priv;
      },
      /v1\.x/,
    ],
    [
      'wrong algorithm in .private',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, readFileSync(f.priv, 'utf8').replace('13 (ECDSAP256SHA256)', '8 (RSASHA256)'));
        return f.priv;
      },
      /algorithm 8 is not supported/,
    ],
    [
      'no PrivateKey',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, readFileSync(f.priv, 'utf8').replace(/^PrivateKey:.*\n/m, ''));
        return f.priv;
      },
      /no PrivateKey field/,
    ],
    [
      'duplicate field',
      (dir, spare) => {
        const f = write(dir, spare());
        const t = readFileSync(f.priv, 'utf8');
        writeFileSync(f.priv, t + /^PrivateKey:.*\n/m.exec(t)![0]);
        return f.priv;
      },
      /PrivateKey appears twice/,
    ],
    [
      'truncated .private (half the key)',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, readFileSync(f.priv, 'utf8').replace(/^(PrivateKey: .{22}).*$/m, '$1'));
        return f.priv;
      },
      /PrivateKey is not base64/,
    ],
    [
      'truncated .private (mid-file)',
      (dir, spare) => {
        const f = write(dir, spare());
        const t = readFileSync(f.priv, 'utf8');
        writeFileSync(f.priv, t.slice(0, t.indexOf('PrivateKey:') + 30));
        return f.priv;
      },
      /\.private: /,
    ],
    [
      'a shorter scalar',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, readFileSync(f.priv, 'utf8').replace(/^(PrivateKey: .{20}).*$/m, '$1'));
        return f.priv;
      },
      /does not belong to the public key/,
    ],
    [
      'scalar out of range',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(
          f.priv,
          readFileSync(f.priv, 'utf8').replace(
            /^PrivateKey: .*$/m,
            `PrivateKey: ${Buffer.alloc(32, 0xff).toString('base64')}`,
          ),
        );
        return f.priv;
      },
      /not a valid P-256 scalar/,
    ],
    [
      'bad time',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.priv, readFileSync(f.priv, 'utf8').replace(/^Publish: .*$/m, 'Publish: tomorrow'));
        return f.priv;
      },
      /Publish is not a YYYYMMDDHHMMSS time/,
    ],
    [
      'mismatching public key',
      (dir, spare) => {
        const a = spare();
        const b = spare();
        const f = write(dir, a);
        writeFileSync(f.priv, formatPrivateFile(b));
        return f.priv;
      },
      /private key does not belong to the public key in K/,
    ],
    [
      'truncated .key',
      (dir, spare) => {
        const f = write(dir, spare());
        const t = readFileSync(f.key, 'utf8');
        writeFileSync(f.key, t.slice(0, t.length - 30));
        return f.key;
      },
      /\.key: /,
    ],
    [
      'wrong tag in the file name',
      (dir, spare) => {
        const k = spare();
        const f = write(dir, k, (k.tag + 1) % 65536);
        return f.key;
      },
      /key tag \d+, the file name says \d+/,
    ],
    [
      'DNSKEY algorithm 8 in a +013+ file',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(
          f.key,
          readFileSync(f.key, 'utf8').replace(' 257 3 13 ', ' 257 3 8 ').replace(' 256 3 13 ', ' 256 3 8 '),
        );
        return f.key;
      },
      /DNSKEY algorithm 8/,
    ],
    [
      'flags 385 (revoked)',
      (dir, spare) => {
        const k = spare();
        const text = formatKeyFile(k).replace(' 256 3 13 ', ' 385 3 13 ');
        const tag = keyTag(parseKeyFile(text).rdata);
        const f = write(dir, k, tag);
        writeFileSync(f.key, text);
        return f.key;
      },
      /flags 385 are not supported/,
    ],
    [
      'owner of another zone',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, readFileSync(f.key, 'utf8').replace(/^example\.com\. IN/m, 'sub.example.com. IN'));
        return f.key;
      },
      /owner sub\.example\.com\. is not the zone example\.com\./,
    ],
    [
      '.private pasted into the .key',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, readFileSync(f.priv, 'utf8'));
        return f.key;
      },
      /\.key: /,
    ],
    [
      'only the PrivateKey line in the .key',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, /^PrivateKey:.*\n/m.exec(readFileSync(f.priv, 'utf8'))![0]);
        return f.key;
      },
      /\.key: /,
    ],
    [
      '.key without .private',
      (dir, spare) => {
        const f = write(dir, spare());
        rmSync(f.priv);
        return f.key;
      },
      /no matching \.private file/,
    ],
    [
      '.private without .key',
      (dir, spare) => {
        const f = write(dir, spare());
        rmSync(f.key);
        return f.priv;
      },
      /no matching \.key file/,
    ],
    [
      'another algorithm',
      (dir, spare) => {
        const f = write(dir, spare());
        const other = join(dir, 'Kexample.com.+008+12345');
        renameSync(f.key, `${other}.key`);
        renameSync(f.priv, `${other}.private`);
        return `${other}.key`;
      },
      /algorithm 8 is not supported \(only 13, ECDSAP256SHA256\); key ignored/,
    ],
    [
      'a directory named like a key file',
      (dir, spare) => {
        const f = write(dir, spare());
        rmSync(f.key);
        mkdirSync(f.key);
        return f.key;
      },
      /not a regular file/,
    ],
    [
      'a FIFO named like a .private file (refused at once, never opened for a blocking read)',
      (dir, spare) => {
        const f = write(dir, spare());
        rmSync(f.priv);
        execFileSync('mkfifo', [f.priv]);
        return f.priv;
      },
      /not a regular file \(FIFO\)/,
    ],
    [
      'a .key file that is a symlink to /dev/zero',
      (dir, spare) => {
        const f = write(dir, spare());
        rmSync(f.key);
        symlinkSync('/dev/zero', f.key);
        return f.key;
      },
      /not a regular file \(character device\)/,
    ],
    [
      'an oversized file',
      (dir, spare) => {
        const f = write(dir, spare());
        writeFileSync(f.key, readFileSync(f.key, 'utf8') + ';'.repeat(70_000) + '\n');
        return f.key;
      },
      /too large/,
    ],
    [
      'two files differing only in letter case',
      (dir) => {
        const src = join(
          dir,
          readdirSync(dir).find((x) => x.endsWith('.key'))!,
        );
        // Same content but a different case in the zone part: the loader pairs case-insensitively and reports both.
        const upper = src.replace('Kexample.com.', 'KExample.com.');
        copyFileSync(src, upper);
        return upper; // reported under the first name in sort order
      },
      /several files differing only in letter case/,
    ],
  ];

  it.each(cases)('%s', (_, setup, want) => {
    let expectedFile = '';
    const { result, secrets, good } = scenario((dir, spare) => {
      expectedFile = setup(dir, spare);
    });
    expect(result.problems.length, result.problems.join('\n')).toBe(1);
    const problem = result.problems[0]!;
    expect(problem.startsWith(`${expectedFile}: `), problem).toBe(true);
    expect(problem).toMatch(want);
    for (const s of secrets) expect(problem).not.toContain(s);
    // The good key still loads, unless the case broke the good key itself.
    if (!problem.includes('several files')) expect(result.keys.map((k) => k.tag)).toEqual([good.tag]);
  });

  it('never throws from parsePrivateFile with the key in the message', () => {
    const k = generateKey(exampleCom, 'zsk', T0);
    const text = formatPrivateFile(k);
    const variants = [
      text.replace('Private-key-format: v1.3\n', ''),
      text.replace(/^PrivateKey: /m, 'PrivateKey '),
      text.replace(/^PrivateKey: (.*)$/m, 'PrivateKey: $1$1'),
      text.replace(/^PrivateKey: (.*)$/m, '$1'),
      text.replace(/^Algorithm: .*$/m, 'Algorithm: thirteen'),
    ];
    for (const v of variants) {
      let err: unknown;
      try {
        parsePrivateFile(v);
      } catch (e) {
        err = e;
      }
      expect(err, v.replace(/PrivateKey.*/, '')).toBeInstanceOf(KeyError);
      for (const s of secretsOf(k)) expect((err as Error).message).not.toContain(s);
    }
  });
});
