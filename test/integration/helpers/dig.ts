/**
 * Running kdig/dig, and a structured DNS query built on `kdig +json` (RFC 8427 output, Knot DNS >= 3.1).
 *
 * Every RR is normalised to `owner ttl class type rdata` with a lower-cased owner and collapsed whitespace
 * (outside quoted strings), so answers from two servers compare equal when their wire data does. The RDATA text
 * is kdig's rendering of the wire bytes, so it does not depend on how either server would print it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const toolCache = new Map<string, string>();

/**
 * Absolute path of an external tool. Missing tools are test failures, never skips (in CI and locally alike): the
 * error names the Debian package that `.ci/run` installs.
 */
export function requireTool(name: string): string {
  const cached = toolCache.get(name);
  if (cached !== undefined) return cached;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  // knotd and unbound live in sbin, which a non-root PATH may lack.
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(extra)) dirs.push(extra);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      toolCache.set(name, candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  const pkg = TOOL_PACKAGES[name];
  throw new Error(
    `required tool '${name}' not found in PATH or sbin directories` +
      (pkg !== undefined ? ` (Debian package ${pkg}; .ci/run installs it)` : ''),
  );
}

const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  knotd: 'knot',
  knotc: 'knot',
  keymgr: 'knot',
  kdig: 'knot-dnsutils',
  dig: 'bind9-dnsutils',
  delv: 'bind9-dnsutils',
  dnsperf: 'dnsperf',
  'ldns-verify-zone': 'ldnsutils',
  unbound: 'unbound',
  'unbound-control': 'unbound',
  'unbound-checkconf': 'unbound',
  ip: 'iproute2',
  postfix: 'postfix',
  postconf: 'postfix',
  'posttls-finger': 'postfix',
  openssl: 'openssl',
  nsupdate: 'bind9-dnsutils',
  knsupdate: 'knot-dnsutils',
  pebble: 'pebble',
  certbot: 'certbot',
  lego: 'lego',
};

export interface RunOptions {
  /** Milliseconds before the process is killed (default 15 s). */
  timeoutMs?: number;
}

