/**
 * Self-signed certificates for SMTP/DANE tests, made with `openssl req -x509` (Debian package openssl), and the
 * TLSA 3 1 1 (DANE-EE, SPKI, SHA-256) association data computed independently with node:crypto:
 * sha256 over the DER SubjectPublicKeyInfo (`createPublicKey(...).export({ type: 'spki', format: 'der' })`).
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool } from './dig.js';

export type KeyKind = 'ec' | 'rsa';

export interface CertOptions {
  /** Key type: `ec` (P-256, default) or `rsa`. */
  kind?: KeyKind;
  /** RSA modulus bits (default 2048). */
  bits?: number;
  /** Subject CN and DNS subjectAltName (default `mail.example.com`). */
  cn?: string;
  /** Validity in days (default 30). */
  days?: number;
  /** File name stem: writes STEM.crt and STEM.key (default `cert`). */
  name?: string;
}

export interface CertPair {
  /** PEM certificate file. */
  certPath: string;
  /** PEM private key file (PKCS#8, mode 0600). */
  keyPath: string;
  certPem: string;
  keyPem: string;
  kind: KeyKind;
  /** TLSA 3 1 1 association data: lower-case hex SHA-256 of the certificate's DER SPKI. */
  tlsa311: string;
}

/** TLSA 3 1 1 data (lower-case hex) of a PEM certificate, a PEM public or private key, or such a file's path. */
export function tlsa311(pemOrPath: string): string {
  const pem = pemOrPath.includes('-----BEGIN') ? pemOrPath : readFileSync(pemOrPath, 'utf8');
  const key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * Writes a new key and a self-signed certificate for it into dir (created if needed) with openssl, and returns
 * both paths, the PEM texts and the TLSA 3 1 1 data. Rejects with openssl's output if openssl fails.
 */
export async function makeCert(dir: string, opts: CertOptions = {}): Promise<CertPair> {
  const openssl = requireTool('openssl');
  const kind = opts.kind ?? 'ec';
  const cn = opts.cn ?? 'mail.example.com';
  const stem = opts.name ?? 'cert';
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, `${stem}.crt`);
  const keyPath = join(dir, `${stem}.key`);
  const keyArgs =
    kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', `rsa:${opts.bits ?? 2048}`];
  const args = [
    'req',
    '-x509',
    ...keyArgs,
    '-nodes',
    '-sha256',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    String(opts.days ?? 30),
    '-subj',
    `/CN=${cn}`,
    '-addext',
    `subjectAltName=DNS:${cn}`,
  ];
  await new Promise<void>((resolve, reject) => {
    execFile(openssl, args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`openssl ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
  await chmod(keyPath, 0o600);
  const certPem = await readFile(certPath, 'utf8');
  const keyPem = await readFile(keyPath, 'utf8');
  const fromCert = tlsa311(certPem);
  // The key file must describe the same key as the certificate.
  if (tlsa311(keyPem) !== fromCert) throw new Error(`makeCert: ${keyPath} does not match ${certPath}`);
  return { certPath, keyPath, certPem, keyPem, kind, tlsa311: fromCert };
}
