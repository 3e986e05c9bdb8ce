import { describe, expect, it } from 'vitest';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import {
  automaticTlsaOwners,
  grantOf,
  mayUpdate,
  neverUpdatable,
  resolveUpdateRules,
} from '../../src/zone/updatepolicy.js';

/** The permission policy of RFC 2136 §3.3 as the `update:` section states it. */
const origin = parseName('example.com.');
const n = (s: string) => parseName(s, origin);
const problems: string[] = [];
const grants = resolveUpdateRules(
  [
    { key: 'acme.', names: ['_acme-challenge', '_acme-challenge.mail'], types: [T.TXT], line: 2 },
    { key: 'web.', names: ['_acme-challenge.www'], types: [T.TXT, T.CNAME], line: 5 },
  ],
  origin,
  [],
  (line, reason) => problems.push(`${line}: ${reason}`),
);

describe('update policy', () => {
  it('resolves names against the origin, without problems', () => {
    expect(problems).toEqual([]);
    expect(grants.map((g) => g.owners.size)).toEqual([2, 1]);
  });

  it('mayUpdate: exact names, the key, the types; ANY means any type the key may change there', () => {
    expect(mayUpdate(grants, 'acme.', n('_acme-challenge'), T.TXT)).toBe(true);
    expect(mayUpdate(grants, 'acme.', n('_ACME-challenge.Mail'), T.TXT)).toBe(true);
    expect(mayUpdate(grants, 'acme.', n('x._acme-challenge'), T.TXT)).toBe(false);
    expect(mayUpdate(grants, 'acme.', n('_acme-challenge'), T.A)).toBe(false);
    expect(mayUpdate(grants, 'web.', n('_acme-challenge'), T.TXT)).toBe(false);
    expect(mayUpdate(grants, 'web.', n('_acme-challenge.www'), T.CNAME)).toBe(true);
    expect(mayUpdate(grants, 'web.', n('_acme-challenge.www'), T.ANY)).toBe(true);
    expect(mayUpdate(grants, 'acme.', n('_acme-challenge.www'), T.ANY)).toBe(false);
  });

  it('grantOf names the rule that opens an owner and type to any key', () => {
    expect(grantOf(grants, n('_acme-challenge.www'), T.CNAME)?.line).toBe(5);
    expect(grantOf(grants, n('_acme-challenge.www'), T.A)).toBeUndefined();
  });

  it('never updatable: SOA, apex NS, DNSSEC types, automatic TLSA owners; other NS and TLSA are not barred', () => {
    const tlsa = automaticTlsaOwners(
      [{ host: 'mail', cert: 'c.pem', next: undefined, ports: [25, 465], ttl: undefined, issuer: false, line: 1 }],
      origin,
    );
    expect(neverUpdatable(T.SOA, origin, origin, tlsa)).toMatch(/SOA/);
    expect(neverUpdatable(T.NS, origin, origin, tlsa)).toMatch(/NS at the apex/);
    expect(neverUpdatable(T.NS, n('sub'), origin, tlsa)).toBeNull();
    for (const t of [T.DNSKEY, T.CDS, T.CDNSKEY, T.RRSIG, T.NSEC, T.NSEC3])
      expect(neverUpdatable(t, n('x'), origin, tlsa)).not.toBeNull();
    expect(neverUpdatable(T.TLSA, n('_465._tcp.mail'), origin, tlsa)).toMatch(/automatic TLSA/);
    expect(neverUpdatable(T.TLSA, n('_443._tcp.www'), origin, tlsa)).toBeNull();
  });
});
