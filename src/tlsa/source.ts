/**
 * Certificate and key files -> the SHA-256 of the SubjectPublicKeyInfo, which is the association data of a
 * TLSA `3 1 1` record (RFC 6698 §2.1, RFC 7218 DANE-EE SPKI SHA2-256). Also `2 1 1` data for the issuing CA
 * when the file holds a chain.
 *
 * Accepted: a certificate or chain (PEM, or one DER certificate), a public key (PEM `PUBLIC KEY` /
 * `RSA PUBLIC KEY`, DER SPKI), a private key (PEM `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1),
 * `RSA PRIVATE KEY` (PKCS#1), or the same in DER). A file with a certificate and a key uses the certificate.
 * Every failure is a TlsaSourceError with a one-line reason; the caller decides what stays published.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CERT_FILE_MAX, FileReadError, readRegularFile } from '../state/readfile.js';
import { clip } from '../zone/errors.js';
import { pemBlocks } from './pem.js';

export class TlsaSourceError extends Error {
  /** One line, clipped: it may quote the file (PEM labels), and it is logged and shown in /healthz. */
  readonly reason: string;
  constructor(
    readonly path: string,
    reason: string,
    /** The file does not exist (a `next:` file that is not there yet is normal). */
    readonly missing = false,
  ) {
    const r = clip(reason);
    super(`${path}: ${r}`);
    this.reason = r;
  }
}

export interface TlsaSource {
  readonly kind: 'certificate' | 'public-key' | 'private-key';
  /** Upper-case hex SHA-256 of the SPKI DER: the data of `3 1 1`. */
  readonly spkiSha256: string;
  /** `ec`, `rsa`, `ed25519` ... as node:crypto names it. */
  readonly keyType: string;
  /** Certificate validity (absent for bare keys), in milliseconds since the epoch. */
  readonly notBefore?: number;
  readonly notAfter?: number;
  readonly subject?: string;
  /** DNS names of the certificate's subjectAltName. */
  readonly dnsNames?: readonly string[];
  /** SPKI SHA-256 of the issuing CA when the file holds it (the data of `2 1 1`). */
  readonly issuerSpkiSha256?: string;
}

/** Upper-case hex SHA-256 of a public key's SubjectPublicKeyInfo DER: TLSA selector 1, matching type 1 data. */
export function spkiSha256(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').toUpperCase();
}

function fromCertificates(certs: X509Certificate[]): TlsaSource {
  const leaf = certs[0]!;
  // The issuer is the certificate in the chain that signed the leaf (usually the second one).
  const issuer = certs.slice(1).find((c) => leaf.checkIssued(c));
  const dnsNames = (leaf.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return {
    kind: 'certificate',
    spkiSha256: spkiSha256(leaf.publicKey),
    keyType: leaf.publicKey.asymmetricKeyType ?? 'unknown',
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    subject: leaf.subject.replace(/\n/g, ', '),
    dnsNames,
    ...(issuer ? { issuerSpkiSha256: spkiSha256(issuer.publicKey) } : {}),
  };
}

function fromKey(key: KeyObject, kind: 'public-key' | 'private-key'): TlsaSource {
  const pub = kind === 'private-key' ? createPublicKey(key) : key;
  return { kind, spkiSha256: spkiSha256(pub), keyType: pub.asymmetricKeyType ?? 'unknown' };
}

function short(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!;
}

/** Parses file contents. Throws TlsaSourceError. */
export function parseTlsaSource(path: string, bytes: Uint8Array): TlsaSource {
  if (bytes.length === 0) throw new TlsaSourceError(path, 'empty file');
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const certs: X509Certificate[] = [];
    let key: TlsaSource | undefined;
    const seen: string[] = [];
    for (const { label, text: block } of pemBlocks(text)) {
      seen.push(label);
      try {
        if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,\s*ENCRYPTED/.test(block))
          throw new TlsaSourceError(path, 'encrypted private key: give the certificate or the public key instead');
        if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE') certs.push(new X509Certificate(block));
        else if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY')
          key ??= fromKey(createPublicKey(block), 'public-key');
        else if (label === 'PRIVATE KEY' || label === 'EC PRIVATE KEY' || label === 'RSA PRIVATE KEY')
          key ??= fromKey(createPrivateKey(block), 'private-key');
      } catch (e) {
        if (e instanceof TlsaSourceError) throw e;
        throw new TlsaSourceError(
          path,
          `PEM block ${certs.length + (key ? 1 : 0) + 1} (${label}) does not parse: ${short(e)}`,
        );
      }
    }
    if (certs.length > 0) return fromCertificates(certs);
    if (key) return key;
    if (seen.length === 0) throw new TlsaSourceError(path, 'truncated PEM: a BEGIN line without its END line');
    throw new TlsaSourceError(path, `no certificate or key in the PEM blocks (${[...new Set(seen)].join(', ')})`);
  }
  // DER: one certificate, an SPKI public key, or a private key in PKCS#8, SEC1 or PKCS#1.
  const buf = Buffer.from(bytes);
  try {
    return fromCertificates([new X509Certificate(buf)]);
  } catch {
    /* not a DER certificate */
  }
  try {
    return fromKey(createPublicKey({ key: buf, format: 'der', type: 'spki' }), 'public-key');
  } catch {
    /* not an SPKI */
  }
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return fromKey(createPrivateKey({ key: buf, format: 'der', type }), 'private-key');
    } catch {
      /* next format */
    }
  }
  throw new TlsaSourceError(path, 'neither PEM nor a DER certificate or key');
}

/**
 * Reads and parses one file (symlinks followed): only a regular file of at most CERT_FILE_MAX bytes (a FIFO or
 * a link to /dev/zero is an error, not a stalled server). Throws TlsaSourceError.
 */
export function readTlsaSource(path: string): TlsaSource {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, CERT_FILE_MAX);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new TlsaSourceError(path, e.missing ? 'no such file' : `cannot read: ${e.reason}`, e.missing);
  }
  return parseTlsaSource(path, bytes);
}

/** Presentation RDATA of the DANE-EE SPKI SHA-256 record. */
export function tlsa311(s: TlsaSource): string {
  return `3 1 1 ${s.spkiSha256}`;
}

/** Presentation RDATA of the DANE-TA SPKI SHA-256 record for the issuing CA. */
export function tlsa211(s: TlsaSource): string | undefined {
  return s.issuerSpkiSha256 ? `2 1 1 ${s.issuerSpkiSha256}` : undefined;
}