function run(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const bin = requireTool(tool);
  const timeout = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        const why = e.killed === true ? `killed after ${timeout} ms` : `exit ${String(e.code)}`;
        reject(new Error(`${tool} ${args.join(' ')}: ${why}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** Runs kdig with the given arguments; resolves with stdout, rejects (with stdout/stderr) on non-zero exit. */
export function kdig(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return run('kdig', args, opts);
}

/** Runs dig (BIND 9) with the given arguments; resolves with stdout, rejects on non-zero exit. */
export function dig(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return run('dig', args, opts);
}

export interface Server {
  host: string;
  port: number;
}

export interface QueryOptions {
  /** Query over TCP (default UDP; UDP never falls back to TCP, so TC is seen as sent). */
  tcp?: boolean;
  /** Set the DO bit. */
  dnssec?: boolean;
  /** EDNS UDP payload size (default 1232). Ignored with noEdns. */
  bufsize?: number;
  /** Send no OPT record at all. */
  noEdns?: boolean;
  /** EDNS version to send (default 0; anything else should yield BADVERS). */
  ednsVersion?: number;
  /** Request NSID (RFC 5001). */
  nsid?: boolean;
  /** RD bit in the query (default false: what resolvers send to authoritative servers). */
  rd?: boolean;
  /** kdig per-try timeout in seconds (default 2), retries (default 1). */
  timeoutSec?: number;
  retries?: number;
}

export interface EdnsOption {
  code: number;
  data: string;
}

/** Decodes OPT RDATA (hex) into its options; throws on a malformed layout. */
export function parseEdnsOptions(hex: string): EdnsOption[] {
  const buf = Buffer.from(hex, 'hex');
  const out: EdnsOption[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) throw new Error(`malformed OPT RDATA ${hex}`);
    const code = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (off + 4 + len > buf.length) throw new Error(`malformed OPT RDATA ${hex}`);
    out.push({ code, data: buf.subarray(off + 4, off + 4 + len).toString('hex') });
    off += 4 + len;
  }
  return out;
}

export interface EdnsInfo {
  version: number;
  udpSize: number;
  do: boolean;
  /** Options in the response OPT, in order (e.g. code 3 = NSID, 15 = EDE), data as lower-case hex. */
  options: EdnsOption[];
}

export interface Answer {
  /** Mnemonic of the full (extended) RCODE: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, BADVERS, ... or RCODE<n>. */
  rcode: string;
  /** The set header flags among qr aa tc rd ra ad cd, in that order. */
  flags: string[];
  answer: string[];
  authority: string[];
  /** Additional section without the OPT pseudo-RR (see `edns`). */
  additional: string[];
  /** The response OPT record, or null when there was none. */
  edns: EdnsInfo | null;
}

const RCODES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  11: 'DSOTYPENI',
  16: 'BADVERS',
  17: 'BADKEY',
  18: 'BADTIME',
  19: 'BADMODE',
  20: 'BADNAME',
  21: 'BADALG',
  22: 'BADTRUNC',
  23: 'BADCOOKIE',
};

export function rcodeName(code: number): string {
  return RCODES[code] ?? `RCODE${code}`;
}

const FLAG_KEYS: readonly (readonly [string, string])[] = [
  ['QR', 'qr'],
  ['AA', 'aa'],
  ['TC', 'tc'],
  ['RD', 'rd'],
  ['RA', 'ra'],
  ['AD', 'ad'],
  ['CD', 'cd'],
];

/** Collapses runs of whitespace outside double-quoted strings (backslash escapes respected) and trims. */
export function collapseWhitespace(text: string): string {
  let out = '';
  let inQuote = false;
  let pendingSpace = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (!inQuote && /\s/.test(ch)) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) {
      out += ' ';
      pendingSpace = false;
    }
    out += ch;
    if (ch === '\\' && i + 1 < text.length) {
      out += text[i + 1] as string;
      i++;
    } else if (ch === '"') {
      inQuote = !inQuote;
    }
  }
  return out;
}

type JsonRR = Record<string, unknown>;

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`kdig JSON: ${what} is not a string: ${JSON.stringify(v)}`);
  return v;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new Error(`kdig JSON: ${what} is not a number: ${JSON.stringify(v)}`);
  return v;
}

/** One RR of kdig's RFC 8427 JSON as `owner ttl class type rdata`. */
export function normaliseJsonRR(rr: JsonRR): string {
  const owner = str(rr.NAME, 'NAME').toLowerCase();
  const type = num(rr.TYPE, 'TYPE');
  const typeName = typeof rr.TYPEname === 'string' ? rr.TYPEname : `TYPE${type}`;
  const cls = typeof rr.CLASSname === 'string' ? rr.CLASSname : `CLASS${num(rr.CLASS, 'CLASS')}`;
  const ttl = num(rr.TTL, 'TTL');
  let rdata: string | undefined;
  for (const [k, v] of Object.entries(rr)) {
    if (k.startsWith('rdata') && typeof v === 'string') {
      rdata = v;
      break;
    }
  }
  if (rdata === undefined) {
    // Types kdig cannot render (and empty RDATA): RFC 3597 generic form.
    const len = typeof rr.RDLENGTH === 'number' ? rr.RDLENGTH : 0;
    const hex = typeof rr.RDATAHEX === 'string' ? rr.RDATAHEX.toLowerCase() : '';
    rdata = len === 0 ? '\\# 0' : `\\# ${len} ${hex}`;
  }
  return collapseWhitespace(`${owner} ${ttl} ${cls} ${typeName} ${rdata}`);
}

function rrList(v: unknown, what: string): JsonRR[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`kdig JSON: ${what} is not an array`);
  return v as JsonRR[];
}

