/**
 * NSEC oracle: Knot DNS signs the same zones (text from `dane-ns zone export`, policy
 * ECDSA P-256 + NSEC, no CDS/CDNSKEY: startKnot's `dnssec: true`), we read every NSEC Knot made by AXFR
 * (`kdig +generic`, so the rdata comes as raw octets, not through our codec), and for every owner our chain
 * (src/dnssec/nsec.ts) must have the same owner, the same TTL and byte-equal rdata (next name + type bitmap).
 *
 * What Knot DNS 3.2 shows (and nsec.ts follows): every name lower-cased (owner and next name: Knot lower-cases
 * names when it loads a zone); an NSEC for every authoritative name, every cut and the wildcards themselves, none
 * for empty non-terminals or glue; the bitmap at an insecure cut is `NS RRSIG NSEC`, at a secure one
 * `NS DS RRSIG NSEC`, glue addresses at the cut node itself not listed; the apex adds DNSKEY; the last NSEC
 * points to the apex; TTL min(SOA TTL, SOA minimum).
 *
 * Needs knotd and kdig (Debian knot, knot-dnsutils): a missing tool fails the test. Run `npm run build` first
 * when running this file by hand (it uses dist/cli.js).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNsecChain, type NsecChain } from '../../src/dnssec/nsec.js';
import { nameToText, toLower } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import { loadZoneAsServed } from '../../src/tlsa/zone.js';
import { kdig, requireTool } from './helpers/dig.js';
import { startKnot, type KnotInstance } from './helpers/knot.js';
import { freePort } from './helpers/ports.js';
import { CLI } from './helpers/server.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/**
 * Corner cases on top of the fixtures: glue addresses at a cut node, a secure cut with glue, owners in mixed
 * case (so next names would be too), a wildcard that is only an empty non-terminal, a deep ENT chain, names
 * that sort by octet (`-`, digits, `_`), SOA TTL below the minimum (NSEC TTL = SOA TTL).
 */
const EDGE = `origin: edge.test.
ttl: 3600
soa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 86400, ttl: 7200 }
records:
  "@": { NS: [ns1, ns.example.net.], MX: 10 Mail, TLSA: 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef }
  ns1: { A: 192.0.2.1 }
  CuT: { NS: [ns.CuT, ns1], A: 192.0.2.7, AAAA: "2001:db8::7" }
  ns.CuT: { A: 192.0.2.8 }
  deep.x.CuT: { A: 192.0.2.9 }
  Secure: { NS: ns.Secure, DS: 1 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef, A: 192.0.2.12 }
  ns.Secure: { AAAA: "2001:db8::12" }
  Zed: { A: 192.0.2.10 }
  a: { A: 192.0.2.11 }
  "-a": { TXT: dash }
  "0": { TXT: zero }
  _x: { TXT: underscore }
  UPPER.Case: { TXT: x }
  Mail: { A: 192.0.2.25 }
  _25._tcp.Mail: { TLSA: 3 1 1 8CB0FC6C527506A053F4F14C8464BEBBD6DEDE2738D11468DD953D7D6A3021F1 }
  x.*.w: { TXT: below an empty wildcard }
  a.b.c.d.deep: { TXT: deep }
  "*.W2": { MX: 10 a }
  Sub.W2: { SRV: 0 0 25 Mail }
`;

interface KnotNsec {
  readonly ttl: number;
  readonly rdataHex: string;
}

/** Parses `kdig +generic` AXFR output into NSEC (TYPE47) records by lower-case owner. */
function knotNsecs(output: string): Map<string, KnotNsec> {
  const out = new Map<string, KnotNsec>();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+TYPE47\s+\\#\s+(\d+)\s+([0-9A-Fa-f\s]+)$/.exec(line.trim());
    if (!m) continue;
    const rdataHex = m[4]!.replace(/\s+/g, '').toLowerCase();
    if (rdataHex.length !== Number(m[3]) * 2) throw new Error(`kdig line with a wrong rdata length: ${line}`);
    const owner = m[1]!.toLowerCase();
    if (out.has(owner)) throw new Error(`two NSEC records at ${owner}`);
    out.set(owner, { ttl: Number(m[2]), rdataHex });
  }
  return out;
}

/** The apex types Knot adds under this policy; CDS/CDNSKEY must not be among them (cds-cdnskey-publish: none). */
const APEX_EXTRA = [T.DNSKEY];

