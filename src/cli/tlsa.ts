/**
 * `dane-ns tlsa FILE`: the DANE-EE TLSA record (RFC 6698 §2, usage 3 selector 1 matching type 1; RFC 7672 §3.1
 * for SMTP) of a certificate or key file, and with --issuer the DANE-TA 2 1 1 record of its issuing CA. The owner
 * is _PORT._tcp.HOST (RFC 6698 §3).
 */
import { nameToText, parseName, ROOT } from '../wire/name.js';
import { readTlsaSource, tlsa211, tlsa311, TlsaSourceError, type TlsaSource } from '../tlsa/source.js';
import { domainName, onePositional, parseOptions, port } from './args.js';
import { printHelp } from './help.js';
import type { Io } from './io.js';
import { tlsaWaitCmd } from './tlsa-wait.js';

export function tlsaCmd(args: string[], io: Io): number | Promise<number> {
  // `tlsa wait ZONE HOST` (tlsa-wait.ts); any other first word is the FILE of `tlsa FILE`.
  if (args[0] === 'wait') return tlsaWaitCmd(args.slice(1), io);
  const a = parseOptions(args, ['port', 'host'], ['issuer']);
  if (a.has('help')) return printHelp(io, 'tlsa');
  const file = onePositional(a, 'tlsa', 'FILE');
  const tcpPort = port('--port', a.value('port') ?? '25', 1);
  const hostFlag = a.value('host');
  const hostName = hostFlag !== undefined ? domainName('--host', hostFlag) : undefined;
  let src: TlsaSource;
  try {
    src = readTlsaSource(file);
  } catch (e) {
    if (e instanceof TlsaSourceError) throw new Error(e.message);
    throw e;
  }
  // Without --host, the certificate's first DNS name that is not a wildcard.
  const fromCert = src.dnsNames?.find((n) => !n.startsWith('*.'));
  const host = hostName ?? (fromCert !== undefined ? parseName(`${fromCert}.`, ROOT) : undefined);
  const owner = host ? `${nameToText(parseName(`_${tcpPort}._tcp`, host))} IN TLSA ` : '';
  if (src.kind === 'certificate')
    io.out(
      `; ${src.subject}, valid ${new Date(src.notBefore!).toISOString()} to ${new Date(src.notAfter!).toISOString()}\n`,
    );
  else io.out(`; ${src.kind} (${src.keyType})\n`);
  io.out(`${owner}${tlsa311(src)}\n`);
  if (a.has('issuer')) {
    const ta = tlsa211(src);
    if (!ta) throw new Error(`${file}: no issuing CA certificate in the file (use the full chain) for --issuer`);
    io.out(`${owner}${ta}\n`);
  }
  return 0;
}
