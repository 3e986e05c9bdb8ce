/**
 * AXFR over TCP (RFC 5936) and IXFR (RFC 1995, ixfr.ts): who may transfer a zone (its `transfer.allow`, RFC 5936 §6), and the answer, the
 * signed zone as the current snapshot serves it (every RRset with its RRSIGs, the NSEC chain, the DNSKEYs,
 * glue and occluded data; zone/export.ts enumerates it exactly as `zone export --signed` prints it). A request
 * with TSIG is verified first (tsig-query.ts) and then every message of the answer is signed, each chained to
 * the MAC before it (RFC 8945 §5.3.1, §4.3.3). A request that is not allowed gets REFUSED and one log line.
 * IXFR is checked the same way; it is answered with our SOA alone when the client is up to date or asked over
 * UDP, with the condensed difference from the journal (journal.ts) when it has one from the client's serial,
 * else with the whole zone as AXFR sends it (RFC 1995 §4 allows that in place of differences).
 * Anything that is not a well-formed transfer query is left to the handler (null). Each request for a zone we
 * serve is reported to `onCount` (the /metrics counters) where its answer is decided, with its kind and result.
 */
import type { Logger } from '../log.js';
import { signMessage, type KeyLookup, type TsigChain, type TsigKey } from '../dnssec/tsig.js';
import { decodeMessage, type Message } from '../wire/message.js';
import { FLAG_CD, FLAG_QR, FLAG_RD } from '../wire/header.js';
import { nameToText } from '../wire/name.js';
import { CLASS_IN, OPCODE, RCODE, T } from '../wire/types.js';
import { exportRRsets } from '../zone/export.js';
import { soaSerial } from '../zone/build.js';
import { prefixContains } from '../zone/prefix.js';
import type { TransferSettings } from '../zone/settings.js';
import { axfrMessages, wireMessages } from './axfr.js';
import { firstQuestionEnd, type Snapshot } from './handler.js';
import { encodeResponse } from './respond.js';
import { answersSoaOnly, clientSerial, ixfrRecords, soaOnlyAnswer } from './ixfr.js';
import type { Journal } from './journal.js';
import type { Handler, Remote, StreamHandler, Transport } from './transport.js';
import { checkTsig, signAnswer, tsigReserve, type SignedQuery } from './tsig-query.js';

export interface TransferOptions {
  readonly current: () => Snapshot;
  readonly lookup: () => KeyLookup;
  readonly logger: Logger;
  /** The clock in milliseconds. */
  readonly now: () => number;
  /** The differences between served versions; without it every IXFR that is not up to date gets the zone. */
  readonly journal?: Journal;
  /**
   * Told of each transfer request for a zone we serve (origin text), with its kind and result: at once for a
   * one-message answer, when the last message is taken (or the stream fails or is closed early) for a stream.
   */
  readonly onCount?: (zone: string, kind: TransferKind, result: TransferResult) => void;
}

/** The question type of a transfer request (an IXFR answered AXFR-style is still `ixfr`). */
export type TransferKind = 'axfr' | 'ixfr';

/**
 * What a transfer request got: `ok` the IXFR difference (RFC 1995 §4), `full` the whole zone (AXFR, or IXFR
 * answered AXFR-style), `current` our SOA alone (IXFR up to date, or over UDP), `refused` not in
 * transfer.allow, `notauth` its TSIG did not verify (RFC 8945 §5.2), `formerr` an IXFR without the client's
 * SOA, `error` a stream that failed or was closed before its last message.
 */
export const TRANSFER_RESULTS = ['ok', 'full', 'current', 'refused', 'notauth', 'formerr', 'error'] as const;
export type TransferResult = (typeof TRANSFER_RESULTS)[number];

/** The QTYPE of the first question, read without decoding (most queries are not transfers); 0 when unreadable. */
function firstQtype(query: Uint8Array): number {
  const end = firstQuestionEnd(query);
  return end > 12 ? (query[end - 4]! << 8) | query[end - 3]! : 0;
}

