import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  parseTlsaSource,
  readTlsaSource,
  spkiSha256,
  tlsa211,
  tlsa311,
  TlsaSourceError,
  type TlsaSource,
} from '../../src/tlsa/source.js';
import { makeMaterial, type Material } from './material.js';
import { CERT_FILE_MAX } from '../../src/state/readfile.js';

let m: Material;
beforeAll(() => {
  m = makeMaterial();
});
afterAll(() => m.cleanup());

function failure(path: string): TlsaSourceError {
  try {
    readTlsaSource(path);
  } catch (e) {
    if (e instanceof TlsaSourceError) return e;
    throw e;
  }
  throw new Error(`${path} parsed`);
}

describe('readTlsaSource: every accepted form gives the SPKI SHA-256 openssl computes', () => {
  // [file, key of m.spki (openssl's digest), kind, keyType]
  const cases: [string, string, TlsaSource['kind'], string][] = [
    ['leaf-ec.crt', 'ec', 'certificate', 'ec'],
    ['leaf-ec.der', 'ec', 'certificate', 'ec'],
    ['leaf-rsa.crt', 'rsa', 'certificate', 'rsa'],
    ['chain-ec.pem', 'ec', 'certificate', 'ec'],
    ['chain-int.pem', 'next', 'certificate', 'ec'],
    ['self.crt', 'self', 'certificate', 'ec'],
    ['ca.crt', 'ca', 'certificate', 'ec'],
    ['ec.key', 'ec', 'private-key', 'ec'],
    ['ec.p8', 'ec', 'private-key', 'ec'],
    ['ec.pub', 'ec', 'public-key', 'ec'],
    ['ec.pub.der', 'ec', 'public-key', 'ec'],
    ['ec.key.der', 'ec', 'private-key', 'ec'],
    ['ec.p8.der', 'ec', 'private-key', 'ec'],
    ['rsa.p8', 'rsa', 'private-key', 'rsa'],
    ['rsa.pkcs1', 'rsa', 'private-key', 'rsa'],
    ['rsa.pkcs1.der', 'rsa', 'private-key', 'rsa'],
    ['rsa.pub', 'rsa', 'public-key', 'rsa'],
    ['rsa.pub1', 'rsa', 'public-key', 'rsa'],
    ['ed.key', 'ed', 'private-key', 'ed25519'],
    ['next.key', 'next', 'private-key', 'ec'],
  ];
  for (const [file, key, kind, keyType] of cases) {
    it(`${file}: ${kind} ${keyType}`, () => {
      const s = readTlsaSource(m.path(file));
      expect(m.spki[key]).toMatch(/^[0-9A-F]{64}$/);
      expect(s.spkiSha256).toBe(m.spki[key]);
      expect(s.kind).toBe(kind);
      expect(s.keyType).toBe(keyType);
      expect(tlsa311(s)).toBe(`3 1 1 ${m.spki[key]}`);
    });
  }

  it('the certificate and its private key give the same record (the record matches the served key)', () => {
    expect(readTlsaSource(m.path('leaf-ec.crt')).spkiSha256).toBe(readTlsaSource(m.path('ec.key')).spkiSha256);
    expect(m.spki['leaf-ec']).toBe(m.spki.ec);
    expect(m.spki.ec).not.toBe(m.spki.rsa);
  });

  it('spkiSha256 of a certificate public key is the digest openssl computes (what `dane-ns check` compares)', () => {
    expect(spkiSha256(new X509Certificate(readFileSync(m.path('leaf-rsa.crt'))).publicKey)).toBe(m.spki.rsa);
    expect(spkiSha256(new X509Certificate(readFileSync(m.path('ca.crt'))).publicKey)).toBe(m.spki.ca);
  });

  it('in a chain the first certificate is the server one, not the CA', () => {
    const s = readTlsaSource(m.path('chain-ec.pem'));
    expect(s.spkiSha256).toBe(m.spki['leaf-ec']);
    expect(s.spkiSha256).not.toBe(m.spki.ca);
  });

  it('a file holding the key before the certificate uses the certificate', () => {
    const p = m.path('key-then-cert.pem');
    writeFileSync(p, Buffer.concat([readFileSync(m.path('rsa.p8')), readFileSync(m.path('leaf-ec.crt'))]));
    const s = readTlsaSource(p);
    expect(s.kind).toBe('certificate');
    expect(s.spkiSha256).toBe(m.spki.ec);
  });

  it('CRLF line endings and text around the blocks (bag attributes) are accepted', () => {
    const p = m.path('crlf.pem');
    const text = readFileSync(m.path('chain-ec.pem'), 'latin1').replace(/\n/g, '\r\n');
    writeFileSync(p, `Bag Attributes\r\n    friendlyName: mail\r\nsubject=/CN=mail.example.com\r\n${text}`);
    const s = readTlsaSource(p);
    expect(s.spkiSha256).toBe(m.spki.ec);
    expect(s.issuerSpkiSha256).toBe(m.spki.ca);
  });

  it('a symlink is followed (certbot live/ files)', () => {
    const d = m.path('live');
    mkdirSync(d, { recursive: true });
    symlinkSync(m.path('chain-int.pem'), `${d}/fullchain.pem`);
    expect(readTlsaSource(`${d}/fullchain.pem`).spkiSha256).toBe(m.spki.next);
  });

  it('certificate metadata: subject, SANs and validity as openssl reports them', () => {
    const s = readTlsaSource(m.path('leaf-ec.crt'));
    expect(s.subject).toContain('CN=mail.example.com');
    expect(s.dnsNames).toEqual(['mail.example.com', 'mx.example.com']);
    expect(s.notBefore).toBe(m.validity['leaf-ec.crt']!.notBefore);
    expect(s.notAfter).toBe(m.validity['leaf-ec.crt']!.notAfter);
    expect(s.notAfter! - s.notBefore!).toBe(90 * 86400_000);
    const k = readTlsaSource(m.path('ec.key'));
    expect(k.notBefore).toBeUndefined();
    expect(k.notAfter).toBeUndefined();
  });

  it('parseTlsaSource on bytes equals readTlsaSource on the file', () => {
    for (const f of ['leaf-ec.der', 'chain-int.pem', 'rsa.pkcs1.der'])
      expect(parseTlsaSource('x', readFileSync(m.path(f)))).toEqual(readTlsaSource(m.path(f)));
  });
});

