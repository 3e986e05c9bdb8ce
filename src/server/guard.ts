/**
 * What stands between the internet and the answering code, around the query handler: the query ACL
 * (`--allow-query`: REFUSED to everyone else), DNS cookies (RFC 7873, RFC 9018; cookies.ts) and response rate
 * limiting over UDP (rrl.ts), with their counters for /metrics. Transfers (AXFR over TCP, IXFR) and NOTIFY are
 * not behind it: they keep their own ACLs (`transfer.allow`, transfer.ts).
 * A query's COOKIE option is taken out before the handler sees it (the common query shape and the response
 * cache stay in use) and ours is put into the answer: the client cookie and a server cookie, the one the client
 * sent while it is fresh (RFC 9018 §4.3), else a new one. A bad or stale server cookie is answered normally with
 * a new one (RFC 7873 §5.2.3, §5.2.4); only a COOKIE option of a malformed length gets FORMERR (§5.2.2). A client
 * whose server cookie verifies has shown that it receives our answers at its address: it is not rate limited.
 */
import { RCODE } from '../wire/types.js';
import type { AddressPrefix } from '../zone/settings.js';
import { addressBytes } from '../zone/prefix.js';
import { bareResponse, firstQuestionEnd, type ResponseNote } from './handler.js';
import {
  checkCookie,
  findCookie,
  optAt,
  serverCookie,
  stripCookie,
  withCookie,
  type CookieVerdict,
} from './cookies.js';
import type { CookieSecrets } from './cookie-secret.js';
import { EDNS_UDP_SIZE, OPT_SIZE, writeOpt } from './respond.js';
import { RateLimiter, slipped, type RrlOptions } from './rrl.js';
import type { Handler } from './transport.js';

export interface GuardOptions {
  /** Only these sources are answered (REFUSED to the rest); absent: everyone. */
  readonly allowQuery?: readonly AddressPrefix[];
  /** Rate limiting, and the sources it never applies to; absent or rate 0: off. */
  readonly rrl?: RrlOptions & { readonly exempt: readonly AddressPrefix[] };
  /** The server cookie secrets; absent: COOKIE options are ignored (answered as without one). */
  readonly cookies?: CookieSecrets;
  /** Filled in by the handler (handler.ts): which wildcard answered, so that RRL counts per wildcard. */
  readonly note?: ResponseNote;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly counters: GuardCounters;
}

const VERDICTS: readonly CookieVerdict[] = ['client-only', 'valid', 'renew', 'invalid'];

/** Counters of what the guard did, rendered into /metrics (fixed label sets). */
export class GuardCounters {
  rrlDropped = 0;
  rrlSlipped = 0;
  aclRefused = 0;
  cookieMalformed = 0;
  readonly cookies = new Map<CookieVerdict, number>(VERDICTS.map((v) => [v, 0]));

  render(): string[] {
    return [
      '# HELP dane_ns_rrl_total UDP responses withheld by response rate limiting: dropped, or slipped (sent truncated).',
      '# TYPE dane_ns_rrl_total counter',
      `dane_ns_rrl_total{action="dropped"} ${this.rrlDropped}`,
      `dane_ns_rrl_total{action="slipped"} ${this.rrlSlipped}`,
      '# HELP dane_ns_query_acl_refused_total Queries refused because their source is outside --allow-query.',
      '# TYPE dane_ns_query_acl_refused_total counter',
      `dane_ns_query_acl_refused_total ${this.aclRefused}`,
      '# HELP dane_ns_cookies_total Queries with a COOKIE option, by what their server cookie was (RFC 7873).',
      '# TYPE dane_ns_cookies_total counter',
      ...VERDICTS.map((v) => `dane_ns_cookies_total{result="${v}"} ${this.cookies.get(v)}`),
      `dane_ns_cookies_total{result="malformed"} ${this.cookieMalformed}`,
    ];
  }
}

/** Loopback: not rate limited unless the operator says otherwise (a local resolver or monitoring asks a lot). */
export const LOOPBACK: readonly AddressPrefix[] = [
  { family: 4, bytes: Uint8Array.of(127, 0, 0, 0), length: 8, text: '127.0.0.0/8' },
  { family: 6, bytes: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), length: 128, text: '::1/128' },
];

