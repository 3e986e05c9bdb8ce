import { describe, expect, it } from 'vitest';
import { checkPrerequisites, sameSet } from '../../src/server/update-prereq.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, RCODE, T } from '../../src/wire/types.js';
import { rr, txt, updZone } from './update-fixture.js';

/** RFC 2136 §2.4 and §3.2: each prerequisite kind, held and not held, with its rcode. */
const zone = updZone([txt('_acme-challenge', 'tok')]);

describe('checkPrerequisites', () => {
  it('no prerequisite holds trivially', () => {
    expect(checkPrerequisites(zone, [])).toBe(RCODE.NOERROR);
  });

  it('RRset exists, value independent (ANY, type): NXRRSET when it does not (§2.4.1)', () => {
    expect(checkPrerequisites(zone, [rr('_acme-challenge', 'TXT', CLASS_ANY)])).toBe(RCODE.NOERROR);
    expect(checkPrerequisites(zone, [rr('_acme-challenge', 'A', CLASS_ANY)])).toBe(RCODE.NXRRSET);
  });

  it('RRset exists, value dependent (IN): compared as a whole set (§2.4.2, §3.2.3)', () => {
    expect(checkPrerequisites(zone, [rr('_acme-challenge', 'TXT', CLASS_IN, 0, '"tok"')])).toBe(RCODE.NOERROR);
    expect(checkPrerequisites(zone, [rr('_acme-challenge', 'TXT', CLASS_IN, 0, '"other"')])).toBe(RCODE.NXRRSET);
    const both = [rr('_acme-challenge', 'TXT', CLASS_IN, 0, '"tok"'), rr('_acme-challenge', 'TXT', CLASS_IN, 0, '"x"')];
    expect(checkPrerequisites(zone, both)).toBe(RCODE.NXRRSET);
  });

  it('RRset does not exist (NONE, type): YXRRSET when it does (§2.4.3)', () => {
    expect(checkPrerequisites(zone, [rr('_acme-challenge', 'A', CLASS_NONE)])).toBe(RCODE.NOERROR);
    expect(checkPrerequisites(zone, [rr('_acme-challenge', 'TXT', CLASS_NONE)])).toBe(RCODE.YXRRSET);
  });

  it('name is in use (ANY, ANY): NXDOMAIN when it is not (§2.4.4)', () => {
    expect(checkPrerequisites(zone, [rr('mail', 'ANY', CLASS_ANY)])).toBe(RCODE.NOERROR);
    expect(checkPrerequisites(zone, [rr('_acme-challenge.mail', 'ANY', CLASS_ANY)])).toBe(RCODE.NXDOMAIN);
  });

  it('name is not in use (NONE, ANY): YXDOMAIN when it is (§2.4.5)', () => {
    expect(checkPrerequisites(zone, [rr('nothing', 'ANY', CLASS_NONE)])).toBe(RCODE.NOERROR);
    expect(checkPrerequisites(zone, [rr('mail', 'ANY', CLASS_NONE)])).toBe(RCODE.YXDOMAIN);
  });

  it('an owner outside the zone is NOTZONE; a TTL other than 0 or rdata with ANY/NONE is FORMERR', () => {
    const net = rr('mail.example.net.', 'A', CLASS_ANY);
    expect(checkPrerequisites(zone, [net])).toBe(RCODE.NOTZONE);
    expect(checkPrerequisites(zone, [rr('mail', 'A', CLASS_ANY, 60)])).toBe(RCODE.FORMERR);
    expect(checkPrerequisites(zone, [{ ...rr('mail', 'A', CLASS_ANY), rdata: new Uint8Array([1, 2, 3, 4]) }])).toBe(
      RCODE.FORMERR,
    );
  });

  it('the first prerequisite that fails decides', () => {
    const list = [rr('mail', 'ANY', CLASS_NONE), rr('_acme-challenge', 'A', CLASS_ANY)];
    expect(checkPrerequisites(zone, list)).toBe(RCODE.YXDOMAIN);
  });
});

describe('sameSet', () => {
  it('compares names without case and ignores repeats', () => {
    const a = rdataFromText(T.CNAME, 'Target.example.com.', null);
    const b = rdataFromText(T.CNAME, 'target.EXAMPLE.com.', null);
    expect(sameSet(T.CNAME, [a], [b, b])).toBe(true);
    expect(sameSet(T.CNAME, [a], [rdataFromText(T.CNAME, 'other.example.com.', null)])).toBe(false);
  });
});