/** Whether a client (address, TSIG key name or null) matches an entry of `transfer.allow`. */
export function transferAllowed(t: TransferSettings, address: string, key: string | null): boolean {
  return t.allow.some(
    (a) => (a.key === undefined || a.key === key) && (a.address === undefined || prefixContains(a.address, address)),
  );
}

type Stream = Iterable<Uint8Array> | null;

/** AXFR and IXFR over TCP: the stream handler of the TCP listener. */
export function createTransfers(o: TransferOptions): StreamHandler {
  return (query, remote) => {
    if (query.length < 12 || query[2]! & 0x80) return null;
    const qtype = firstQtype(query);
    return qtype === T.AXFR || qtype === T.IXFR ? transfer(o, query, remote, 'tcp') : null;
  };
}

/**
 * IXFR over UDP in front of `handler` (RFC 1995 §4): the same checks as over TCP, then our SOA alone, so the
 * client asks again over TCP. Every other query, AXFR included (NOTIMP over UDP), goes to `handler`.
 */
export function withUdpIxfr(handler: Handler, o: TransferOptions): Handler {
  return (query, transport, remote) => {
    if (transport !== 'udp' || query.length < 12 || query[2]! & 0x80 || firstQtype(query) !== T.IXFR) {
      return handler(query, transport, remote);
    }
    const out = transfer(o, query, remote, 'udp');
    if (out === null) return handler(query, transport, remote);
    const first = out[Symbol.iterator]().next(); // over UDP every answer is one message
    return first.done ? null : first.value;
  };
}

/**
 * One AXFR or IXFR request: TSIG, the zone, transfer.allow, then the answer. Null leaves the query to the
 * handler (not a well-formed transfer query: its FORMERR, BADVERS, REFUSED for another class).
 */
function transfer(o: TransferOptions, query: Uint8Array, remote: Remote, transport: Transport): Stream {
  const now = Math.floor(o.now() / 1000);
  const c = checkTsig(query, o.lookup(), now);
  if (c.kind === 'failed') {
    o.logger.warn('transfer-tsig-failed', { client: remote.address, reason: c.reason });
    const zone = servedZone(query, o.current());
    if (zone !== null) o.onCount?.(zone, firstQtype(query) === T.IXFR ? 'ixfr' : 'axfr', 'notauth');
    return [c.answer];
  }
  const signed = c.kind === 'signed' ? c.signed : null;
  let msg: Message;
  try {
    msg = decodeMessage(signed ? signed.query : query);
  } catch {
    return null; // FORMERR is the handler's
  }
  const q = msg.questions[0];
  const opcode = (msg.flags >>> 11) & 0xf;
  if (opcode !== OPCODE.QUERY || msg.questions.length !== 1 || !q || q.class !== CLASS_IN) return null;
  if (msg.edns && msg.edns.version > 0) return null; // BADVERS is the handler's
  const snap = o.current();
  const zone = snap.zones.get(q.name);
  const keyName = signed ? nameToText(signed.key.name).toLowerCase() : null;
  const reply = (rcode: number): Uint8Array[] => [answerOnly(msg, rcode, signed, now)];
  // RFC 5936 §2.2.1: not a zone of ours (the name is not an apex we serve): NOTAUTH.
  if (!zone) return reply(RCODE.NOTAUTH);
  const zoneText = nameToText(zone.origin);
  const kind: TransferKind = q.type === T.IXFR ? 'ixfr' : 'axfr';
  const count = (result: TransferResult): void => o.onCount?.(zoneText, kind, result);
  if (!transferAllowed(zone.transfer, remote.address, keyName)) {
    o.logger.warn('transfer-refused', { client: remote.address, key: keyName ?? 'none', zone: zoneText });
    count('refused');
    return reply(RCODE.REFUSED);
  }
  const sec = snap.security.get(zone);
  const who = { client: remote.address, key: keyName ?? 'none', zone: zoneText };
  const reserve = signed ? tsigReserve(signed.key) : 0;
  if (q.type === T.IXFR) {
    // RFC 1995 §3: the client's version is the SOA in the authority section; without it the request is
    // malformed. A well-formed allowed IXFR is never refused: secondaries stop asking after an error.
    const serial = clientSerial(msg, zone);
    if (serial === null) {
      o.logger.warn('ixfr-malformed', { ...who, reason: 'no SOA of the zone in the authority section' });
      count('formerr');
      return reply(RCODE.FORMERR);
    }
    if (answersSoaOnly(serial, zone, transport)) {
      o.logger.info('transfer', { ...who, signed: !!sec, qtype: 'IXFR', serial, answer: 'soa', transport });
      const bytes = soaOnlyAnswer(msg, zone, transport, reserve);
      count('current');
      return [signed ? signAnswer(bytes, signed, now) : bytes];
    }
    const d = o.journal?.since(zoneText, serial, soaSerial(zone.soa.rdatas[0]!)) ?? null;
    if (d) {
      o.logger.info('transfer', { ...who, signed: !!sec, qtype: 'IXFR', serial, answer: 'ixfr', size: d.size });
      const messages = wireMessages(ixfrRecords(d), {
        id: msg.id,
        flags: msg.flags & (FLAG_RD | FLAG_CD),
        qname: q.name,
        qtype: T.IXFR,
        edns: msg.edns ? { dnssecOk: msg.edns.dnssecOk, extRcode: 0 } : null,
        reserve,
      });
      return counted(signed ? signEach(messages, signed.key, signed.mac, o.now) : messages, count, 'ok');
    }
    o.logger.info('transfer', { ...who, signed: !!sec, qtype: 'IXFR', serial, answer: 'axfr' });
  } else {
    o.logger.info('transfer', { ...who, signed: !!sec });
  }
  const messages = axfrMessages(exportRRsets(zone, sec ? (node) => sec.addedAt(node) : []), zone.soa, {
    id: msg.id,
    flags: msg.flags & (FLAG_RD | FLAG_CD),
    qname: q.name,
    qtype: q.type,
    edns: msg.edns ? { dnssecOk: msg.edns.dnssecOk, extRcode: 0 } : null,
    reserve,
  });
  return counted(signed ? signEach(messages, signed.key, signed.mac, o.now) : messages, count, 'full');
}

