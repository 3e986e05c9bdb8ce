/**
 * The help text: one table of commands (usage and one-line summary) from which both `dane-ns --help` and
 * `dane-ns CMD --help` are printed, so the two cannot disagree, plus each command family's longer description.
 */
import type { Io } from './io.js';

interface Command {
  /** The family whose `--help` shows this command (`keys` for `keys list`, `keys generate`, ...). */
  readonly topic: string;
  /** The words that name the command and its positional argument, as in `dane-ns --help`. */
  readonly name: string;
  /** The options, in the usage line. */
  readonly options: string;
  readonly summary: string;
}

export const COMMANDS: readonly Command[] = [
  {
    topic: 'serve',
    name: 'serve',
    options:
      '[--zones DIR] [--keys DIR] [--state DIR] [--listen ADDR:PORT]... [--http ADDR:PORT] [--udp-engine auto|batch|dgram] [--tcp-per-source N] [--log-queries] [--allow-query PREFIX]... [--rrl RATE] [--rrl-slip N] [--rrl-exempt PREFIX|none]... [--rrl-ipv4-prefix LEN] [--rrl-ipv6-prefix LEN] [--secondary-lag SECONDS] [--resolver ADDR[:PORT]|none] [--cookie-secret HEX | --cookie-secret-file PATH] [--catalog NAME] [--catalog-grace DURATION]',
    summary: 'serve the zones directory over UDP and TCP',
  },
  {
    topic: 'zone',
    name: 'zone check FILE',
    options: '',
    summary: 'check one zone file offline, with the messages the server would log for it',
  },
  {
    topic: 'zone',
    name: 'zone export ZONE',
    options: '[--zones DIR] [--state DIR] [--signed [--keys DIR]]',
    summary: 'print a zone in RFC 1035 master-file syntax',
  },
  {
    topic: 'zone',
    name: 'zone import FILE',
    options: '[--origin NAME] [--out FILE.yaml]',
    summary: 'convert an RFC 1035 zone file to the YAML zone format',
  },
  {
    topic: 'zone',
    name: 'zone list',
    options: '[--state DIR] [--json]',
    summary: 'list the zones the running server serves: file, serial, state',
  },
  {
    topic: 'status',
    name: 'status',
    options: '[ZONE] [--state DIR] [--json]',
    summary: 'ask the running server how each zone is served: serial, signatures, keys, TLSA',
  },
  {
    topic: 'reload',
    name: 'reload',
    options: '[ZONE] [--state DIR] [--json]',
    summary: 'make the running server re-read its zone files now and print each published serial',
  },
  {
    topic: 'ds',
    name: 'ds ZONE',
    options: '[--keys DIR] [--zones DIR]',
    summary: "print the DS records (SHA-256) of the zone's KSK/CSK, for the parent zone",
  },
  {
    topic: 'keys',
    name: 'keys list ZONE',
    options: '[--keys DIR] [--json]',
    summary: "list the zone's DNSSEC keys: tag, role, algorithm, dates",
  },
  {
    topic: 'keys',
    name: 'keys generate ZONE',
    options: '[--keys DIR] [--state DIR] [--csk]',
    summary: "create the zone's keys now (before the first start) and print the DS",
  },
  {
    topic: 'keys',
    name: 'keys rollover ZONE',
    options: '[--ksk | --ds-published] [--zones DIR] [--keys DIR] [--state DIR] [--margin SECONDS] [--ds-ttl SECONDS]',
    summary: "replace the zone's ZSK (or, with --ksk, its KSK) with the timing validators need",
  },
  {
    topic: 'tsig',
    name: 'tsig generate NAME',
    options: '[--keys DIR] [--algorithm hmac-sha256]',
    summary: 'create a TSIG key for a secondary (<keys>/tsig/NAME.key) and print it',
  },
  {
    topic: 'secondary-config',
    name: 'secondary-config ZONE',
    options: '--for nsd|knot|bind --primary ADDR[:PORT] [--zones DIR] [--keys DIR]',
    summary: "print a secondary's configuration (TSIG key and zone) to copy ZONE from dane-ns",
  },
  {
    topic: 'tlsa',
    name: 'tlsa FILE',
    options: '[--port 25] [--host NAME] [--issuer]',
    summary: 'print the TLSA 3 1 1 record for a certificate or key file',
  },
  {
    topic: 'tlsa',
    name: 'tlsa wait ZONE HOST',
    options: '[--file FILE] [--timeout SECONDS] [--server ADDR:PORT] [--zones DIR] [--keys DIR] [--state DIR]',
    summary: 'wait until every name server of ZONE serves the TLSA of a certificate, and a TTL has passed',
  },
  {
    topic: 'check',
    name: 'check ZONE',
    options:
      '[--zones DIR] [--keys DIR] [--server ADDR:PORT] [--resolver ADDR[:PORT]] [--live [--connect ADDR] [--smtp-port N]] [--json]',
    summary: 'audit a running server: keys and DS, signatures, certificates, TLSA vs files, live TLS, secondaries',
  },
  {
    topic: 'healthcheck',
    name: 'healthcheck',
    options: '[--server ADDR:PORT] [--zones DIR]',
    summary: 'exit 0 when the running server answers every zone with a current signed SOA',
  },
];

