/**
 * Test material for the TLSA tests: keys and certificates made with the `openssl` CLI in a temporary
 * directory, and SPKI SHA-256 digests computed by openssl too (an implementation independent of node:crypto,
 * which src/tlsa/source.ts uses).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Material {
  readonly dir: string;
  /** Absolute path of a file in the material directory. */
  path(name: string): string;
  /** Upper-case hex SHA-256 of the SPKI DER, by the openssl CLI. */
  readonly spki: Record<string, string>;
  /** Validity of the certificates (ms since the epoch), by `openssl x509 -startdate -enddate`. */
  readonly validity: Record<string, { notBefore: number; notAfter: number }>;
  cleanup(): void;
}

function ossl(dir: string, args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function sha256Hex(dir: string, der: Buffer): string {
  // `openssl dgst -sha256 -r` prints "<hex> *stdin".
  return ossl(dir, ['dgst', '-sha256', '-r'], der).toString('latin1').split(' ')[0]!.toUpperCase();
}

/** SPKI SHA-256 of a certificate file (PEM), the openssl way. */
function certSpki(dir: string, file: string): string {
  const pubPem = ossl(dir, ['x509', '-in', file, '-pubkey', '-noout']);
  return sha256Hex(dir, ossl(dir, ['pkey', '-pubin', '-outform', 'der'], pubPem));
}

/** SPKI SHA-256 of a private key file (PEM), the openssl way. */
function keySpki(dir: string, file: string): string {
  return sha256Hex(dir, ossl(dir, ['pkey', '-in', file, '-pubout', '-outform', 'der']));
}

function opensslDate(dir: string, file: string, which: 'startdate' | 'enddate'): number {
  const line = ossl(dir, ['x509', '-in', file, '-noout', `-${which}`])
    .toString('latin1')
    .trim();
  // notBefore=Jan  1 00:00:00 2026 GMT
  const text = line.slice(line.indexOf('=') + 1);
  const m = /^([A-Z][a-z]{2})\s+(\d+) (\d\d):(\d\d):(\d\d) (\d{4}) GMT$/.exec(text);
  if (!m) throw new Error(`unexpected openssl date ${text}`);
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]!);
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/**
 * Makes:
 * - ec.key (SEC1 PEM), ec.p8 (PKCS#8 PEM), ec.pub (SPKI PEM), ec.pub.der, ec.key.der (SEC1 DER), ec.p8.der
 * - rsa.p8 (PKCS#8 PEM), rsa.pkcs1 (PKCS#1 PEM), rsa.pub (SPKI PEM), rsa.pub1 (RSA PUBLIC KEY PEM),
 *   rsa.pkcs1.der (PKCS#1 DER)
 * - ed.key (Ed25519 PKCS#8 PEM)
 * - ca.key/ca.crt: a self-signed root (EC P-256); int.key/int.crt: an intermediate signed by the root
 * - leaf-ec.crt: ec.key signed by the root (90 days, SANs); leaf-rsa.crt: rsa.p8 signed by the root
 * - leaf-int.crt: next.key signed by the intermediate; next.key (EC, PKCS#8)
 * - chain-ec.pem (leaf-ec + ca), chain-int.pem (leaf-int + int + ca), chain-odd.pem (leaf-ec, leaf-rsa, ca)
 * - self.crt: a self-signed certificate (own key self.key), 1 day
 * - leaf-ec.der (DER certificate), leaf.csr (a CSR for ec.key)
 * - enc-p8.key (ENCRYPTED PRIVATE KEY), enc-sec1.key (traditional encrypted EC PRIVATE KEY)
 */
