import { describe, expect, it } from 'vitest';
import { makeSnapshot } from '../../src/server/handler.js';
import { createUpdater, UpdateRejected, withUpdates, type UpdaterOptions } from '../../src/server/update.js';
import type { DynamicRecord } from '../../src/state/dynamic.js';
import type { TsigKey } from '../../src/dnssec/tsigalg.js';
import { makeEdns, type Edns } from '../../src/wire/edns.js';
import { decodeMessage, encodeMessage, type RR } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { CLASS_ANY, CLASS_IN, OPCODE, RCODE, T } from '../../src/wire/types.js';
import { ZoneSet } from '../../src/zone/set.js';
import { rr, txt, updZone } from './update-fixture.js';
import { makeZone } from './zone-text.js';

/** The UPDATE path (RFC 2136) over a zone in memory: rcodes, and that a refusal commits nothing. */
const key = (name: string): TsigKey => ({
  name: parseName(name),
  algorithm: 'hmac-sha256',
  secret: new Uint8Array(32),
});
const ACME = key('acme.');

function setup(opts: Partial<UpdaterOptions> = {}) {
  let records: readonly DynamicRecord[] = [txt('_acme-challenge', 'old')];
  let snap = makeSnapshot(new ZoneSet([updZone(records)]));
  const commits: (readonly DynamicRecord[])[] = [];
  let clock = 0;
  const update = createUpdater({
    current: () => snap,
    records: () => records,
    commit: (_zone, next) => {
      commits.push(next);
      records = next;
      snap = makeSnapshot(new ZoneSet([updZone(records)]));
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} } as unknown as UpdaterOptions['logger'],
    now: () => clock,
    ...opts,
  });
  return { update, commits, records: () => records, tick: (ms: number) => (clock += ms) };
}

function message(
  updates: RR[],
  prereqs: RR[] = [],
  zone = 'example.com.',
  ztype: number = T.SOA,
  edns: Edns | null = null,
): Uint8Array {
  return encodeMessage({
    id: 7,
    flags: OPCODE.UPDATE << 11,
    questions: [{ name: parseName(zone), type: ztype, class: CLASS_IN }],
    answer: prereqs,
    authority: updates,
    additional: [],
    edns,
  }).bytes;
}

const rcode = (bytes: Uint8Array): number => decodeMessage(bytes).flags & 0xf;
const add = (owner: string, value: string) => rr(owner, 'TXT', CLASS_IN, 60, `"${value}"`);

describe('createUpdater', () => {
  it('applies an allowed change and answers NOERROR with the opcode and zone section echoed', () => {
    const s = setup();
    const out = s.update(message([add('_acme-challenge', 'new')]), ACME);
    const m = decodeMessage(out);
    expect([m.id, (m.flags >>> 11) & 0xf, m.flags & 0xf, m.questions[0]?.type]).toEqual([7, OPCODE.UPDATE, 0, T.SOA]);
    expect(s.records().map((r) => r.data)).toEqual(['"old"', '"new"']);
  });

  it('refuses without a key, with a key the zone does not name, and for a name or type not allowed', () => {
    const s = setup();
    expect(rcode(s.update(message([add('_acme-challenge', 'x')]), undefined))).toBe(RCODE.REFUSED);
    expect(rcode(s.update(message([add('_acme-challenge', 'x')]), key('xfr.')))).toBe(RCODE.REFUSED);
    expect(rcode(s.update(message([add('www', 'x')]), ACME))).toBe(RCODE.REFUSED);
    expect(rcode(s.update(message([rr('_acme-challenge', 'A', CLASS_IN, 60, '192.0.2.1')]), ACME))).toBe(RCODE.REFUSED);
    expect(s.commits).toEqual([]);
  });

  it('a message mixing an allowed and a refused change changes nothing (§3.3, §3.7)', () => {
    const s = setup();
    expect(rcode(s.update(message([add('_acme-challenge', 'ok'), add('mail', 'no')]), ACME))).toBe(RCODE.REFUSED);
    expect(s.commits).toEqual([]);
  });

  it('a zone without update: answers NOTIMP, whatever the key', () => {
    const zone = makeZone('plain.example.', 1);
    const update = createUpdater({
      current: () => makeSnapshot(new ZoneSet([zone])),
      records: () => [],
      commit: () => {
        throw new Error('no commit expected');
      },
      logger: { debug() {}, info() {}, warn() {}, error() {} } as unknown as UpdaterOptions['logger'],
      now: () => 0,
    });
    const m = encodeMessage({
      id: 1,
      flags: OPCODE.UPDATE << 11,
      questions: [{ name: parseName('plain.example.'), type: T.SOA, class: CLASS_IN }],
      answer: [],
      authority: [],
      additional: [],
      edns: null,
    }).bytes;
    expect(rcode(update(m, ACME))).toBe(RCODE.NOTIMP);
    expect(rcode(update(m, undefined))).toBe(RCODE.NOTIMP);
  });

  it('zone section: FORMERR unless one SOA question; NOTAUTH for a zone not served', () => {
    const s = setup();
    expect(rcode(s.update(message([add('_acme-challenge', 'x')], [], 'example.com.', T.A), ACME))).toBe(RCODE.FORMERR);
    expect(rcode(s.update(message([], [], 'example.org.'), ACME))).toBe(RCODE.NOTAUTH);
  });

  it('prerequisites decide before anything changes; NOTZONE for an owner outside the zone', () => {
    const s = setup();
    const pre = [rr('_acme-challenge', 'TXT', CLASS_ANY)];
    expect(
      rcode(s.update(message([add('_acme-challenge', 'x')], [rr('_acme-challenge.mail', 'TXT', CLASS_ANY)]), ACME)),
    ).toBe(RCODE.NXRRSET);
    expect(rcode(s.update(message([add('x.example.net.', 'x')]), ACME))).toBe(RCODE.NOTZONE);
    expect(s.commits).toEqual([]);
    expect(rcode(s.update(message([add('_acme-challenge', 'x')], pre), ACME))).toBe(RCODE.NOERROR);
    expect(s.commits).toHaveLength(1);
  });

  it('a change that changes nothing is NOERROR without a commit', () => {
    const s = setup();
    expect(rcode(s.update(message([add('_acme-challenge', 'old')]), ACME))).toBe(RCODE.NOERROR);
    expect(s.commits).toEqual([]);
  });

  it('a commit the zone refuses is REFUSED; one that cannot be written SERVFAIL', () => {
    const rejected = setup({
      commit: () => {
        throw new UpdateRejected('CNAME beside other data');
      },
    });
    expect(rcode(rejected.update(message([add('_acme-challenge', 'x')]), ACME))).toBe(RCODE.REFUSED);
    const broken = setup({
      commit: () => {
        throw new Error('EIO');
      },
    });
    expect(rcode(broken.update(message([add('_acme-challenge', 'x')]), ACME))).toBe(RCODE.SERVFAIL);
  });

  it('limits the rate per key', () => {
    const s = setup({ rate: { burst: 2, perSecond: 1 } });
    const ask = (v: string): number => rcode(s.update(message([add('_acme-challenge', v)]), ACME));
    expect([ask('a'), ask('b'), ask('c')]).toEqual([RCODE.NOERROR, RCODE.NOERROR, RCODE.REFUSED]);
    s.tick(1000);
    expect(ask('d')).toBe(RCODE.NOERROR);
  });
});