/**
 * The messages of a stream, counted once: with `result` when the last one has been taken, with `error` when
 * producing one throws or the consumer closes the stream early (return()) - a half transfer is not a transfer.
 */
function* counted(
  messages: Iterable<Uint8Array>,
  count: (r: TransferResult) => void,
  result: TransferResult,
): Generator<Uint8Array> {
  let outcome: TransferResult = 'error';
  try {
    yield* messages;
    outcome = result;
  } finally {
    count(outcome);
  }
}

/** The origin text of the zone a request asks for when we serve it, else null (a name we do not serve). */
function servedZone(query: Uint8Array, snap: Snapshot): string | null {
  try {
    const q = decodeMessage(query).questions[0];
    const zone = q ? snap.zones.get(q.name) : undefined;
    return zone ? nameToText(zone.origin) : null;
  } catch {
    return null;
  }
}

/** Signs every message of a stream: the first chained to the request (§4.3.2), the others to the one before. */
function* signEach(
  messages: Iterable<Uint8Array>,
  key: TsigKey,
  requestMac: Uint8Array,
  nowMs: () => number,
): Generator<Uint8Array> {
  let chain: TsigChain = { mac: requestMac };
  for (const m of messages) {
    const s = signMessage(m, key, { time: Math.floor(nowMs() / 1000), chain });
    chain = { mac: s.mac, subsequent: true };
    yield s.bytes;
  }
}

/** A one-message answer (REFUSED, NOTAUTH): the question echoed, our OPT when the request had EDNS, signed. */
function answerOnly(msg: Message, rcode: number, signed: SignedQuery | null, now: number): Uint8Array {
  const q = msg.questions[0]!;
  const { bytes } = encodeResponse({
    id: msg.id,
    flags: FLAG_QR | (msg.flags & (FLAG_RD | FLAG_CD)),
    rcode,
    qname: q.name,
    qtype: q.type,
    qclass: q.class,
    answer: [],
    authority: [],
    additional: [],
    edns: msg.edns ? { dnssecOk: msg.edns.dnssecOk, extRcode: 0 } : null,
    limit: 65535,
  });
  return signed ? signAnswer(bytes, signed, now) : bytes;
}
