/**
 * Postfix's `posttls-finger` (Postfix 3.7, Debian 12) as a DANE SMTP client inside a test network namespace
 * (helpers/netns.ts): it resolves MX/A and TLSA through the namespace's system resolver (resolv.conf pointing at
 * a validating Unbound, helpers/unbound.ts with `netns`), requires DNSSEC-validated (AD) answers for DANE, connects,
 * does STARTTLS and checks the presented certificate against the TLSA RRset.
 *
 * Run as `MAIL_CONFIG=DIR posttls-finger -c -l dane -L verbose,summary -t 10 -T 30 TARGET` where DIR holds a
 * minimal main.cf (posttls-finger needs one; there is no /etc/postfix/main.cf on a machine with an unconfigured
 * Postfix). TARGET is `[host]` (no MX lookup; TLSA at _25._tcp.host) or a domain (MX lookup first), optionally
 * with `:port`.
 *
 * The verdict is read from its output (see parsePosttlsFinger for the exact strings).
 */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './dig.js';
import { execInNetns } from './netns.js';

export interface PosttlsResult {
  /** `Verified TLS connection established to ...`: the certificate matched the DNSSEC-validated TLSA RRset. */
  verified: boolean;
  /** `... Matched DANE EE certificate at depth N: ...` (a DANE-EE TLSA record matched the presented certificate). */
  matchedDane: boolean;
  /**
   * Secure "no TLSA": posttls-finger asked for the TLSA RRset (which it does only after a DNSSEC-validated
   * address lookup), got NXDOMAIN/NODATA, and said `no TLSA records found`. Not set when it skipped the TLSA
   * lookup because the address was insecure (it says `no TLSA records found` then too: that is dnssecFailure).
   */
  noTlsa: boolean;
  /**
   * A DNSSEC problem on the way: an MX/A/AAAA/TLSA lookup that failed with SERVFAIL (`... try again`, what a
   * validating resolver answers for bogus data), Postfix's `DNSSEC validation may be unavailable` warning (it
   * probes after an unvalidated answer), TLSA/DNSSEC lookup errors, an insecure MX RRset, or `no TLSA records
   * found` without a TLSA lookup (insecure address RRset).
   */
  dnssecFailure: boolean;
  /** The `DNSSEC-signed TLSA record` lines as `U S M data` with lower-case hex (e.g. `3 1 1 ab12...`), in order. */
  tlsaRecords: string[];
  /** The matching TLSA record (`3 1 1 hex`, lower-case), or null. */
  matchedTlsa: string | null;
  /** posttls-finger's exit code (null when killed). It is 0 even when verification fails: read the fields. */
  code: number | null;
  /** stdout then stderr of posttls-finger. */
  raw: string;
  /** The command line, for failure messages. */
  command: string;
}

export interface PosttlsOptions {
  /** TLS security level (`-l`, default `dane`). */
  level?: string;
  /** Pass `-v` (default true). Without it posttls-finger prints neither its DNS queries nor `no TLSA records
   *  found`, so noTlsa is never set and an insecure address goes unnoticed. */
  verbose?: boolean;
  /** Extra arguments placed before the target (e.g. `['-r', '1']`). */
  extraArgs?: string[];
  /** Extra main.cf lines for posttls-finger's MAIL_CONFIG. */
  mainCf?: string[];
  /** Milliseconds before posttls-finger is killed (default 60 s; its own -t 10 -T 30 come first). */
  timeoutMs?: number;
}

const P = '^posttls-finger: ';
const RE = {
  verified: new RegExp(`${P}Verified TLS connection established to `, 'm'),
  matched: new RegExp(`${P}\\S+: Matched DANE EE certificate at depth \\d+: (\\d+ \\d+ \\d+ [0-9A-Fa-f]+)\\s*$`, 'm'),
  tlsaRecord: new RegExp(`${P}DNSSEC-signed TLSA record: \\S+: (\\d+ \\d+ \\d+ [0-9A-Fa-f]+)\\s*$`, 'gm'),
  noTlsa: new RegExp(`${P}no (?:\\S+ )?TLSA records found`, 'm'),
  // -v: `dns_query: _25._tcp.mail.example.com (TLSA): OK` / `: Host not found` / `: Host not found, try again`
  tlsaQuery: new RegExp(`${P}dns_query: \\S+ \\(TLSA\\): (.*)$`, 'gm'),
  servfail: new RegExp(`${P}dns_query: \\S+ \\((?:MX|A|AAAA|TLSA)\\): .*try again`, 'm'),
  failures: [
    new RegExp(`${P}warning: DNSSEC validation may be unavailable`, 'm'),
    new RegExp(`${P}.*TLSA lookup error for `, 'm'),
    new RegExp(`${P}.*DANE TLSA lookup problem`, 'm'),
    new RegExp(`${P}.*DNSSEC status lookup error`, 'm'),
    new RegExp(`${P}.*MX RRset (?:is )?insecure`, 'm'),
    new RegExp(`${P}Destination address lookup failed: .*try again`, 'm'),
  ],
};

