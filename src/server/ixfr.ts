/**
 * IXFR (RFC 1995) answers that need no journal: the client's serial read from the SOA in the authority section
 * of its request (§3), and the single-SOA answer that tells a client it is up to date (§4) or, over UDP, that it
 * should ask again over TCP (§4: "the query is responded to with a single SOA record of the server's current
 * version"); the records of an incremental answer (§4) from a journal difference. Everything else is the
 * AXFR-style answer of transfer.ts, which §4 allows in place of differences.
 */
import type { Message } from '../wire/message.js';
import { FLAG_AA, FLAG_CD, FLAG_QR, FLAG_RD } from '../wire/header.js';
import { nameEquals } from '../wire/name.js';
import { serialDiff } from '../wire/serial.js';
import { CLASS_IN, T } from '../wire/types.js';
import { soaSerial } from '../zone/build.js';
import type { Zone } from '../zone/zone.js';
import { sizeLimit } from './handler.js';
import { encodeResponse } from './respond.js';
import { recordBytes, type Difference } from './journal.js';
import type { Transport } from './transport.js';

/** The smallest SOA rdata: two root names and five 32-bit fields (RFC 1035 §3.3.13). */
const MIN_SOA_RDATA = 22;

/**
 * The serial of the SOA the client holds (RFC 1995 §3: the authority section carries the SOA of its version,
 * owned by the zone's apex), or null when the request has none: a malformed IXFR.
 */
export function clientSerial(msg: Message, zone: Zone): number | null {
  const soa = msg.authority.find(
    (rr) => rr.type === T.SOA && rr.class === CLASS_IN && nameEquals(rr.name, zone.origin),
  );
  return soa && soa.rdata.length >= MIN_SOA_RDATA ? soaSerial(soa.rdata) : null;
}

/**
 * Whether the answer is our SOA alone: over UDP always (§4, the client falls back to TCP), over TCP when the
 * client's serial is equal to or newer than ours in serial arithmetic (RFC 1982; §4 "the version is up to
 * date"). A serial RFC 1982 cannot order against ours is not newer: that client gets the whole zone.
 */
export function answersSoaOnly(client: number, zone: Zone, transport: Transport): boolean {
  return transport === 'udp' || serialDiff(client, soaSerial(zone.soa.rdatas[0]!)) >= 0;
}

/**
 * The single-SOA answer (authoritative, question echoed, our OPT when the request had EDNS), leaving `reserve`
 * octets for a TSIG RR. Sized for the transport like any other answer (RFC 6891 §6.2.5).
 */
export function soaOnlyAnswer(msg: Message, zone: Zone, transport: Transport, reserve: number): Uint8Array {
  const q = msg.questions[0]!;
  const edns = msg.edns;
  return encodeResponse({
    id: msg.id,
    flags: FLAG_QR | FLAG_AA | (msg.flags & (FLAG_RD | FLAG_CD)),
    rcode: 0,
    qname: q.name,
    qtype: q.type,
    qclass: q.class,
    answer: [{ owner: zone.origin, rrset: zone.soa }],
    authority: [],
    additional: [],
    edns: edns ? { dnssecOk: edns.dnssecOk, extRcode: 0 } : null,
    limit: sizeLimit(transport, edns !== null, edns ? edns.udpSize : 512) - reserve,
  }).bytes;
}

/**
 * The records of an incremental answer (RFC 1995 §4): our SOA, then the difference (the client's SOA, the
 * deleted records, our SOA, the added records), then our SOA again to close the answer.
 */
export function* ixfrRecords(d: Difference): Generator<Uint8Array> {
  const ours = recordBytes(d.toSoa);
  yield ours;
  yield recordBytes(d.fromSoa);
  for (const r of d.deleted) yield recordBytes(r);
  yield ours;
  for (const r of d.added) yield recordBytes(r);
  yield ours;
}
