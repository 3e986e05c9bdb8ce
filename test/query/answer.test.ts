import { describe, expect, it } from 'vitest';
import { answerQuery } from '../../src/query/answer.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { ZoneSet } from '../../src/zone/set.js';
import { parseName, ROOT } from '../../src/wire/name.js';
import { typeFromText } from '../../src/wire/types.js';
import { render } from '../support/render.js';
import { fixture } from '../support/fixtures.js';

const zones = new ZoneSet([loadZoneFile(fixture('rfc4592.yaml'))]);
const SOA = 'example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300';

interface Case {
  q: string;
  t: string;
  rcode: number;
  aa?: boolean;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  why: string;
}

// RFC 4592 §2.2.1: the examples quoted one per case.
const cases: Case[] = [
  {
    q: 'host3.example.',
    t: 'MX',
    rcode: 0,
    answer: ['host3.example. 3600 IN MX 10 host1.example.'],
    additional: ['host1.example. 3600 IN A 192.0.2.1'],
    why: 'wildcard synthesises MX',
  },
  { q: 'host3.example.', t: 'A', rcode: 0, authority: [SOA], why: 'wildcard matches, no A there: NODATA' },
  {
    q: 'foo.bar.example.',
    t: 'TXT',
    rcode: 0,
    answer: ['foo.bar.example. 3600 IN TXT "this is a wildcard"'],
    why: 'wildcard matches names several labels below',
  },
  { q: 'host1.example.', t: 'MX', rcode: 0, authority: [SOA], why: 'host1 exists: no wildcard, NODATA' },
  { q: 'sub.*.example.', t: 'MX', rcode: 0, authority: [SOA], why: 'sub.*.example exists: NODATA' },
  {
    q: '_telnet._tcp.host1.example.',
    t: 'SRV',
    rcode: 3,
    authority: [SOA],
    why: 'closest encloser _tcp.host1 has no wildcard: NXDOMAIN',
  },
  {
    q: 'host.subdel.example.',
    t: 'A',
    rcode: 0,
    aa: false,
    authority: ['subdel.example. 3600 IN NS ns.example.com.', 'subdel.example. 3600 IN NS ns.example.net.'],
    why: 'below a cut: referral',
  },
  {
    q: 'ghost.*.example.',
    t: 'MX',
    rcode: 3,
    authority: [SOA],
    why: 'closest encloser *.example has no *.*: NXDOMAIN',
  },
  {
    q: '_tcp.host1.example.',
    t: 'A',
    rcode: 0,
    authority: [SOA],
    why: 'empty non-terminal: NODATA, and the wildcard does not apply',
  },
  {
    q: 'HOST1.Example.',
    t: 'A',
    rcode: 0,
    answer: ['host1.example. 3600 IN A 192.0.2.1'],
    why: 'letter case does not matter',
  },
  { q: 'subdel.example.', t: 'DS', rcode: 0, authority: [SOA], why: 'DS at a cut is answered from the parent side' },
  {
    q: 'subdel.example.',
    t: 'NS',
    rcode: 0,
    aa: false,
    authority: ['subdel.example. 3600 IN NS ns.example.com.', 'subdel.example. 3600 IN NS ns.example.net.'],
    why: 'NS at a cut: referral',
  },
  {
    q: 'example.',
    t: 'NS',
    rcode: 0,
    answer: ['example. 3600 IN NS ns.example.com.', 'example. 3600 IN NS ns.example.net.'],
    why: 'apex NS, targets out of zone: no additional',
  },
  { q: 'example.org.', t: 'A', rcode: 5, aa: false, why: 'outside every zone: REFUSED' },
  {
    q: 'example.',
    t: 'ANY',
    rcode: 0,
    answer: ['example. 3600 IN NS ns.example.com.', 'example. 3600 IN NS ns.example.net.'],
    why: 'ANY: one RRset, the lowest type (RFC 8482)',
  },
  { q: 'host1.example.', t: 'ANY', rcode: 0, answer: ['host1.example. 3600 IN A 192.0.2.1'], why: 'ANY at a host' },
];

describe('answerQuery over the RFC 4592 §2.2.1 zone', () => {
  for (const c of cases) {
    it(`${c.q} ${c.t}: ${c.why}`, () => {
      const a = answerQuery(zones, { qname: parseName(c.q, ROOT), qtype: typeFromText(c.t), dnssecOk: false });
      expect(render(a)).toEqual({
        rcode: c.rcode,
        aa: c.aa ?? c.rcode !== 5,
        answer: (c.answer ?? []).sort(),
        authority: (c.authority ?? []).sort(),
        additional: (c.additional ?? []).sort(),
      });
    });
  }
});