describe('createUpdater: results reported, OPT answered', () => {
  it('reports each outcome from the fixed set, with the zone when a served one was named', () => {
    const seen: string[] = [];
    const s = setup({ rate: { burst: 4, perSecond: 0 }, onResult: (zone, result) => seen.push(`${zone} ${result}`) });
    s.update(message([add('_acme-challenge', 'new')]), ACME);
    s.update(message([add('_acme-challenge', 'new')]), ACME);
    s.update(message([add('www', 'x')]), ACME);
    s.update(message([add('_acme-challenge', 'x')], [rr('_acme-challenge.mail', 'TXT', CLASS_ANY)]), ACME);
    s.update(message([add('_acme-challenge', 'x')]), ACME);
    s.update(message([], [], 'example.org.'), ACME);
    s.update(message([], [], 'example.com.', T.A), ACME);
    s.update(message([add('_acme-challenge', 'x')]), undefined);
    expect(seen).toEqual([
      'example.com. applied',
      'example.com. unchanged',
      'example.com. refused',
      'example.com. prereq-failed',
      'example.com. ratelimited',
      'undefined notauth',
      'undefined formerr',
      'example.com. refused',
    ]);
  });

  it('NOTZONE and a failed write are told apart', () => {
    const seen: string[] = [];
    const s = setup({
      onResult: (_zone, result) => seen.push(result),
      commit: () => {
        throw new Error('EIO');
      },
    });
    s.update(message([add('x.example.net.', 'x')]), ACME);
    s.update(message([add('_acme-challenge', 'x')]), ACME);
    expect(seen).toEqual(['notzone', 'servfail']);
  });

  it('an update with OPT is answered with our OPT, DO copied (RFC 6891 §7); one without, without', () => {
    const s = setup();
    const opt = makeEdns({ udpSize: 4096, dnssecOk: true });
    const withOpt = message([add('_acme-challenge', 'a')], [], 'example.com.', T.SOA, opt);
    const answered = decodeMessage(s.update(withOpt, ACME));
    expect([answered.flags & 0xf, answered.edns?.version, answered.edns?.dnssecOk]).toEqual([RCODE.NOERROR, 0, true]);
    const refused = decodeMessage(s.update(withOpt, undefined));
    expect([refused.flags & 0xf, refused.edns === null]).toEqual([RCODE.REFUSED, false]);
    expect(decodeMessage(s.update(message([add('_acme-challenge', 'b')]), ACME)).edns).toBeNull();
  });

  it('EDNS version 1 is BADVERS (RFC 6891 §6.1.3): our OPT with extended rcode 1, nothing changed', () => {
    const seen: string[] = [];
    const s = setup({ onResult: (zone, result) => seen.push(`${zone} ${result}`) });
    const v1 = message([add('_acme-challenge', 'v1')], [], 'example.com.', T.SOA, makeEdns({ version: 1 }));
    const m = decodeMessage(s.update(v1, ACME));
    expect([m.flags & 0xf, m.edns?.extRcode, m.edns?.version]).toEqual([0, 1, 0]);
    expect(s.commits).toEqual([]);
    expect(seen).toEqual(['undefined badvers']);
  });
});

describe('withUpdates', () => {
  it('takes opcode UPDATE and hands the key over; other opcodes go to the responder', () => {
    const seen: string[] = [];
    const r = withUpdates(
      () => (seen.push('query'), new Uint8Array(12)),
      (_q, k) => (seen.push(`update ${k?.algorithm}`), new Uint8Array(12)),
    );
    const remote = { address: '127.0.0.1', port: 1, family: 'IPv4' as const };
    r(message([]), 'udp', remote, 0, ACME);
    const query = message([]);
    query[2] = 0;
    r(query, 'udp', remote);
    expect(seen).toEqual(['update hmac-sha256', 'query']);
  });
});