/** Splits kdig output that may hold several top-level JSON objects (one per message) into the objects. */
export function splitJsonObjects(output: string): unknown[] {
  const objs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < output.length; i++) {
    const ch = output[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0 && start >= 0) {
        objs.push(JSON.parse(output.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return objs;
}

/** Turns one kdig `+json` message object into an Answer. */
export function answerFromJson(msg: Record<string, unknown>): Answer {
  if (msg.QR === undefined) throw new Error(`kdig JSON: no response message (got ${JSON.stringify(msg)})`);
  const flags = FLAG_KEYS.filter(([k]) => msg[k] === 1).map(([, f]) => f);
  let rcode = num(msg.RCODE, 'RCODE');
  let edns: EdnsInfo | null = null;
  const additional: string[] = [];
  for (const rr of rrList(msg.additionalRRs, 'additionalRRs')) {
    if (rr.TYPE === 41) {
      const ttl = num(rr.TTL, 'OPT TTL');
      rcode |= ((ttl >>> 24) & 0xff) << 4;
      // kdig 3.2 prints the OPT RDATA only as hex (no per-option fields): decode code/length/data triples.
      const options = parseEdnsOptions(typeof rr.RDATAHEX === 'string' ? rr.RDATAHEX : '');
      edns = {
        version: (ttl >>> 16) & 0xff,
        udpSize: num(rr.CLASS, 'OPT CLASS'),
        do: (ttl & 0x8000) !== 0,
        options,
      };
      continue;
    }
    additional.push(normaliseJsonRR(rr));
  }
  return {
    rcode: rcodeName(rcode),
    flags,
    answer: rrList(msg.answerRRs, 'answerRRs').map(normaliseJsonRR),
    authority: rrList(msg.authorityRRs, 'authorityRRs').map(normaliseJsonRR),
    additional,
    edns,
  };
}

/**
 * Parses `kdig +json` output into an Answer (the last message when several are printed, e.g. after a TCP retry).
 * Throws when the output holds no response.
 */
export function parseKdig(output: string): Answer {
  const objs = splitJsonObjects(output);
  const last = objs[objs.length - 1];
  if (last === undefined || typeof last !== 'object' || last === null) {
    throw new Error(`kdig output holds no JSON message:\n${output}`);
  }
  return answerFromJson(last as Record<string, unknown>);
}

/** The kdig arguments `query` uses (exported for tests that want to print the command on failure). */
export function kdigQueryArgs(server: Server, qname: string, qtype: string, opts: QueryOptions = {}): string[] {
  const args = [
    `@${server.host}`,
    '-p',
    String(server.port),
    '+json',
    `+timeout=${opts.timeoutSec ?? 2}`,
    `+retry=${opts.retries ?? 1}`,
    opts.rd === true ? '+rec' : '+norec',
    opts.tcp === true ? '+tcp' : '+notcp',
  ];
  if (opts.tcp !== true) args.push('+ignore');
  if (opts.noEdns === true) {
    args.push('+noedns');
    if (opts.dnssec === true) throw new Error('query: dnssec (DO bit) needs EDNS; do not combine with noEdns');
  } else {
    args.push(`+edns=${opts.ednsVersion ?? 0}`, `+bufsize=${opts.bufsize ?? 1232}`);
    if (opts.dnssec === true) args.push('+dnssec');
    if (opts.nsid === true) args.push('+nsid');
  }
  args.push(qname, qtype);
  return args;
}

/** Sends one query with kdig and returns the parsed, normalised response. */
export async function query(server: Server, qname: string, qtype: string, opts: QueryOptions = {}): Promise<Answer> {
  const args = kdigQueryArgs(server, qname, qtype, opts);
  const out = await kdig(args, { timeoutMs: ((opts.timeoutSec ?? 2) * ((opts.retries ?? 1) + 1) + 5) * 1000 });
  try {
    return parseKdig(out);
  } catch (e) {
    throw new Error(`kdig ${args.join(' ')}: ${(e as Error).message}`);
  }
}

/**
 * The part of an Answer two servers must agree on: rcode, flags and the three sections, each section sorted
 * (order within a section is not significant). The OPT record is left out.
 */
export function comparable(a: Answer): Pick<Answer, 'rcode' | 'flags' | 'answer' | 'authority' | 'additional'> {
  const sorted = (xs: readonly string[]): string[] => [...xs].sort();
  return {
    rcode: a.rcode,
    flags: [...a.flags],
    answer: sorted(a.answer),
    authority: sorted(a.authority),
    additional: sorted(a.additional),
  };
}
