/**
 * src/zone/catalog.ts: the catalog zone of RFC 9432 (version 2): its records exactly (SOA, NS invalid., version
 * TXT "2", one PTR per member under `zones`), member IDs derived from the member name alone (case-insensitive,
 * checked against a SHA-1 computed elsewhere), an unsigned zone with serial `auto`, and the union of the
 * members' transfer permissions.
 */
import { describe, expect, it } from 'vitest';
import { parseName, ROOT } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { exportZone } from '../../src/zone/export.js';
import { buildCatalog, catalogKey, catalogTransfer, memberId } from '../../src/zone/catalog.js';
import { parsePrefix } from '../../src/zone/prefix.js';
import { TRANSFER_DEFAULTS, type TransferSettings } from '../../src/zone/settings.js';

const name = (s: string) => parseName(s, ROOT);
const CAT = name('catalog.invalid.');

describe('memberId', () => {
  it('is the SHA-1 of the lower-case wire name, in hex (python hashlib of \\x07example\\x03com\\x00)', () => {
    expect(memberId(name('example.com.'))).toBe('c5e4b4da1e5a620ddaa3635e55c3732a5b49c7f4');
    expect(memberId(name('EXAMPLE.Com.'))).toBe('c5e4b4da1e5a620ddaa3635e55c3732a5b49c7f4');
    expect(memberId(name('example.org.'))).not.toBe(memberId(name('example.com.')));
  });
});

describe('buildCatalog', () => {
  it('publishes the SOA, NS invalid., version "2" and one PTR per member, sorted and once each', () => {
    const zone = buildCatalog(
      CAT,
      [name('b.example.'), name('A.example.'), name('b.example.')],
      TRANSFER_DEFAULTS,
      () => 7,
    );
    const lines = exportZone(zone)
      .split('\n')
      .filter((l) => l && !l.startsWith(';') && !l.startsWith('$ORIGIN'));
    const idA = memberId(name('a.example.'));
    const idB = memberId(name('b.example.'));
    expect(lines.map((l) => l.split(/\s+/).join(' ')).sort()).toEqual(
      [
        'catalog.invalid. 0 IN SOA invalid. invalid. 7 300 60 2147483646 0',
        'catalog.invalid. 0 IN NS invalid.',
        'version.catalog.invalid. 0 IN TXT "2"',
        `${idA}.zones.catalog.invalid. 0 IN PTR a.example.`,
        `${idB}.zones.catalog.invalid. 0 IN PTR b.example.`,
      ].sort(),
    );
    expect(zone.dnssec.enabled).toBe(false);
    expect(zone.serialSetting).toBe('auto');
  });

  it('an empty catalog is still a valid catalog (SOA, NS, version)', () => {
    const zone = buildCatalog(CAT, [], TRANSFER_DEFAULTS);
    expect(zone.nodes.size).toBe(2);
    expect(zone.nodes.get(name('version.catalog.invalid.').key)?.rrsets.has(T.TXT)).toBe(true);
  });

  it('the content hash follows the member list only, and the transfer settings reach the zone', () => {
    const t = catalogTransfer([{ allow: [{ key: 'k.', address: undefined, line: 1 }], notify: [] }]);
    const one = buildCatalog(CAT, [name('a.example.')], TRANSFER_DEFAULTS);
    const same = buildCatalog(CAT, [name('A.EXAMPLE.')], t);
    const two = buildCatalog(CAT, [name('a.example.'), name('b.example.')], TRANSFER_DEFAULTS);
    expect(same.contentHash).toBe(one.contentHash);
    expect(two.contentHash).not.toBe(one.contentHash);
    expect(same.transfer).toBe(t);
  });
});

describe('catalogTransfer and catalogKey', () => {
  const a: TransferSettings = {
    allow: [
      { key: 'xfr.', address: undefined, line: 1 },
      { key: undefined, address: parsePrefix('192.0.2.0/24'), line: 2 },
    ],
    notify: [{ address: '192.0.2.1', port: 53, key: 'xfr.', line: 3 }],
    check: [{ address: '198.51.100.1', port: 53, key: undefined, line: 4 }],
  };
  const b: TransferSettings = {
    allow: [
      { key: 'xfr.', address: undefined, line: 9 },
      { key: 'other.', address: parsePrefix('192.0.2.0/24'), line: 10 },
    ],
    notify: [
      { address: '192.0.2.1', port: 53, key: 'xfr.', line: 11 },
      { address: '192.0.2.1', port: 5300, key: 'xfr.', line: 12 },
    ],
  };

  it('is the union of every allow entry and notify target, each once; check servers are left out', () => {
    const u = catalogTransfer([a, b, TRANSFER_DEFAULTS]);
    expect(u.allow.map((x) => `${x.key ?? '-'} ${x.address?.text ?? '-'}`)).toEqual([
      'xfr. -',
      '- 192.0.2.0/24',
      'other. 192.0.2.0/24',
    ]);
    expect(u.notify.map((n) => `${n.address}:${n.port}`)).toEqual(['192.0.2.1:53', '192.0.2.1:5300']);
    expect(u.check).toBeUndefined();
  });

  it('no member with transfer settings: nobody may transfer the catalog', () => {
    expect(catalogTransfer([TRANSFER_DEFAULTS])).toBe(TRANSFER_DEFAULTS);
  });

  it('catalogKey changes with the members and with the permissions, not with case or order', () => {
    const k = catalogKey([name('a.example.'), name('b.example.')], catalogTransfer([a]));
    expect(catalogKey([name('B.example.'), name('a.example.')], catalogTransfer([a]))).toBe(k);
    expect(catalogKey([name('a.example.')], catalogTransfer([a]))).not.toBe(k);
    expect(catalogKey([name('a.example.'), name('b.example.')], catalogTransfer([a, b]))).not.toBe(k);
  });
});
