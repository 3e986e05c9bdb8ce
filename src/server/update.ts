/**
 * Dynamic update (RFC 2136, opcode UPDATE) for the names a zone's `update:` policy opens to a TSIG key: the
 * `_acme-challenge` TXT records of ACME DNS-01 (RFC 8555 §8.4). In order: the zone section (§3.1: exactly one
 * SOA-type record of class IN naming a served zone, else FORMERR / NOTAUTH; NOTIMP for a zone without `update:`),
 * a TSIG key (an unsigned update is REFUSED; a bad TSIG never gets here, tsig-query.ts answers it), a rate limit
 * per key, the prerequisites (§3.2, update-prereq.ts), the prescan and permission check (§3.4.1, §3.3,
 * update-apply.ts) before anything changes, then all changes at once (§3.7): checked by building the zone,
 * written atomically to the state directory (§3.5: before the answer), and published as one new signed version
 * through the one publish path.
 * It all runs in one synchronous call, so no query and no other update sees half of an update.
 * An update that carried an OPT RR is answered with ours (RFC 6891 §7); withTsig signs the answer afterwards, so
 * the TSIG RR stays last, after the OPT (RFC 8945 §5.1). Each answer's outcome is reported (`onResult`) from
 * the fixed set UPDATE_RESULTS, for the counters of /metrics.
 */
import type { Logger } from '../log.js';
import type { TsigKey } from '../dnssec/tsigalg.js';
import type { DynamicRecord } from '../state/dynamic.js';
import { decodeMessage, type Message } from '../wire/message.js';
import { nameToText, parseName } from '../wire/name.js';
import { rdataFromText, rdataToText } from '../wire/rdata.js';
import { CLASS_IN, OPCODE, RCODE, T, rcodeToText, typeFromText, typeToText } from '../wire/types.js';
import type { Zone } from '../zone/zone.js';
import { bareResponse, firstQuestionEnd, type Responder, type Snapshot } from './handler.js';
import { OPT_SIZE, writeOpt } from './respond.js';
import { checkPrerequisites } from './update-prereq.js';
import { applyUpdates, oversized, prescan, refusal, type WorkRecord } from './update-apply.js';

/**
 * What became of an update, from a fixed set (a sender must not choose how many series /metrics has):
 * `applied` (NOERROR, a new version), `unchanged` (NOERROR, nothing to change), `refused` (unsigned, a key or
 * change the zone's `update:` does not allow, over a limit, or a zone that would not build), `ratelimited` (the
 * key's rate), `notauth` (a zone not served here), `notimp` (a zone without `update:`), `prereq-failed`
 * (§3.2), `notzone` (an owner outside the zone), `formerr` (an unreadable message or zone section, a malformed
 * update section), `badvers` (an EDNS version above 0, RFC 6891 §6.1.3) and `servfail` (the state directory
 * failed).
 */
export const UPDATE_RESULTS = [
  'applied',
  'unchanged',
  'refused',
  'ratelimited',
  'notauth',
  'notimp',
  'prereq-failed',
  'notzone',
  'formerr',
  'badvers',
  'servfail',
] as const;
export type UpdateResult = (typeof UPDATE_RESULTS)[number];

/** The update was understood and allowed but the zone would not build with it (a CNAME beside other data). */
export class UpdateRejected extends Error {}

export interface UpdaterOptions {
  readonly current: () => Snapshot;
  /** The zone's dynamic records now (state/dynamic.ts); throws when they cannot be read. */
  readonly records: (zone: Zone) => readonly DynamicRecord[];
  /**
   * Makes `records` the zone's dynamic records: checked (throws UpdateRejected), written to stable storage
   * (throws otherwise), published. Nothing changes when it throws.
   */
  readonly commit: (zone: Zone, records: readonly DynamicRecord[]) => void;
  readonly logger: Logger;
  readonly now: () => number;
  /** Updates per key: a burst, then so many per second (default 60, then 1 a second). */
  readonly rate?: { readonly burst: number; readonly perSecond: number };
  /** Told every answer's outcome: `zone` is the origin of a served zone, or undefined when none was named. */
  readonly onResult?: (zone: string | undefined, result: UpdateResult) => void;
}

/** Answers one UPDATE message (TSIG already verified and removed: `key` is its key, or undefined). */
export type Updater = (query: Uint8Array, key: TsigKey | undefined) => Uint8Array;

