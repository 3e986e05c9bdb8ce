/**
 * src/server/catalog.ts: the served catalog follows the zones with `transfer:` (a vanished one stays for the
 * grace, its end rebuilds through the timer, the state survives a new ServerCatalog on the same state directory),
 * the same Zone object while nothing changed, a zone with the catalog's name keeps the catalog out; and the ACL:
 * every query for a name of the catalog is REFUSED unless the client may transfer it, other names go through.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { ServerCatalog, withCatalogAcl } from '../../src/server/catalog.js';
import { makeSnapshot, type Responder } from '../../src/server/handler.js';
import type { TsigKey } from '../../src/dnssec/tsigalg.js';
import { decodeMessage, encodeQuery } from '../../src/wire/message.js';
import { nameFromWire, nameToText, parseName, ROOT } from '../../src/wire/name.js';
import { memberId } from '../../src/zone/catalog.js';
import { RCODE, T } from '../../src/wire/types.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { ZoneSet } from '../../src/zone/set.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';
import { FakeTime } from './fake-time.js';
import { zoneText } from './zone-text.js';

const CAT = parseName('catalog.invalid.', ROOT);

function zoneWith(origin: string, transfer = ''): Zone {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml(
    `${origin}yaml`,
    zoneText(origin, 1) + (transfer ? `transfer:\n${transfer}` : ''),
    problems,
  );
  const zone = buildZone(src, { defaultOrigin: origin }, problems);
  expect(problems).toEqual([]);
  return zone;
}
const withKey = (o: string) => zoneWith(o, '  allow:\n    - key: xfr\n  notify:\n    - address: 192.0.2.7\n');
const withAddress = (o: string) => zoneWith(o, '  allow:\n    - address: 198.51.100.0/24\n');

const catalogOf = (zones: Zone[]): Zone | undefined => zones.find((z) => z.origin.key === CAT.key);
/** The member names the catalog lists: the PTR targets under `zones`, each at the owner of its member ID. */
function listed(zone: Zone | undefined): string[] {
  const out: string[] = [];
  for (const n of zone?.ordered ?? []) {
    const ptr = n.rrsets.get(T.PTR);
    if (!ptr) continue;
    const target = nameToText(nameFromWire(ptr.rdatas[0]!));
    expect(nameToText(n.name)).toBe(`${memberId(parseName(target, ROOT))}.zones.catalog.invalid.`);
    out.push(target);
  }
  return out.sort();
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dane-ns-catalog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function make(time: FakeTime, expired: { n: number }, grace = 60, lines: string[] = []): ServerCatalog {
  return new ServerCatalog({
    name: CAT,
    graceSeconds: grace,
    stateDir: dir,
    logger: createLogger({ write: (l) => void lines.push(l) }),
    now: time.now,
    timers: time,
    autoSerial: () => 1,
    onExpiry: () => expired.n++,
  });
}

describe('ServerCatalog', () => {
  const a = withKey('a.example.');
  const b = withAddress('b.example.');
  const plain = zoneWith('c.example.');

  it('lists the zones with transfer:, allows and notifies their union, and reuses an unchanged build', () => {
    const time = new FakeTime();
    const c = make(time, { n: 0 });
    const out = c.withCatalog([a, b, plain]);
    expect(out.slice(0, 3)).toEqual([a, b, plain]);
    const cat = catalogOf(out)!;
    expect(listed(cat)).toEqual(['a.example.', 'b.example.']);
    expect(cat.transfer.allow.map((x) => x.key ?? x.address?.text)).toEqual(['xfr.', '198.51.100.0/24']);
    expect(cat.transfer.notify.map((n) => n.address)).toEqual(['192.0.2.7']);
    expect(catalogOf(c.withCatalog([a, b, plain]))).toBe(cat);
  });

  it('a vanished member stays for the grace, the timer rebuilds at its end; a restart keeps the time and permissions', () => {
    const time = new FakeTime();
    const expired = { n: 0 };
    const c = make(time, expired);
    c.withCatalog([a, b]);
    time.advance(10_000);
    const lingering = catalogOf(c.withCatalog([a]))!;
    expect(listed(lingering)).toEqual(['a.example.', 'b.example.']);
    // b's secondaries keep their permission while b is listed.
    expect(lingering.transfer.allow.map((x) => x.key ?? x.address?.text)).toEqual(['xfr.', '198.51.100.0/24']);
    expect(time.dueTimes()).toEqual([time.now() + 60_000]);
    c.close();
    // A restart 30 s later: b is still listed, until 60 s after it went, not 60 s after the restart.
    time.advance(30_000);
    const again = make(time, expired);
    expect(listed(catalogOf(again.withCatalog([a])))).toEqual(['a.example.', 'b.example.']);
    time.advance(29_999);
    expect(expired.n).toBe(0);
    time.advance(1);
    expect(expired.n).toBe(1);
    const after = catalogOf(again.withCatalog([a]))!;
    expect(listed(after)).toEqual(['a.example.']);
    // b's secondaries were kept in catalog.json across the restart: they may still read the catalog without b,
    // for one more grace, and then no more.
    expect(after.transfer.allow.map((x) => x.key ?? x.address?.text)).toEqual(['xfr.', '198.51.100.0/24']);
    const third = make(time, expired);
    expect(catalogOf(third.withCatalog([a]))!.transfer.allow.map((x) => x.key ?? x.address?.text)).toEqual([
      'xfr.',
      '198.51.100.0/24',
    ]);
    again.close();
    time.advance(60_000);
    expect(catalogOf(third.withCatalog([a]))!.transfer.allow.map((x) => x.key ?? x.address?.text)).toEqual(['xfr.']);
    third.close();
  });

  it("a dropped member's secondaries keep their permission and NOTIFY for one more grace, to learn of the drop", () => {
    const time = new FakeTime();
    const expired = { n: 0 };
    const c = make(time, expired);
    c.withCatalog([a, b]);
    c.withCatalog([]); // both files gone: both linger
    time.advance(60_000);
    expect(expired.n).toBe(1);
    const dropped = catalogOf(c.withCatalog([]))!;
    expect(listed(dropped)).toEqual([]);
    expect(dropped.transfer.allow.map((x) => x.key ?? x.address?.text)).toEqual(['xfr.', '198.51.100.0/24']);
    expect(dropped.transfer.notify.map((n) => n.address)).toEqual(['192.0.2.7']);
    time.advance(60_000);
    expect(expired.n).toBe(2);
    const later = catalogOf(c.withCatalog([]))!;
    expect(later.transfer.allow).toEqual([]);
    expect(later.transfer.notify).toEqual([]);
    expect(time.dueTimes()).toEqual([]);
    c.close();
  });

  it('says once that a member lingers, with the end of its grace, and again after a restart', () => {
    const time = new FakeTime();
    const lines: string[] = [];
    const c = make(time, { n: 0 }, 60, lines);
    c.withCatalog([a, b]);
    c.withCatalog([a]);
    c.withCatalog([a]);
    const lingers = () => lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'catalog-member-lingers');
    expect(lingers()).toMatchObject([
      { zone: 'b.example.', until: new Date(time.now() + 60_000).toISOString(), catalog: 'catalog.invalid.' },
    ]);
    c.close();
    make(time, { n: 0 }, 60, lines).withCatalog([a]);
    expect(lingers()).toHaveLength(2);
  });

  it('a member gone while the server was down starts its grace at the next start', () => {
    const time = new FakeTime();
    make(time, { n: 0 }).withCatalog([a, b]);
    const next = make(time, { n: 0 });
    expect(listed(catalogOf(next.withCatalog([a])))).toEqual(['a.example.', 'b.example.']);
    expect(time.dueTimes()).toEqual([time.now() + 60_000]);
    next.close();
  });

  it('a zone file with the catalog name keeps the catalog out', () => {
    const c = make(new FakeTime(), { n: 0 });
    const taken = withKey('catalog.invalid.');
    expect(c.withCatalog([a, taken])).toEqual([a, taken]);
  });
});