describe('oracle: our NSEC chain equals the one Knot DNS signs', () => {
  let dir: string;
  let knot: KnotInstance | undefined;
  const zones: { origin: string; chain: NsecChain; axfr: string }[] = [];

  beforeAll(async () => {
    requireTool('knotd');
    requireTool('kdig');
    dir = mkdtempSync(join(tmpdir(), 'dane-ns-nsec-oracle-'));
    const zonesDir = join(dir, 'zones');
    const stateDir = join(dir, 'state');
    cpSync(join(FIXTURES, 'oracle'), zonesDir, { recursive: true });
    cpSync(join(FIXTURES, 'rfc4592.yaml'), join(zonesDir, 'example.yaml'));
    writeFileSync(join(zonesDir, 'edge.test.yaml'), EDGE);

    const knotZones: { origin: string; text: string }[] = [];
    for (const f of readdirSync(zonesDir)
      .filter((x) => x.endsWith('.yaml'))
      .sort()) {
      const zone = loadZoneAsServed(join(zonesDir, f), stateDir).zone; // with the automatic TLSA, as served
      const origin = nameToText(zone.origin);
      const { stdout } = await run(process.execPath, [
        CLI,
        'zone',
        'export',
        origin,
        '--zones',
        zonesDir,
        '--state',
        stateDir,
      ]);
      knotZones.push({ origin, text: stdout });
      zones.push({
        origin,
        chain: buildNsecChain(zone, { ttl: zone.negativeTtl, apexExtraTypes: APEX_EXTRA }),
        axfr: '',
      });
    }
    const port = await freePort();
    knot = await startKnot({ zones: knotZones, port, dnssec: true, dir: join(dir, 'knot') });
    for (const z of zones) {
      z.axfr = await kdig(['@127.0.0.1', '-p', String(port), '+generic', '+nocomments', z.origin, 'AXFR'], {
        timeoutMs: 20_000,
      });
    }
  }, 60_000);

  afterAll(async () => {
    await knot?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('covers the fixture zones, the RFC 4592 zone and the edge zone', () => {
    expect(zones.map((z) => z.origin)).toEqual([
      'edge.test.',
      'example.com.',
      'example.net.',
      'example.',
      'kids.example.com.',
    ]);
  });

  it('for every zone and owner: same owners, TTL and NSEC rdata (next name + type bitmap)', () => {
    const diffs: string[] = [];
    let compared = 0;
    for (const z of zones) {
      const theirs = knotNsecs(z.axfr);
      if (theirs.size === 0) diffs.push(`${z.origin}: Knot's AXFR has no NSEC records:\n${z.axfr}`);
      const ours = new Map(z.chain.entries.map((e) => [nameToText(toLower(e.owner)), e]));
      for (const [owner, e] of ours) {
        const k = theirs.get(owner);
        const mine = `${z.chain.ttl} NSEC ${rdataToText(T.NSEC, e.rdata)}`;
        if (!k) {
          diffs.push(`${owner}: ours ${mine}, Knot has none`);
          continue;
        }
        const knotText = `${k.ttl} NSEC ${rdataToText(T.NSEC, Buffer.from(k.rdataHex, 'hex'))}`;
        if (k.ttl !== z.chain.ttl || k.rdataHex !== Buffer.from(e.rdata).toString('hex')) {
          diffs.push(`${owner}: ours ${mine}, Knot ${knotText}`);
        }
        compared++;
      }
      for (const [owner, k] of theirs) {
        if (!ours.has(owner))
          diffs.push(`${owner}: Knot ${k.ttl} NSEC ${rdataToText(T.NSEC, Buffer.from(k.rdataHex, 'hex'))}, ours none`);
      }
    }
    expect(diffs).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(50); // 55 owners in five zones today
  });

  it('Knot publishes no CDS/CDNSKEY (their presence would change the apex bitmap)', () => {
    for (const z of zones) {
      expect(z.axfr).not.toMatch(/\sTYPE(59|60)\s/);
      expect(z.axfr).toMatch(/\sTYPE48\s/); // DNSKEY
    }
  });

  it("the observed rules hold in Knot's own records", () => {
    const edge = knotNsecs(zones.find((z) => z.origin === 'edge.test.')!.axfr);
    const text = (owner: string): string => rdataToText(T.NSEC, Buffer.from(edge.get(owner)!.rdataHex, 'hex'));
    // Insecure cut: NS RRSIG NSEC, the glue A/AAAA at the cut not listed; the next name skips the ENTs d, c.d, b.c.d.
    expect(text('cut.edge.test.')).toBe('a.b.c.d.deep.edge.test. NS RRSIG NSEC');
    expect(text('secure.edge.test.')).toMatch(/ NS DS RRSIG NSEC$/); // secure cut
    expect(text('upper.case.edge.test.')).toBe('cut.edge.test. TXT RRSIG NSEC'); // next names lower-case
    expect(edge.has('w.edge.test.')).toBe(false); // ENT
    expect(edge.has('*.w.edge.test.')).toBe(false); // a wildcard that is only an ENT
    expect(edge.has('ns.cut.edge.test.')).toBe(false); // glue
    expect(edge.get('edge.test.')!.ttl).toBe(7200); // min(SOA TTL 7200, minimum 86400)
    expect(text('zed.edge.test.')).toBe('edge.test. A RRSIG NSEC'); // the last points back to the apex
  });
});