export function makeMaterial(): Material {
  const dir = mkdtempSync(join(tmpdir(), 'dane-ns-tlsa-'));
  const o = (...args: string[]): Buffer => ossl(dir, args);
  o('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key');
  o('pkcs8', '-topk8', '-nocrypt', '-in', 'ec.key', '-out', 'ec.p8');
  o('pkey', '-in', 'ec.key', '-pubout', '-out', 'ec.pub');
  o('pkey', '-in', 'ec.key', '-pubout', '-outform', 'der', '-out', 'ec.pub.der');
  o('ec', '-in', 'ec.key', '-outform', 'der', '-out', 'ec.key.der');
  o('pkcs8', '-topk8', '-nocrypt', '-in', 'ec.key', '-outform', 'der', '-out', 'ec.p8.der');
  o('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.p8');
  o('rsa', '-in', 'rsa.p8', '-traditional', '-out', 'rsa.pkcs1');
  o('rsa', '-in', 'rsa.p8', '-traditional', '-outform', 'der', '-out', 'rsa.pkcs1.der');
  o('pkey', '-in', 'rsa.p8', '-pubout', '-out', 'rsa.pub');
  o('rsa', '-in', 'rsa.p8', '-RSAPublicKey_out', '-out', 'rsa.pub1');
  o('genpkey', '-algorithm', 'ed25519', '-out', 'ed.key');
  o('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'next.key');
  o(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-aes256',
    '-pass',
    'pass:secret',
    '-out',
    'enc-p8.key',
  );
  o('ec', '-in', 'ec.key', '-aes256', '-passout', 'pass:secret', '-out', 'enc-sec1.key');

  writeFileSync(
    join(dir, 'ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
  );
  writeFileSync(
    join(dir, 'leaf.ext'),
    'basicConstraints=CA:FALSE\nsubjectAltName=DNS:mail.example.com,DNS:mx.example.com\n',
  );
  o(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=Test Root CA',
    '-days',
    '3650',
  );
  o(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'int.key',
    '-out',
    'int.csr',
    '-subj',
    '/CN=Test Intermediate CA',
  );
  o(
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '2',
    '-days',
    '1000',
    '-extfile',
    'ca.ext',
    '-out',
    'int.crt',
  );

  o('req', '-new', '-key', 'ec.key', '-subj', '/CN=mail.example.com', '-out', 'leaf.csr');
  o(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '3',
    '-days',
    '90',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf-ec.crt',
  );
  o('x509', '-in', 'leaf-ec.crt', '-outform', 'der', '-out', 'leaf-ec.der');
  o('req', '-new', '-key', 'rsa.p8', '-subj', '/CN=mail.example.com', '-out', 'leaf-rsa.csr');
  o(
    'x509',
    '-req',
    '-in',
    'leaf-rsa.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '4',
    '-days',
    '90',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf-rsa.crt',
  );
  o('req', '-new', '-key', 'next.key', '-subj', '/CN=mail.example.com', '-out', 'leaf-int.csr');
  o(
    'x509',
    '-req',
    '-in',
    'leaf-int.csr',
    '-CA',
    'int.crt',
    '-CAkey',
    'int.key',
    '-set_serial',
    '5',
    '-days',
    '90',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf-int.crt',
  );
  o(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'self.key',
    '-out',
    'self.crt',
    '-subj',
    '/CN=self.example.com',
    '-days',
    '1',
  );

  const cat = (out: string, ...files: string[]): void =>
    writeFileSync(join(dir, out), Buffer.concat(files.map((f) => readFileSync(join(dir, f)))));
  cat('chain-ec.pem', 'leaf-ec.crt', 'ca.crt');
  cat('chain-int.pem', 'leaf-int.crt', 'int.crt', 'ca.crt');
  cat('chain-odd.pem', 'leaf-ec.crt', 'leaf-rsa.crt', 'ca.crt');

  const spki: Record<string, string> = {
    ec: keySpki(dir, 'ec.key'),
    rsa: keySpki(dir, 'rsa.p8'),
    ed: keySpki(dir, 'ed.key'),
    next: keySpki(dir, 'next.key'),
    ca: certSpki(dir, 'ca.crt'),
    int: certSpki(dir, 'int.crt'),
    'leaf-ec': certSpki(dir, 'leaf-ec.crt'),
    'leaf-rsa': certSpki(dir, 'leaf-rsa.crt'),
    'leaf-int': certSpki(dir, 'leaf-int.crt'),
    self: certSpki(dir, 'self.crt'),
  };
  const validity: Record<string, { notBefore: number; notAfter: number }> = {};
  for (const c of ['leaf-ec.crt', 'leaf-rsa.crt', 'self.crt'])
    validity[c] = { notBefore: opensslDate(dir, c, 'startdate'), notAfter: opensslDate(dir, c, 'enddate') };
  return {
    dir,
    path: (name) => join(dir, name),
    spki,
    validity,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