export function createUpdater(o: UpdaterOptions): Updater {
  const rate = o.rate ?? { burst: 60, perSecond: 1 };
  const buckets = new Map<string, { tokens: number; at: number }>();
  /** A token of the key's bucket, or false when it has none left. */
  const take = (key: string): boolean => {
    const now = o.now() / 1000;
    const b = buckets.get(key) ?? { tokens: rate.burst, at: now };
    b.tokens = Math.min(rate.burst, b.tokens + (now - b.at) * rate.perSecond);
    b.at = now;
    buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  const report = o.onResult ?? ((): void => {});
  return (query, key) => {
    let msg: Message;
    try {
      msg = decodeMessage(query);
    } catch {
      report(undefined, 'formerr');
      return bareResponse(query, RCODE.FORMERR, 12);
    }
    // RFC 6891 §7: a request with an OPT RR gets ours back (DO copied, RFC 3225 §3).
    const edns = msg.edns;
    const answer = (rcode: number, extRcode = 0): Uint8Array => {
      const bare = bareResponse(query, rcode, firstQuestionEnd(query));
      if (!edns) return bare;
      const out = new Uint8Array(bare.length + OPT_SIZE);
      out.set(bare, 0);
      out[11] = 1; // ARCOUNT: the OPT RR
      writeOpt(out, bare.length, { dnssecOk: edns.dnssecOk, extRcode });
      return out;
    };
    // RFC 6891 §6.1.3: an EDNS version we do not speak is BADVERS (extended rcode 1, header rcode 0), no change.
    if (edns && edns.version > 0) {
      report(undefined, 'badvers');
      return answer(RCODE.NOERROR, 1);
    }
    const zq = msg.questions[0];
    // §3.1.1: one zone, of type SOA, in the zone section.
    if (msg.questions.length !== 1 || !zq || zq.type !== T.SOA || zq.class !== CLASS_IN) {
      report(undefined, 'formerr');
      return answer(RCODE.FORMERR);
    }
    const zone = o.current().zones.get(zq.name);
    const zoneText = zone ? nameToText(zone.origin) : undefined;
    const keyName = key ? nameToText(key.name).toLowerCase() : undefined;
    const said = (rcode: number, reason: string, result: UpdateResult): Uint8Array => {
      // Anyone can send an unsigned UPDATE: those are logged at debug level, so they cannot flood the log.
      o.logger[keyName ? 'info' : 'debug']('update-refused', {
        zone: nameToText(zq.name),
        key: keyName ?? null,
        rcode: rcodeToText(rcode),
        reason,
      });
      report(zoneText, result);
      return answer(rcode);
    };
    // §3.1.2: a zone this server is not authoritative for.
    if (!zone) return said(RCODE.NOTAUTH, 'zone not served here', 'notauth');
    // A zone without `update:` does not take updates at all: NOTIMP, as for a server without UPDATE (§3.8).
    if (zone.update.length === 0) return said(RCODE.NOTIMP, 'the zone has no update:', 'notimp');
    if (!keyName) return said(RCODE.REFUSED, 'not signed with a TSIG key', 'refused');
    if (!zone.update.some((g) => g.key === keyName))
      return said(RCODE.REFUSED, "key not in the zone's update:", 'refused');
    if (!take(keyName)) return said(RCODE.REFUSED, 'rate limit of the key', 'ratelimited');
    const pre = checkPrerequisites(zone, msg.answer);
    if (pre !== RCODE.NOERROR) {
      const result = pre === RCODE.FORMERR ? 'formerr' : pre === RCODE.NOTZONE ? 'notzone' : 'prereq-failed';
      return said(pre, 'prerequisite', result);
    }
    const scan = prescan(zone, msg.authority);
    if (scan !== RCODE.NOERROR) return said(scan, 'update section', scan === RCODE.NOTZONE ? 'notzone' : 'formerr');
    const refused = refusal(zone, keyName, msg.authority);
    if (refused) return said(RCODE.REFUSED, refused, 'refused');
    let before: WorkRecord[];
    try {
      before = o.records(zone).map(toWork);
    } catch (e) {
      return said(RCODE.SERVFAIL, `dynamic records unreadable: ${String(e)}`, 'servfail');
    }
    const after = applyUpdates(zone, keyName, before, msg.authority);
    const big = oversized(after);
    if (big) return said(RCODE.REFUSED, big, 'refused');
    const records = after.map(fromWork);
    if (JSON.stringify(records) === JSON.stringify(before.map(fromWork))) {
      report(zoneText, 'unchanged');
      return answer(RCODE.NOERROR);
    }
    try {
      o.commit(zone, records);
    } catch (e) {
      const rejected = e instanceof UpdateRejected;
      return said(rejected ? RCODE.REFUSED : RCODE.SERVFAIL, (e as Error).message, rejected ? 'refused' : 'servfail');
    }
    o.logger.info('update-applied', { zone: zoneText, key: keyName, changes: msg.authority.length });
    report(zoneText, 'applied');
    return answer(RCODE.NOERROR);
  };
}

function toWork(r: DynamicRecord): WorkRecord {
  const type = typeFromText(r.type);
  return { owner: parseName(r.name), type, ttl: r.ttl, rdata: rdataFromText(type, r.data, null) };
}

function fromWork(r: WorkRecord): DynamicRecord {
  return { name: nameToText(r.owner), type: typeToText(r.type), ttl: r.ttl, data: rdataToText(r.type, r.rdata) };
}

/** The responder with UPDATE messages (opcode 5) taken before it; everything else goes on unchanged. */
export function withUpdates(responder: Responder, update: Updater): Responder {
  return (query, transport, remote, reserve, key) => {
    if (query.length >= 12 && !(query[2]! & 0x80) && ((query[2]! >>> 3) & 0xf) === OPCODE.UPDATE)
      return update(query, key);
    return responder(query, transport, remote, reserve, key);
  };
}