/** Whether `ip` (4 or 16 octets) is inside one of `prefixes`. */
export function inPrefixes(prefixes: readonly AddressPrefix[], ip: Uint8Array): boolean {
  next: for (const p of prefixes) {
    if (p.bytes.length !== ip.length) continue;
    for (let bit = 0; bit < p.length; bit += 8) {
      const mask = (0xff << (8 - Math.min(8, p.length - bit))) & 0xff;
      if ((ip[bit >> 3]! & mask) !== p.bytes[bit >> 3]!) continue next;
    }
    return true;
  }
  return false;
}

/** A bare answer with our OPT when the query had one (RFC 6891 §7), DO copied (RFC 3225 §3). */
function withOurOpt(bare: Uint8Array, query: Uint8Array): Uint8Array {
  const o = optAt(query);
  if (o < 0) return bare;
  const out = Buffer.alloc(bare.length + OPT_SIZE);
  out.set(bare, 0);
  out[11] = 1;
  writeOpt(out, bare.length, { dnssecOk: (query[o + 6]! & 0x80) !== 0, extRcode: 0 });
  return out;
}

/** The handler behind the query ACL, cookies and rate limiting. */
export function withGuard(handler: Handler, opts: GuardOptions): Handler {
  const { allowQuery, cookies, counters, now } = opts;
  const limiter = opts.rrl && opts.rrl.rate > 0 ? new RateLimiter(opts.rrl, now) : null;
  const exempt = opts.rrl?.exempt ?? [];
  const note: ResponseNote = opts.note ?? { wildcard: null };
  // The same client shows up again and again under load: keep its address octets.
  let lastText = '';
  let lastIp: Uint8Array | null = null;
  const ipOf = (text: string): Uint8Array | null => {
    if (text !== lastText) {
      let b = addressBytes(text);
      // An IPv4 client on a dual-stack socket (RFC 4291 §2.5.5.2) is the IPv4 address it is.
      if (b && b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
        b = b.slice(12);
      lastText = text;
      lastIp = b;
    }
    return lastIp;
  };

  return (query, transport, remote) => {
    // Silence (a response, a runt) is the handler's to decide; an address we cannot read is not ours to judge.
    const ip = query.length >= 12 && !(query[2]! & 0x80) ? ipOf(remote.address) : null;
    if (!ip) return handler(query, transport, remote);
    let out: Uint8Array | null;
    let proven = false;
    // Cleared first: an answer that does not come from the handler (REFUSED here, an UPDATE) has no wildcard.
    note.wildcard = null;
    if (allowQuery && !inPrefixes(allowQuery, ip)) {
      counters.aclRefused++;
      out = withOurOpt(bareResponse(query, RCODE.REFUSED, firstQuestionEnd(query)), query);
    } else {
      const c = cookies ? findCookie(query) : null;
      if (c === 'malformed') {
        counters.cookieMalformed++;
        out = bareResponse(query, RCODE.FORMERR, firstQuestionEnd(query));
      } else if (c && cookies) {
        const data = query.subarray(c.optionAt + 4, c.optionAt + 4 + c.length);
        const t = Math.floor(now() / 1000);
        const verdict = checkCookie(data, ip, cookies.secrets(t), t);
        counters.cookies.set(verdict, counters.cookies.get(verdict)! + 1);
        proven = verdict === 'valid' || verdict === 'renew';
        const option = new Uint8Array(24);
        option.set(data.subarray(0, 8), 0);
        option.set(verdict === 'valid' ? data.subarray(8, 24) : serverCookie(cookies.current(t), data, ip, t), 8);
        const limit =
          transport === 'tcp'
            ? 65535
            : Math.max(512, Math.min((query[c.sizeAt]! << 8) | query[c.sizeAt + 1]!, EDNS_UDP_SIZE));
        const answer = handler(stripCookie(query, c), transport, remote);
        out = answer === null ? null : (withCookie(answer, option, limit) ?? answer);
      } else out = handler(query, transport, remote);
    }
    if (out === null || transport !== 'udp' || !limiter || proven || inPrefixes(exempt, ip)) return out;
    const action = limiter.decide(ip, out, note.wildcard);
    if (action === 'pass') return out;
    if (action === 'drop') {
      counters.rrlDropped++;
      return null;
    }
    counters.rrlSlipped++;
    return slipped(out);
  };
}
