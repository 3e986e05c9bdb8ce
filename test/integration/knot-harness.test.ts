/**
 * Self-test of the integration harness: Knot DNS started by startKnot() on a free loopback port, queried through
 * the kdig-based query() over UDP and TCP, with the normalised sections checked exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collapseWhitespace, comparable, dig, parseKdig, query, requireTool, type Server } from './helpers/dig.js';
import { startKnot, type KnotInstance } from './helpers/knot.js';
import { freePort } from './helpers/ports.js';

const ZONE = `$TTL 3600
example.test. IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300
example.test. IN NS ns1.example.test.
example.test. IN NS ns2.elsewhere.test.
example.test. IN A 192.0.2.1
example.test. IN MX 10 mail.example.test.
example.test. IN TXT "v=spf1   mx -all"
ns1.example.test. IN A 192.0.2.53
mail.example.test. 300 IN A 192.0.2.25
mail.example.test. IN AAAA 2001:db8::25
www.example.test. IN CNAME example.test.
_25._tcp.mail.example.test. IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
${Array.from({ length: 40 }, (_, i) => `many.example.test. IN A 198.51.100.${i + 1}`).join('\n')}
`;

const SOA = 'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300';
const NEG_SOA = SOA.replace(' 3600 IN SOA', ' 300 IN SOA'); // negative answers: TTL = min(SOA TTL, MINIMUM)

let knot: KnotInstance;
let server: Server;

beforeAll(async () => {
  requireTool('kdig');
  requireTool('dig');
  const port = await freePort();
  knot = await startKnot({ zones: [{ origin: 'example.test', text: ZONE }], port });
  server = { host: '127.0.0.1', port };
});

afterAll(async () => {
  await knot?.stop();
});

describe.each([
  ['UDP', false],
  ['TCP', true],
] as const)('Knot oracle over %s', (_label, tcp) => {
  it('answers the apex SOA authoritatively', async () => {
    const a = await query(server, 'example.test.', 'SOA', { tcp });
    expect(a.rcode).toBe('NOERROR');
    expect(a.flags).toEqual(['qr', 'aa']);
    expect(a.answer).toEqual([SOA]);
    expect(a.authority).toEqual([]);
    expect(a.additional).toEqual([]);
    expect(a.edns).toMatchObject({ version: 0, do: false });
  });

  it('adds in-zone MX target addresses to additional', async () => {
    const a = await query(server, 'EXAMPLE.test.', 'MX', { tcp });
    expect(a.rcode).toBe('NOERROR');
    expect(a.answer).toEqual(['example.test. 3600 IN MX 10 mail.example.test.']);
    expect([...a.additional].sort()).toEqual([
      'mail.example.test. 300 IN A 192.0.2.25',
      'mail.example.test. 3600 IN AAAA 2001:db8::25',
    ]);
  });

  it('returns NXDOMAIN with the SOA in authority', async () => {
    const a = await query(server, 'nope.example.test.', 'A', { tcp });
    expect(a.rcode).toBe('NXDOMAIN');
    expect(a.flags).toContain('aa');
    expect(a.answer).toEqual([]);
    expect(a.authority).toEqual([NEG_SOA]);
  });

  it('returns NODATA for an existing name', async () => {
    const a = await query(server, 'ns1.example.test.', 'MX', { tcp });
    expect(a.rcode).toBe('NOERROR');
    expect(a.answer).toEqual([]);
    expect(a.authority).toEqual([NEG_SOA]);
  });

  it('follows an in-zone CNAME', async () => {
    const a = await query(server, 'www.example.test.', 'A', { tcp });
    expect(a.answer).toEqual(['www.example.test. 3600 IN CNAME example.test.', 'example.test. 3600 IN A 192.0.2.1']);
  });

  it('keeps whitespace inside quoted TXT strings and renders TLSA', async () => {
    const txt = await query(server, 'example.test.', 'TXT', { tcp });
    expect(txt.answer).toEqual(['example.test. 3600 IN TXT "v=spf1   mx -all"']);
    const tlsa = await query(server, '_25._tcp.mail.example.test.', 'TLSA', { tcp });
    expect(tlsa.answer).toEqual([
      '_25._tcp.mail.example.test. 3600 IN TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF',
    ]);
  });

  it('refuses names outside its zones', async () => {
    const a = await query(server, 'example.org.', 'A', { tcp });
    expect(a.rcode).toBe('REFUSED');
    expect(a.flags).not.toContain('aa');
  });

  it('echoes DO and reports BADVERS through the extended RCODE', async () => {
    const a = await query(server, 'example.test.', 'SOA', { tcp, dnssec: true });
    expect(a.edns).toMatchObject({ version: 0, do: true });
    const bad = await query(server, 'example.test.', 'SOA', { tcp, ednsVersion: 1 });
    expect(bad.rcode).toBe('BADVERS');
    const nsid = await query(server, 'example.test.', 'SOA', { tcp, nsid: true });
    expect(nsid.edns?.options.map((o) => o.code)).toEqual([3]); // Knot's NSID defaults to the host name
    const none = await query(server, 'example.test.', 'SOA', { tcp, noEdns: true });
    expect(none.edns).toBeNull();
    expect(none.answer).toEqual([SOA]);
  });
});

describe('truncation', () => {
  it('sets TC over UDP without EDNS and does not retry over TCP', async () => {
    const a = await query(server, 'many.example.test.', 'A', { noEdns: true });
    expect(a.flags).toContain('tc');
    expect(a.answer.length).toBeLessThan(40);
  });

  it('returns the whole RRset over TCP and with a large EDNS buffer', async () => {
    const t = await query(server, 'many.example.test.', 'A', { tcp: true, noEdns: true });
    expect(t.flags).not.toContain('tc');
    expect(t.answer).toHaveLength(40);
    const u = await query(server, 'many.example.test.', 'A', { bufsize: 4096 });
    expect(u.flags).not.toContain('tc');
    expect(comparable(u)).toEqual(comparable(t));
  });
});

describe('plain runners', () => {
  it('dig reaches the server too', async () => {
    const out = await dig(['@127.0.0.1', '-p', String(server.port), '+short', '+norec', 'mail.example.test.', 'A']);
    expect(out.trim()).toBe('192.0.2.25');
  });
});

describe('parsing', () => {
  it('normalises RFC 8427 JSON: owner case, generic RDATA, OPT and extended RCODE', () => {
    const json = JSON.stringify({
      QR: 1,
      AA: 1,
      TC: 0,
      RD: 0,
      RA: 0,
      AD: 0,
      CD: 0,
      RCODE: 0,
      answerRRs: [
        {
          NAME: 'WWW.Example.TEST.',
          TYPE: 65000,
          TYPEname: 'TYPE65000',
          CLASS: 1,
          CLASSname: 'IN',
          TTL: 60,
          RDLENGTH: 2,
          RDATAHEX: 'ABCD',
        },
        {
          NAME: 'x.example.test.',
          TYPE: 257,
          TYPEname: 'CAA',
          CLASS: 1,
          CLASSname: 'IN',
          TTL: 60,
          rdataCAA: '0 issue  "ca.test" ',
        },
      ],
      additionalRRs: [
        {
          NAME: '.',
          TYPE: 41,
          TYPEname: 'OPT',
          CLASS: 1232,
          TTL: 0x01008000,
          RDLENGTH: 10,
          RDATAHEX: '000F00020012000A0000',
        },
      ],
    });
    const a = parseKdig(`;; noise\n${json}\n`);
    expect(a.rcode).toBe('BADVERS');
    expect(a.flags).toEqual(['qr', 'aa']);
    expect(a.answer).toEqual([
      'www.example.test. 60 IN TYPE65000 \\# 2 abcd',
      'x.example.test. 60 IN CAA 0 issue "ca.test"',
    ]);
    expect(a.additional).toEqual([]);
    expect(a.edns).toEqual({
      version: 0,
      udpSize: 1232,
      do: true,
      options: [
        { code: 15, data: '0012' },
        { code: 10, data: '' },
      ],
    });
  });

  it('collapses whitespace outside quotes only', () => {
    expect(collapseWhitespace('  a \t b   "x  \\"  y"  c ')).toBe('a b "x  \\"  y" c');
  });

  it('fails on output without a response', () => {
    expect(() => parseKdig('{\n}\n')).toThrow(/no response/);
    expect(() => parseKdig('')).toThrow(/no JSON/);
  });
});

describe('startKnot failures', () => {
  it('reports a zone Knot cannot load, with knotd log in the error', async () => {
    const port = await freePort();
    await expect(
      startKnot({
        zones: [{ origin: 'broken.test.', text: 'broken.test. 3600 IN SOA garbage\n' }],
        port,
        startTimeoutMs: 2000,
      }),
    ).rejects.toThrow(/did not answer SOA for broken\.test\.[\s\S]*knotd log:[\s\S]*broken\.test/);
  });
});