/** Parses posttls-finger output (stdout+stderr, ideally with -v) into the verdict fields. */
export function parsePosttlsFinger(
  raw: string,
): Pick<PosttlsResult, 'verified' | 'matchedDane' | 'noTlsa' | 'dnssecFailure' | 'tlsaRecords' | 'matchedTlsa'> {
  const lower = (rr: string): string => rr.replace(/[0-9A-F]+$/i, (h) => h.toLowerCase());
  const matched = RE.matched.exec(raw);
  const tlsaQueries = [...raw.matchAll(RE.tlsaQuery)].map((m) => (m[1] as string).trim());
  const saidNoTlsa = RE.noTlsa.test(raw);
  // NXDOMAIN / NODATA, as Postfix words them (a SERVFAIL reads `Host not found, try again`).
  const deniedTlsa = tlsaQueries.some(
    (r) => r === 'Host not found' || r === 'Host found but no data record of requested type',
  );
  const dnssecFailure =
    RE.servfail.test(raw) ||
    RE.failures.some((re) => re.test(raw)) ||
    (saidNoTlsa && tlsaQueries.length === 0 && /dns_query: /.test(raw));
  return {
    verified: RE.verified.test(raw),
    matchedDane: matched !== null,
    noTlsa: saidNoTlsa && deniedTlsa && !dnssecFailure,
    dnssecFailure,
    tlsaRecords: [...raw.matchAll(RE.tlsaRecord)].map((m) => lower(m[1] as string)),
    matchedTlsa: matched === null ? null : lower(matched[1] as string),
  };
}

/**
 * Runs posttls-finger inside the namespace against target (`[host]`, `[host]:port`, or a domain for an MX
 * lookup) and parses the result. Rejects only when it cannot run (tool missing, killed by the timeout); a failed
 * or unverified connection is a result.
 */
export async function posttlsFinger(netns: string, target: string, opts: PosttlsOptions = {}): Promise<PosttlsResult> {
  const bin = requireTool('posttls-finger');
  const dir = await mkdtemp(join(tmpdir(), 'dane-ns-posttls-'));
  try {
    const mainCf = join(dir, 'main.cf');
    await writeFile(
      mainCf,
      [
        'compatibility_level = 3.6',
        'inet_protocols = ipv4',
        'smtp_dns_support_level = dnssec',
        ...(opts.mainCf ?? []),
        '',
      ].join('\n'),
    );
    // Postfix re-reads a config file whose mtime is within the last second or two, sleeping in between (up to
    // ~2 s per run): date it back.
    const past = new Date(Date.now() - 120_000);
    await utimes(mainCf, past, past);
    const args = [
      '-c',
      '-l',
      opts.level ?? 'dane',
      '-L',
      'verbose,summary',
      '-t',
      '10',
      '-T',
      '30',
      ...(opts.verbose === false ? [] : ['-v']),
      ...(opts.extraArgs ?? []),
      target,
    ];
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const r = await execInNetns(netns, bin, args, { timeoutMs, env: { ...process.env, MAIL_CONFIG: dir } });
    const command = `MAIL_CONFIG=${dir} ${r.command}`;
    const raw = `${r.stdout}${r.stderr === '' ? '' : `${r.stdout === '' ? '' : '\n'}${r.stderr}`}`;
    if (r.timedOut) throw new Error(`${command}: killed after ${timeoutMs} ms\n${raw}`);
    if (r.code === null)
      throw new Error(`${command}: ${r.signal !== null ? `killed by ${r.signal}` : 'could not run'}\n${raw}`);
    return { ...parsePosttlsFinger(raw), code: r.code, raw, command };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