const WIDTH = 116;

/** `dane-ns NAME OPTIONS`, wrapped before an option or option group so that no line is wider than WIDTH. */
function usageLine(lead: string, c: Command): string {
  const head = `${lead}dane-ns ${c.name} `;
  // An optional group in brackets, or a required option and its value (`--for nsd|knot|bind`).
  const groups = c.options.match(/\[[^[\]]*(?:\[[^\]]*\][^[\]]*)*\](?:\.\.\.)?|--\S+ \S+/g) ?? [];
  const lines: string[] = [];
  let line = head;
  for (const g of groups) {
    if (line.length + g.length > WIDTH && line.trim() !== head.trim()) {
      lines.push(line.trimEnd());
      line = ' '.repeat(head.length);
    }
    line += g + ' ';
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

export function mainHelp(): string {
  return `dane-ns: authoritative DNSSEC name server that keeps SMTP DANE TLSA records in step with certificates

usage: dane-ns <command> [options]
       dane-ns --version

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(20)}  ${c.summary}`).join('\n')}

Run 'dane-ns <command> --help' for a command's options.
Exit codes: 0 success, 1 failure (the message says why), 2 usage error.`;
}

/** The usage lines of every command of `topic`, then its description. */
export function topicHelp(topic: keyof typeof DETAILS): string {
  const usage = COMMANDS.filter((c) => c.topic === topic).map((c, i) => usageLine(i === 0 ? 'usage: ' : '       ', c));
  return `${usage.join('\n')}\n\n${DETAILS[topic]}`;
}

const DETAILS = {
  serve: `  --zones DIR          zone files (<zone>.yaml)           default ./zones  (env DANE_NS_ZONES)
  --keys DIR           DNSSEC key files                   default ./keys   (env DANE_NS_KEYS)
  --state DIR          serials and rollover state         default ./state  (env DANE_NS_STATE)
  --listen ADDR:PORT   address to serve UDP and TCP on; repeatable; [::1]:PORT for IPv6
                       default 127.0.0.1:5353  (env DANE_NS_LISTEN, comma-separated)
  --udp-engine E       auto (default): the native batched engine (recvmmsg/sendmmsg) when built, else
                       node:dgram; batch; dgram  (env DANE_NS_UDP_ENGINE)
  --http ADDR:PORT     HTTP endpoint: GET /healthz (200, or 503 with the reasons) and GET /metrics
                       (Prometheus text); off by default  (env DANE_NS_HTTP; an empty --http= turns it off)
  --log-queries        one log line per query (client, qname, qtype, rcode, size); off by default
                       (env DANE_NS_LOG_QUERIES=1)
  --allow-query PREFIX answer only these sources (198.51.100.0/24, 2001:db8::/48, an address); repeatable;
                       REFUSED to the rest; transfers keep their own ACL (transfer.allow). Default: everyone
  --rrl RATE           UDP response rate limit: identical responses a second per client network
                       (answer per name and type, NODATA per name, NXDOMAIN per zone, referral per
                       delegation, errors per network; from a wildcard: per wildcard); 0 turns it off;
                       default 200 (NSD's). Never TCP
  --rrl-slip N         send every Nth limited response truncated (TC: real clients retry over TCP), drop
                       the others; 0 drops all, 1 truncates all; default 2
  --rrl-exempt PREFIX  never limited; repeatable; default 127.0.0.0/8 and ::1 (loopback); giving the flag
                       replaces the default, 'none' exempts nobody. A valid DNS cookie exempts a client too
  --rrl-ipv4-prefix LEN, --rrl-ipv6-prefix LEN
                       the client network of the limit: default /24 and /56
  --tcp-per-source N   TCP connections one client address may hold (secondaries exempt); default 64,
                       0: no limit. Beyond it its new connections are closed at once. An IPv6 /64 counts
                       as one address (one site holds all of it)
  --secondary-lag S    /healthz fails when a watched server (transfer.notify or transfer.check) stays behind
                       the served serial longer than S seconds; default 300
  --resolver ADDR[:PORT]  the recursive resolver that finds a zone's parent name servers for the DS check
                       when dnssec.parent is not set; default the first nameserver of /etc/resolv.conf;
                       none: ask no resolver (such zones' parent DS is not checked)  (env DANE_NS_RESOLVER)
  --cookie-secret HEX  the server cookie secret, 32 hex digits (16 octets), shared by servers behind one
                       anycast address: each accepts the others' cookies. Never rotated; the state file
                       is not used  (env DANE_NS_COOKIE_SECRET)
  --cookie-secret-file PATH  the same, read from a file  (env DANE_NS_COOKIE_SECRET_FILE)
  --catalog NAME       serve the catalog zone NAME (RFC 9432 v2) listing every zone with transfer:, for
                       secondaries that read catalogs (Knot, BIND); only the members' secondaries may query
                       or transfer it; off by default  (env DANE_NS_CATALOG; docs/catalog.md)
  --catalog-grace D    a zone whose file goes (or loses transfer:) stays in the catalog this long; default 1h
                       (env DANE_NS_CATALOG_GRACE)

Logs one JSON object per line on stdout. The zones directory and the certificate files are watched; SIGHUP
also reloads the zones; SIGTERM/SIGINT stop.
A zone file with an error at start-up is reported as file:line: reason, and the server exits 1.
The server listens on <state>/control.sock (mode 0600) for dane-ns status, reload and zone list; a second server
with the same state directory exits 1 naming the first one's pid (docs/control.md).
DNS cookies (RFC 7873, RFC 9018) are always answered; the secret is <state>/cookie-secret.json, rotated daily,
unless --cookie-secret gives one.`,
  ds: `Prints the DS record (digest type 2, SHA-256) of each current key-signing key of ZONE in zone-file syntax
(during a KSK rollover the old and the new one; pending and retired keys not): give these to your registrar or
parent zone. Keys are read from DIR (default ./keys, env DANE_NS_KEYS); the server creates them on its first
start. An interrupted key change (a first start or a keys rollover killed while writing keys) is undone first;
while the set is incomplete (a key file that does not load, a change still being written) nothing is printed
and the error names the files. Only the public .key files are read (not the .private ones). A file or directory
the user may not read is reported with its owner, mode and the chown that fixes it. Key-signing keys without an
active zone-signing key are a whole set only for a zone with dnssec: { keys: csk }: then ZONE's zone file is read
from --zones DIR (default ./zones, env DANE_NS_ZONES), and without it, or with keys: ksk-zsk, nothing is printed.`,
  keys: `  list      the DNSSEC keys of ZONE found in DIR (default ./keys, env DANE_NS_KEYS): tag, role, algorithm,
            created, publish, activate, inactive and delete times, and the key's state now (pending,
            published, active, retired, removed); unusable key files are reported; --json prints one
            object (docs/control.md)
  generate  creates ZONE's keys now (a KSK and a ZSK, or one CSK with --csk), as the server does on its first
            start, so the DS can go to the registrar before the zone is served; prints the DS. Does nothing
            when the zone has keys, and refuses when the state directory (default ./state) remembers keys
            that are gone (new keys would break the DS at the parent).
  rollover  starts a key rollover by writing key files with the right times; a running server watches the
            keys directory and follows them (no restart, no reload). The zone file (--zones, default ./zones)
            gives the TTLs the times are computed from.
              (default)        ZSK (or with keys: csk, the CSK): the new key is published now and signs from
                               DNSKEY TTL + margin on; the old one stops then and leaves the DNSKEY RRset
                               once its last signatures have expired from caches (largest TTL + margin).
              --ksk            KSK: the new KSK is published and signs the DNSKEY RRset now, next to the old
                               one; prints its DS and from when to give it to the registrar.
              --ds-published   ends a KSK or CSK rollover once the parent publishes the new DS instead of the
                               old: the old key keeps signing until resolvers have let the old DS go (--ds-ttl,
                               the parent's DS TTL, default 86400 s, + margin), then leaves. A running
                               server does this by itself once every parent server serves only the new DS.
            --margin adds a safety interval to every wait (default: the zone file's dnssec.margin, 3600 s).
            Refuses, changing nothing, while a rollover of the same key is under way or when a key file does
            not load.`,
  tlsa: `Prints the DANE-EE TLSA record (3 1 1: SHA-256 of the SubjectPublicKeyInfo) for FILE: a certificate or chain
(PEM or DER; the first certificate is the server's), a public key, or a private key (PEM/DER; PKCS#8, SEC1 or
PKCS#1; RSA or EC). The owner is _PORT._tcp.HOST; HOST defaults to the certificate's first DNS name (without
one and without --host only the record data is printed). --issuer also prints the 2 1 1 record of the issuing
CA (FILE must hold the chain). A comment line shows the certificate's subject and validity.

wait asks dane-ns (--server, else the first listen address the running server's control socket in --state
reports, else DANE_NS_LISTEN) and every transfer.notify and transfer.check server of ZONE's zone file (--zones;
TSIG-signed with an entry's key from --keys) every second for the 3 1 1 record of FILE (default: the cert: of
HOST's tlsa: entry; a certificate, public or private key) at every _PORT._tcp.HOST of the entry. It exits 0 once
all of them serve it and one TTL of the set has passed since the last of them started (as this command saw it:
a record served from the start counts from the start) and, when the running server's control socket in --state
answers, that server counts it ready (a next: record: 2 x TTL since it published it), 1 after --timeout
(default 900 s) naming the servers that lack it.`,
  tsig: `  generate  creates the TSIG key NAME (RFC 8945) in DIR/tsig/NAME.key (DIR default ./keys, env DANE_NS_KEYS),
            mode 0600, in the format tsig-keygen writes, and prints it for the secondary's configuration;
            --algorithm hmac-sha256 (default), hmac-sha224, hmac-sha384, hmac-sha512, hmac-sha1. Refuses to
            overwrite an existing key. A zone's transfer.allow names the key; a running server reads the
            keys directory again when it changes.`,
  'secondary-config': `Prints what a secondary (--for nsd, knot or bind) needs to copy ZONE (its zone file in --zones DIR,
default ./zones, env DANE_NS_ZONES) from dane-ns at --primary (port 53 unless given; [IPV6]:PORT): the TSIG key
that the zone's transfer.allow names first, read from DIR/tsig/ (--keys, default ./keys, env DANE_NS_KEYS), and
the zone, transferred by IXFR or AXFR and accepting NOTIFY from the primary: nsd.conf key: and
zone:, knot.conf key:, remote:, acl: and zone:, or named.conf key and zone statements, ready to paste. A zone
allowed by address only gets a configuration without TSIG. Fails (exit 1) for an unknown zone, a zone without
transfer.allow, or a key without its key file.`,
  check: `Compares the certificate files of ZONE's tlsa: entries (its zone file in --zones DIR, default ./zones, env
DANE_NS_ZONES) with the TLSA records the running server publishes (--server, default the first DANE_NS_LISTEN
address or 127.0.0.1:5353), verifies the DNSKEY, SOA and TLSA signatures and their validity, and reports
certificates that are expired, not yet valid or expire within 14 days. Each published TLSA record gets a line
saying what it is there for, from the server's rollover history in DIR/tlsa.json (DANE_NS_STATE, default ./state;
read, never written): current, next (ready at TIME: once published for 2 x TTL, safe to deploy), or retiring until
TIME. A warn line says while a renewal to a key that was not published for 2 x TTL before (a cold rollover) may
fail senders that cached the previous TLSA set (4.7.323), and when next: holds the key now in use.
The chain: every served DNSKEY must be a key file of the zone in --keys DIR (default ./keys, env DANE_NS_KEYS),
else \`FAIL ZONE DNSKEY: served key tag N is not in DIR\`; a key file due in the RRset by its timing but not served
is a warning, and so is a directory without key files of the zone. With dnssec.zsk-lifetime or ksk-lifetime, a
line gives the next rollover by lifetime (warn: a lifetime already over). The parent's DS is asked of --resolver
ADDR[:PORT] (port 53 by default; else the first nameserver of /etc/resolv.conf), with RD set, one try, 2 s: ok
when a DS (digest type 2 or 4) matches a served KSK, FAIL when DS records exist and none matches (senders report
4.7.324 dnssec-invalid), warn when there is no DS (an insecure delegation: DANE is not in effect) or the resolver
gives no answer or an error rcode (the line says which).
With --live it connects to every A and AAAA address of each TLSA host at the server (when it has none, at the
resolver; or only --connect ADDR) on
the TLSA port (or --smtp-port): on port 465 (either one) with TLS at once (implicit TLS), else with EHLO and
STARTTLS; one line per address, and one result line per address with the class senders would see:
  ok                      the presented key matches a published TLSA and DNSSEC is valid
  unreachable             the connection was refused or not made within 5 s (is the MTA listening there?)
  starttls-not-supported  no STARTTLS or no TLS handshake (4.7.321)
  certificate-expired     the presented certificate is expired or not yet valid (4.7.322)
  tlsa-invalid            the presented key matches no published TLSA (4.7.323)
  dnssec-invalid          the TLSA (or DNSKEY/SOA) signatures do not validate (4.7.324)
A zone with a transfer: section also gets one line per transfer.allow entry (\`transfer allow: key xfr. from
198.51.100.0/24\`) and one per transfer.notify target: the target's SOA serial, asked over UDP (2 s timeout,
TSIG-signed with the target's key from DIR/tsig/, --keys, default ./keys, env DANE_NS_KEYS; its answer must
verify), beside the served serial: \`ok notify 192.0.2.2:53: serial 2026120201 (current)\`, else a warn line:
(behind the served SERIAL), (newer than the served SERIAL), (no answer within 2000 ms), or the rcode (REFUSED).
Each transfer.check server gets the same line, \`check 203.0.113.53:53: ...\`; a server that is behind also
shows how long it has been, as the running server (its control socket in DANE_NS_STATE) sees it: \`; 40 s behind\`.
Each line is ok, warn or FAIL with what and why; the exit code is 0 without FAIL lines, else 1 (a warn line, such
as a secondary that is behind or silent, leaves it 0). --json prints the same as one object (docs/control.md),
with the same exit code.`,
  healthcheck: `For every zone file in DIR (default ./zones, env DANE_NS_ZONES) asks the running server (--server, default the
first DANE_NS_LISTEN address or 127.0.0.1:5353; 0.0.0.0 and [::] mean the loopback address) for the zone's
DNSKEY and SOA with DO=1, and verifies that a current RRSIG over the SOA verifies with a published DNSKEY.
Prints one line; exit 0 when every zone passes, 1 with the first problem otherwise. The Docker image's
HEALTHCHECK runs it.`,
  zone: `  check   loads FILE as the server would (the YAML, the records, the zone-file rules, the shape of the tlsa:
          entries; not the certificate files, keys or state): prints 'ok ZONE serial N, M names' and exits 0,
          or prints every problem as file:line[:column]: reason and exits 1
  export  prints the zone (as loaded from DIR, default ./zones) in RFC 1035 syntax, absolute names;
          a 'serial: auto' zone shows the serial the server keeps in the state directory (default ./state);
          --signed prints the signed zone the server serves (DNSKEY, NSEC, RRSIG; its serial and signatures, as
          in its AXFR), rebuilt from what it keeps in the state directory with the zone's keys (default ./keys);
          when the state holds no served version of the zone as it is now (never served, or a file, certificate
          or key changed since), it says so on stderr and signs afresh (its own serial and signatures), exit 0
  import  converts an RFC 1035 master file to the YAML zone format (stdout, or --out FILE); the zone origin
          is --origin NAME, else the owner of the file's SOA record
  list    asks the running server (its control socket in --state DIR, default ./state, env DANE_NS_STATE)
          for its zones: zone, file, served serial, state; --json prints the server's JSON object`,
  status: `Asks the running server (through <DIR>/control.sock; --state DIR, default ./state, env DANE_NS_STATE) how
it serves each zone, or only ZONE: the zone file, its state (serving; serving last good version, with the error
of the file that fails to load; not served, with the error), the served serial, when the earliest signature
expires, the next key event of a rollover (or of a key lifetime ending), and each automatic TLSA host with its
records and their roles (current, next, issuer, retiring until TIME); then the listen addresses, the uptime and
the version.
--json prints the server's JSON object (docs/control.md). Without a running server: exit 1.`,
  reload: `Makes the running server (through <DIR>/control.sock; --state DIR, default ./state, env DANE_NS_STATE) re-read
its zones directory now, as SIGHUP does, and prints per zone the serial it publishes or the error of its file.
With ZONE only that zone's file is re-read and printed (the other files are not read, so one being edited is
neither loaded nor reported); a zone that no file serves yet (a new file) has the whole directory read, and a note
says so. Exit 1 when a zone file fails to load (its last good version keeps serving) or no server
runs; --json prints the server's JSON object.`,
} as const;

export type Topic = keyof typeof DETAILS;

/** Prints the help of `topic` (the commands' table when undefined); exit code 0. */
export function printHelp(io: Io, topic?: Topic): number {
  io.out((topic === undefined ? mainHelp() : topicHelp(topic)) + '\n');
  return 0;
}