describe('issuer: 2 1 1 from the chain', () => {
  const cases: [string, string | undefined, string][] = [
    ['chain-ec.pem', 'ca', 'leaf + root: the root'],
    ['chain-int.pem', 'int', 'leaf + intermediate + root: the intermediate that signed the leaf'],
    ['chain-odd.pem', 'ca', 'leaf, an unrelated certificate, root: the one that signed the leaf'],
    ['leaf-ec.crt', undefined, 'leaf alone: none'],
    ['self.crt', undefined, 'self-signed alone: none'],
    ['ec.key', undefined, 'a key: none'],
  ];
  for (const [file, issuer, why] of cases) {
    it(`${file}: ${why}`, () => {
      const s = readTlsaSource(m.path(file));
      if (issuer === undefined) {
        expect(s.issuerSpkiSha256).toBeUndefined();
        expect(tlsa211(s)).toBeUndefined();
      } else {
        expect(s.issuerSpkiSha256).toBe(m.spki[issuer]);
        expect(tlsa211(s)).toBe(`2 1 1 ${m.spki[issuer]}`);
      }
    });
  }
});

describe('bad files: a TlsaSourceError naming the path with a clear reason', () => {
  const pem = (name: string): string => readFileSync(m.path(name), 'latin1');
  // [name, contents (undefined: do not create), reason pattern, missing]
  const cases: [string, (() => string | Buffer) | undefined, RegExp, boolean][] = [
    ['missing.pem', undefined, /^no such file$/, true],
    ['empty.pem', () => '', /^empty file$/, false],
    [
      'garbage.bin',
      () => Buffer.from([0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]),
      /neither PEM nor a DER certificate or key/,
      false,
    ],
    ['garbage.txt', () => 'this is not a certificate\n', /neither PEM nor a DER certificate or key/, false],
    [
      'begin-only.pem',
      () => pem('leaf-ec.crt').split('-----END')[0]!,
      /truncated PEM: a BEGIN line without its END line/,
      false,
    ],
    [
      'half-body.pem',
      () => {
        const [head, body] = pem('leaf-ec.crt').split('-----BEGIN CERTIFICATE-----\n');
        return `${head}-----BEGIN CERTIFICATE-----\n${body!.slice(0, 200)}\n-----END CERTIFICATE-----\n`;
      },
      /PEM block 1 \(CERTIFICATE\) does not parse/,
      false,
    ],
    [
      'half-key.pem',
      () => {
        const lines = pem('rsa.p8').split('\n');
        return [lines[0], ...lines.slice(1, 6), lines.at(-2)].join('\n') + '\n';
      },
      /PEM block 1 \(PRIVATE KEY\) does not parse/,
      false,
    ],
    ['csr.pem', () => pem('leaf.csr'), /no certificate or key in the PEM blocks \(CERTIFICATE REQUEST\)/, false],
    ['enc-p8.key', undefined, /encrypted private key/, false],
  ];
  for (const [name, make, reason, missing] of cases) {
    it(name, () => {
      const p = m.path(name);
      if (make) writeFileSync(p, make());
      const e = failure(p);
      expect(e.path).toBe(p);
      expect(e.message.startsWith(`${p}: `)).toBe(true);
      expect(e.reason).toMatch(reason);
      expect(e.reason).not.toContain('\n');
      expect(e.missing).toBe(missing);
    });
  }

  it('a traditionally encrypted key (Proc-Type: 4,ENCRYPTED) is an error naming the path and the block', () => {
    const e = failure(m.path('enc-sec1.key'));
    expect(e.path).toBe(m.path('enc-sec1.key'));
    expect(e.reason).toMatch(/^encrypted private key/);
  });

  it('a directory is a read error, not "missing"', () => {
    const e = failure(m.dir);
    expect(e.reason).toMatch(/^cannot read: /);
    expect(e.missing).toBe(false);
  });

  it('a FIFO, a link to /dev/zero and a file over 1 MiB are refused with the reason, and read nothing', () => {
    const fifo = join(m.dir, 'fifo.pem');
    execFileSync('mkfifo', [fifo]);
    expect(failure(fifo).reason).toBe('cannot read: not a regular file (FIFO)');
    symlinkSync('/dev/zero', join(m.dir, 'zero.pem'));
    expect(failure(join(m.dir, 'zero.pem')).reason).toBe('cannot read: not a regular file (character device)');
    // A long chain is tens of kilobytes; a cut-and-paste of something else is refused before it is parsed.
    const big = join(m.dir, 'big.pem');
    writeFileSync(big, Buffer.concat([readFileSync(m.path('leaf-ec.crt')), Buffer.alloc(CERT_FILE_MAX, 0x0a)]));
    expect(failure(big).reason).toMatch(/^cannot read: \d+ bytes is too large \(the limit is 1048576 bytes\)$/);
  });

  it('parseTlsaSource throws the same errors for bytes', () => {
    expect(() => parseTlsaSource('/x.pem', new Uint8Array())).toThrow(TlsaSourceError);
    expect(() => parseTlsaSource('/x.pem', new Uint8Array())).toThrow('/x.pem: empty file');
  });
});

describe('readTlsaSource: a regression of the first round', () => {
  it('a traditionally encrypted PEM key (Proc-Type: 4,ENCRYPTED) gets a clear reason, not an OpenSSL code', () => {
    // made by `openssl ec -aes256`: -----BEGIN EC PRIVATE KEY----- / Proc-Type: 4,ENCRYPTED / DEK-Info: ...
    // Today: "PEM block 1 (EC PRIVATE KEY) does not parse: error:07880109:common libcrypto routines::interrupted
    // or cancelled". The ENCRYPTED PRIVATE KEY (PKCS#8) form already says "encrypted private key: give the
    // certificate or the public key instead"; the traditional form (also `openssl rsa -aes256`, old certbot
    // and many HOWTOs) should say the same.
    let e: unknown;
    try {
      readTlsaSource(m.path('enc-sec1.key'));
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TlsaSourceError);
    expect((e as TlsaSourceError).reason).toMatch(/encrypted private key/);
  });
});
