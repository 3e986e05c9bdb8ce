/**
 * What a sending MTA sees: on port 25 the greeting, EHLO, STARTTLS (RFC 3207), on 465 a TLS handshake at once
 * (implicit TLS, RFC 8314 §3.3), then the certificate chain the server presents. A connection that is refused
 * or not made in time is told apart (`connected: false`) from an MTA that answers without STARTTLS. Certificate
 * checking is left to the caller (DANE matches against TLSA, not against a CA store), so the handshake accepts
 * any certificate.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';

interface StarttlsProbe {
  /** The TCP connection was made (else the host is unreachable on that port). */
  readonly connected: boolean;
  /** The server offered STARTTLS in its EHLO reply. */
  readonly offered: boolean;
  /** The TLS handshake completed. */
  readonly established: boolean;
  /** The server's certificate, then its issuers as sent. */
  readonly chain: readonly X509Certificate[];
  readonly protocol?: string;
  /** What went wrong, one line. */
  readonly error?: string;
}

/** Reads one (possibly multi-line) SMTP reply; resolves with its code and lines. */
function reader(sock: Socket): () => Promise<{ code: number; lines: string[] }> {
  let buf = '';
  let waiting: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    waiting?.();
  });
  return async () => {
    const lines: string[] = [];
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        await new Promise<void>((resolve) => (waiting = resolve));
        waiting = null;
        continue;
      }
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      lines.push(line);
      if (!/^\d{3}-/.test(line)) return { code: Number(line.slice(0, 3)) || 0, lines };
    }
  };
}

/**
 * Connects to address:port and gets to a TLS session: with `implicit` the handshake starts at once, else after
 * EHLO and STARTTLS. The connection itself must be made within `connectMs`; the whole exchange within `timeoutMs`.
 */
export async function probeSmtpTls(
  address: string,
  port: number,
  servername: string,
  implicit: boolean,
  timeoutMs = 15_000,
  connectMs = 5_000,
): Promise<StarttlsProbe> {
  const sock = connect({ host: address, port });
  const timer = setTimeout(() => sock.destroy(new Error(`no progress within ${timeoutMs} ms`)), timeoutMs);
  const connectTimer = setTimeout(() => sock.destroy(new Error(`no connection within ${connectMs} ms`)), connectMs);
  const failed = new Promise<never>((_, reject) => sock.once('error', reject));
  failed.catch(() => undefined);
  let offered = implicit;
  let connected = false;
  try {
    try {
      await Promise.race([new Promise((r) => sock.once('connect', r)), failed]);
    } catch (e) {
      return { connected, offered: false, established: false, chain: [], error: oneLine(e) };
    }
    connected = true;
    clearTimeout(connectTimer);
    if (implicit) return await handshake(sock, servername, connected, offered);
    const next = reader(sock);
    const reply = (): Promise<{ code: number; lines: string[] }> => Promise.race([next(), failed]);
    const greet = await reply();
    if (greet.code !== 220) throw new Error(`greeting: ${greet.lines.join(' / ')}`);
    sock.write('EHLO dane-ns-check.invalid\r\n');
    const ehlo = await reply();
    if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.lines.join(' / ')}`);
    offered = ehlo.lines.some((l) => /^250[- ]STARTTLS\b/i.test(l));
    if (!offered) {
      sock.write('QUIT\r\n');
      return { connected, offered, established: false, chain: [] };
    }
    sock.write('STARTTLS\r\n');
    const go = await reply();
    if (go.code !== 220) throw new Error(`STARTTLS: ${go.lines.join(' / ')}`);
    sock.removeAllListeners('data');
    return await handshake(sock, servername, connected, offered);
  } catch (e) {
    return { connected, offered, established: false, chain: [], error: oneLine(e) };
  } finally {
    clearTimeout(timer);
    clearTimeout(connectTimer);
    sock.destroy();
  }
}

const oneLine = (e: unknown): string => (e as Error).message.split('\n')[0]!;

/** The TLS handshake on a connected socket, and the chain the server presents. */
async function handshake(
  sock: Socket,
  servername: string,
  connected: boolean,
  offered: boolean,
): Promise<StarttlsProbe> {
  const tls = tlsConnect({ socket: sock, servername, rejectUnauthorized: false });
  await Promise.race([
    new Promise((r) => tls.once('secureConnect', r)),
    new Promise((_, rej) => tls.once('error', rej)),
  ]);
  const chain: X509Certificate[] = [];
  let c = tls.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    chain.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  const protocol = tls.getProtocol() ?? undefined;
  tls.end('QUIT\r\n');
  return { connected, offered, established: true, chain, ...(protocol ? { protocol } : {}) };
}