describe('withCatalogAcl', () => {
  const member = withKey('a.example.');
  const open = zoneWith('example.net.');
  let zones: Zone[] = [];
  const MARK = Uint8Array.of(1, 2, 3);
  const inner: Responder = () => MARK;
  const snap = () => makeSnapshot(new ZoneSet(zones));
  const acl = withCatalogAcl(inner, CAT, snap);
  const key = (n: string): TsigKey =>
    ({ name: parseName(n, ROOT), algorithm: 'hmac-sha256', secret: new Uint8Array(32) }) as unknown as TsigKey;
  const remote = (address: string) => ({ address, port: 5300, family: 'IPv4' as const });
  const ask = (qname: string, qtype: number, from: string, k?: TsigKey) =>
    acl(encodeQuery(parseName(qname, ROOT), qtype), 'udp', remote(from), 0, k);

  it('refuses SOA, AXFR and names below the catalog without the key; answers with it', () => {
    zones = make(new FakeTime(), { n: 0 }).withCatalog([member, open]);
    for (const [qname, qtype] of [
      ['catalog.invalid.', T.SOA],
      ['CATALOG.Invalid.', T.SOA],
      ['version.catalog.invalid.', T.TXT],
      ['zones.catalog.invalid.', T.PTR],
      ['nothing.here.catalog.invalid.', T.A],
      ['catalog.invalid.', T.AXFR],
    ] as const) {
      const out = ask(qname, qtype, '192.0.2.1');
      expect(out, qname).not.toBe(MARK);
      const m = decodeMessage(out!);
      expect(m.flags & 0xf).toBe(RCODE.REFUSED);
      expect(m.questions[0]?.name.key).toBe(parseName(qname, ROOT).key);
      expect(ask(qname, qtype, '192.0.2.1', key('other.'))).not.toBe(MARK);
      expect(ask(qname, qtype, '192.0.2.1', key('xfr.'))).toBe(MARK);
    }
  });

  it('leaves other names alone, a name that only ends like the catalog too', () => {
    zones = make(new FakeTime(), { n: 0 }).withCatalog([member, open]);
    for (const qname of ['a.example.', 'www.example.net.', 'xcatalog.invalid.', 'invalid.'])
      expect(ask(qname, T.SOA, '192.0.2.1'), qname).toBe(MARK);
  });

  it('a question name that points back into the header is decoded and refused all the same', () => {
    // Catalog `c.`: ID 0x0163 and the flags' first octet 0 spell \x01 c \x00 at offset 0; the question is a
    // compression pointer to it (RFC 1035 §4.1.4 allows any earlier offset), so the name asked is `c.`.
    const short = parseName('c.', ROOT);
    zones = new ServerCatalog({
      name: short,
      graceSeconds: 60,
      stateDir: dir,
      logger: createLogger({ write: () => {} }),
      now: () => 0,
      timers: new FakeTime(),
      autoSerial: () => 1,
      onExpiry: () => {},
    }).withCatalog([member]);
    const query = Uint8Array.of(0x01, 0x63, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x00, 0, T.SOA, 0, 1);
    expect(decodeMessage(query).questions[0]!.name.key).toBe(short.key);
    const guarded = withCatalogAcl(inner, short, snap);
    const out = guarded(query, 'udp', remote('192.0.2.1'), 0, undefined);
    expect(out).not.toBe(MARK);
    expect(decodeMessage(out!).flags & 0xf).toBe(RCODE.REFUSED);
    expect(guarded(query, 'udp', remote('192.0.2.1'), 0, key('xfr.'))).toBe(MARK);
  });
});
