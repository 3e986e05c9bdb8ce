import { describe, expect, it } from 'vitest';
import { applyUpdates, oversized, prescan, refusal, type WorkRecord } from '../../src/server/update-apply.js';
import { nameToText } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, RCODE, typeToText } from '../../src/wire/types.js';
import { rr, updZone } from './update-fixture.js';

/** RFC 2136 §3.4.1 prescan, §3.3 permission (the zone's update: policy) and §3.4.2 the four kinds of change. */
const zone = updZone();
const text = (rs: readonly WorkRecord[]): string[] =>
  rs.map((r) => `${nameToText(r.owner)} ${r.ttl} ${typeToText(r.type)} ${rdataToText(r.type, r.rdata)}`);
const add = (owner: string, value: string, ttl = 60) => rr(owner, 'TXT', CLASS_IN, ttl, `"${value}"`);
const work = (owner: string, value: string, ttl = 60): WorkRecord => {
  const r = add(owner, value, ttl);
  return { owner: r.name, type: r.type, ttl: r.ttl, rdata: r.rdata };
};

describe('prescan', () => {
  it('accepts the four kinds of change', () => {
    const all = [
      add('_acme-challenge', 'a'),
      rr('_acme-challenge', 'TXT', CLASS_ANY),
      rr('_acme-challenge', 'ANY', CLASS_ANY),
      rr('_acme-challenge', 'TXT', CLASS_NONE, 0, '"a"'),
    ];
    expect(prescan(zone, all)).toBe(RCODE.NOERROR);
  });

  it('NOTZONE for an owner outside the zone, FORMERR for malformed records', () => {
    expect(prescan(zone, [rr('x.example.net.', 'TXT', CLASS_IN, 60, '"a"')])).toBe(RCODE.NOTZONE);
    expect(prescan(zone, [rr('_acme-challenge', 'ANY', CLASS_IN, 60)])).toBe(RCODE.FORMERR);
    expect(prescan(zone, [rr('_acme-challenge', 'TXT', CLASS_ANY, 60)])).toBe(RCODE.FORMERR);
    expect(prescan(zone, [rr('_acme-challenge', 'TXT', CLASS_NONE, 60, '"a"')])).toBe(RCODE.FORMERR);
    expect(prescan(zone, [rr('_acme-challenge', 'TXT', 3, 60, '"a"')])).toBe(RCODE.FORMERR);
  });
});

describe('refusal (the update: policy)', () => {
  it('allows the key its names and types, and nothing else', () => {
    expect(refusal(zone, 'acme.', [add('_acme-challenge', 'a'), add('_acme-challenge.mail', 'b')])).toBeNull();
    expect(refusal(zone, 'acme.', [rr('_acme-challenge', 'ANY', CLASS_ANY)])).toBeNull();
    expect(refusal(zone, 'acme.', [add('other', 'a')])).toMatch(/other\.example\.com\. TXT: not allowed to key acme\./);
    expect(refusal(zone, 'other.', [add('_acme-challenge', 'a')])).toMatch(/not allowed to key other\./);
    expect(refusal(zone, 'acme.', [rr('_acme-challenge', 'A', CLASS_IN, 60, '192.0.2.1')])).toMatch(/A: not allowed/);
    expect(refusal(zone, 'acme.', [rr('@', 'NS', CLASS_IN, 60, 'ns2')])).toMatch(/NS: not allowed/);
    expect(refusal(zone, 'acme.', [rr('@', 'SOA', CLASS_ANY)])).toMatch(/SOA: not allowed/);
  });

  it('one refused change refuses the whole message', () => {
    expect(refusal(zone, 'acme.', [add('_acme-challenge', 'a'), add('mail', 'b')])).toMatch(/mail\.example\.com\./);
  });

  it('a TTL above the cap is refused', () => {
    expect(refusal(zone, 'acme.', [add('_acme-challenge', 'a', 86401)])).toMatch(/TTL 86401 outside 0\.\.86400/);
    expect(refusal(zone, 'acme.', [add('_acme-challenge', 'a', 86400)])).toBeNull();
  });
});

describe('applyUpdates', () => {
  const before = [work('_acme-challenge', 'a'), work('_acme-challenge', 'b'), work('_acme-challenge.mail', 'm')];

  it('adds a record, not twice, and the RRset takes the newest TTL', () => {
    const out = applyUpdates(zone, 'acme.', before, [
      add('_acme-challenge', 'c', 120),
      add('_acme-challenge', 'a', 120),
    ]);
    expect(text(out)).toEqual([
      '_acme-challenge.example.com. 120 TXT "a"',
      '_acme-challenge.example.com. 120 TXT "b"',
      '_acme-challenge.mail.example.com. 60 TXT "m"',
      '_acme-challenge.example.com. 120 TXT "c"',
    ]);
  });

  it('deletes one record (NONE), an RRset (ANY, type) and everything at a name (ANY, ANY)', () => {
    expect(text(applyUpdates(zone, 'acme.', before, [rr('_acme-challenge', 'TXT', CLASS_NONE, 0, '"a"')]))).toEqual([
      '_acme-challenge.example.com. 60 TXT "b"',
      '_acme-challenge.mail.example.com. 60 TXT "m"',
    ]);
    expect(text(applyUpdates(zone, 'acme.', before, [rr('_acme-challenge', 'TXT', CLASS_ANY)]))).toEqual([
      '_acme-challenge.mail.example.com. 60 TXT "m"',
    ]);
    expect(text(applyUpdates(zone, 'acme.', before, [rr('_acme-challenge.mail', 'ANY', CLASS_ANY)]))).toEqual([
      '_acme-challenge.example.com. 60 TXT "a"',
      '_acme-challenge.example.com. 60 TXT "b"',
    ]);
  });

  it('applies the changes in order (delete then add replaces)', () => {
    const out = applyUpdates(zone, 'acme.', before, [
      rr('_acme-challenge', 'TXT', CLASS_ANY),
      add('_acme-challenge', 'n'),
    ]);
    expect(text(out)).toEqual([
      '_acme-challenge.mail.example.com. 60 TXT "m"',
      '_acme-challenge.example.com. 60 TXT "n"',
    ]);
  });
});

describe('oversized', () => {
  it('finds an RRset with more than 16 records', () => {
    const many = Array.from({ length: 16 }, (_, i) => work('_acme-challenge', `t${i}`));
    expect(oversized(many)).toBeNull();
    expect(oversized([...many, work('_acme-challenge', 'x')])).toMatch(
      /_acme-challenge\.example\.com\. TXT: more than 16/,
    );
  });
});
