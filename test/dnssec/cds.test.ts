/**
 * cds.ts: which keys get CDS/CDNSKEY records (RFC 7344 §4) at each point of a KSK or CSK rollover under each
 * `dnssec.cds` policy, and the records in a signed zone: equal to the DS `dane-ns ds` prints (dsText) and to the
 * DNSKEY rdata, signed by every key that signs the DNSKEY RRset (RFC 7344 §4.1), listed in the apex NSEC bitmap;
 * the RFC 8078 §4 delete records.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ZoneSigner } from '../../src/server/signer.js';
import { CDNSKEY_DELETE, CDS_DELETE, parentKeys, type SigningKey } from '../../src/dnssec/cds.js';
import { parseRrsig } from '../../src/dnssec/canonical.js';
import { dsRdata, dsText } from '../../src/dnssec/ds.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import { SignatureCache } from '../../src/dnssec/sigcache.js';
import { signZone, type SignedZone, type ZoneKeys } from '../../src/dnssec/zonesign.js';
import { nameToText } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import { loadZoneFile } from '../../src/zone/files.js';

const zone = loadZoneFile(new URL('../../zones/example.com.yaml', import.meta.url).pathname);
const t0 = new Date(Date.UTC(2026, 10, 1, 0, 0, 0));
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);
const oldKsk = generateKey(zone.origin, 'ksk', at(-86400 * 30));
const newKsk: SigningKey = generateKey(zone.origin, 'ksk', t0);
const zsk = generateKey(zone.origin, 'zsk', at(-86400 * 30));
const TTL = 3600;
const MARGIN = 600;

describe('parentKeys', () => {
  it('one KSK: none with rollover or never, the KSK with always', () => {
    expect(parentKeys([oldKsk], 'rollover', TTL, MARGIN, t0).keys).toEqual([]);
    expect(parentKeys([oldKsk], 'never', TTL, MARGIN, t0).keys).toEqual([]);
    expect(parentKeys([oldKsk], 'always', TTL, MARGIN, t0).keys).toEqual([oldKsk]);
  });

  it('a rollover waiting for the DS: the new key from its Activate + DNSKEY TTL + margin on', () => {
    const signers = [newKsk, oldKsk];
    const before = parentKeys(signers, 'rollover', TTL, MARGIN, at(TTL + MARGIN - 1));
    expect(before.keys).toEqual([]);
    expect(before.changesAt).toEqual(at(TTL + MARGIN));
    expect(before.rollover?.newKey).toBe(newKsk);
    expect(before.rollover?.old).toEqual([oldKsk]);
    expect(parentKeys(signers, 'rollover', TTL, MARGIN, at(TTL + MARGIN)).keys).toEqual([newKsk]);
    // always: the old key until the new one may go up; never: nothing, but the rollover is still seen.
    expect(parentKeys(signers, 'always', TTL, MARGIN, at(10)).keys).toEqual([oldKsk]);
    expect(parentKeys(signers, 'always', TTL, MARGIN, at(TTL + MARGIN)).keys).toEqual([newKsk]);
    const never = parentKeys(signers, 'never', TTL, MARGIN, at(TTL + MARGIN));
    expect(never.keys).toEqual([]);
    expect(never.rollover?.newKey).toBe(newKsk);
  });

  it('a SyncPublish later than Activate + DNSKEY TTL + margin holds the DS until then', () => {
    const held: SigningKey = { ...newKsk, syncPublish: at(TTL + MARGIN + 300) };
    const before = parentKeys([held, oldKsk], 'rollover', TTL, MARGIN, at(TTL + MARGIN + 299));
    expect(before.keys).toEqual([]);
    expect(before.changesAt).toEqual(at(TTL + MARGIN + 300));
    expect(parentKeys([held, oldKsk], 'rollover', TTL, MARGIN, at(TTL + MARGIN + 300)).keys).toEqual([held]);
    // An earlier one changes nothing.
    const early: SigningKey = { ...newKsk, syncPublish: at(5) };
    expect(parentKeys([early, oldKsk], 'rollover', TTL, MARGIN, at(TTL + MARGIN)).keys).toEqual([early]);
  });

  it('once the old key has an end time (the parent showed the new DS): no rollover, no CDS with rollover', () => {
    const retiring: SigningKey = { ...oldKsk, inactive: at(86400) };
    const r = parentKeys([newKsk, retiring], 'rollover', TTL, MARGIN, at(2 * TTL));
    expect(r.keys).toEqual([]);
    expect(r.rollover).toBeUndefined();
    expect(parentKeys([newKsk, retiring], 'always', TTL, MARGIN, at(2 * TTL)).keys).toEqual([newKsk]);
  });
});

describe('CDS and CDNSKEY in the signed zone', () => {
  const now = Math.floor(at(2 * TTL).getTime() / 1000);
  const sign = (extra: Partial<ZoneKeys>) =>
    signZone(
      zone,
      { ksk: newKsk, zsk, dnskeySigners: [newKsk, oldKsk], published: [oldKsk, newKsk, zsk], ...extra },
      now,
      new SignatureCache(),
    );
  const apexBitmap = (s: ReturnType<typeof sign>): string =>
    rdataToText(T.NSEC, s.chain.nsecFor(zone.origin)!.rrset.rdatas[0]!);

  it('equal the DS dane-ns ds prints and the DNSKEY, signed by both KSKs, in the NSEC bitmap', () => {
    const s = sign({ atParent: [newKsk] });
    const cds = s.extra(zone.apex, T.CDS)!;
    const cdnskey = s.extra(zone.apex, T.CDNSKEY)!;
    expect(cds.ttl).toBe(zone.soa.ttl);
    expect(cds.rdatas.map((r) => `${nameToText(zone.origin)} 3600 IN DS ${rdataToText(T.CDS, r)}`)).toEqual([
      dsText(zone.origin, newKsk.dnskeyRdata),
    ]);
    expect(cdnskey.rdatas).toEqual([newKsk.dnskeyRdata]);
    for (const rs of [cds, cdnskey]) {
      const sigs = s.signatures(rs, rs.ttl)!.rdatas;
      expect(sigs.map((r) => parseRrsig(r).keyTag).sort()).toEqual([newKsk.tag, oldKsk.tag].sort());
      for (const sig of sigs) {
        const key = parseRrsig(sig).keyTag === newKsk.tag ? newKsk : oldKsk;
        expect(verifyRRsig(rs, sig, key.publicKey)).toBe(true);
      }
    }
    expect(apexBitmap(s).split(' ')).toEqual(expect.arrayContaining(['DNSKEY', 'CDS', 'CDNSKEY']));
    const added = [...s.addedRRsets()];
    expect(added.filter((r) => r.type === T.CDS || r.type === T.CDNSKEY)).toHaveLength(2);
    expect(s.addedAt(zone.apex).filter((r) => r.type === T.RRSIG).length).toBe(s.signaturesAt(zone.apex).length);
    expect(s.signaturesAt(zone.apex).some((r) => (r.rdatas[0]![0]! << 8) + r.rdatas[0]![1]! === T.CDS)).toBe(true);
  });

  it('none without keys for the parent: no records, nothing in the bitmap', () => {
    const s = sign({});
    expect(s.extra(zone.apex, T.CDS)).toBeUndefined();
    expect(s.extra(zone.apex, T.CDNSKEY)).toBeUndefined();
    expect(apexBitmap(s)).not.toMatch(/CDS/);
  });

  it('the RFC 8078 delete records: CDS 0 0 0 00 and CDNSKEY 0 3 0 AA==', () => {
    const s = sign({ parentDelete: true });
    expect(s.extra(zone.apex, T.CDS)!.rdatas).toEqual([CDS_DELETE]);
    expect(rdataToText(T.CDS, CDS_DELETE)).toBe('0 0 0 00');
    expect(rdataToText(T.CDNSKEY, s.extra(zone.apex, T.CDNSKEY)!.rdatas[0]!)).toBe('0 3 0 AA==');
    expect(s.extra(zone.apex, T.CDNSKEY)!.rdatas).toEqual([CDNSKEY_DELETE]);
  });
});

describe('dnssec.cds in the server signer', () => {
  const text = (cds: string): string =>
    [
      'origin: cds.example.',
      'ttl: 60',
      'soa: { mname: ns1, rname: hostmaster }',
      `dnssec: { cds: ${cds} }`,
      'records:',
      '  "@": { NS: ns1 }',
      '  ns1: { A: 192.0.2.53 }',
      '',
    ].join('\n');

  it.each([
    ['always', 1],
    ['rollover', 0],
    ['never', 0],
  ])('cds: %s outside a rollover: %i CDS records for the KSK', (policy, n) => {
    const dir = mkdtempSync(join(tmpdir(), 'dane-ns-cds-'));
    try {
      const file = join(dir, 'cds.example.yaml');
      writeFileSync(file, text(policy));
      const z = loadZoneFile(file);
      const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), createLogger({ write: () => {} }));
      const s = [...signer.secure([z]).security.values()][0] as SignedZone;
      const cds = s.extra(z.apex, T.CDS);
      expect(cds?.rdatas.length ?? 0).toBe(n);
      if (n > 0) expect(cds!.rdatas[0]).toEqual(dsRdata(z.origin, s.keys.ksk.dnskeyRdata));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
