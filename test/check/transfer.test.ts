/**
 * The transfer lines of `dane-ns check` (src/check/transfer.ts) against stand-in targets on loopback UDP: the
 * allow entries as text; a target at the served serial (current), behind, newer, answering REFUSED, silent (no answer within the timeout), one whose key is missing,
 * and a TSIG target that checks our signature and signs its answer (RFC 8945 §5.3) or signs it wrongly.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { sign, verify, type TsigKey } from '../../src/dnssec/tsig.js';
import { makeKeyring } from '../../src/dnssec/tsigkey.js';
import { allowText, transferFindings } from '../../src/check/transfer.js';
import { FLAG_AA, FLAG_QR } from '../../src/wire/header.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { parseName } from '../../src/wire/name.js';
import { CLASS_IN, RCODE, T } from '../../src/wire/types.js';
import { buildZone, withSoaSerial } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';

const SECRET = new Uint8Array(Buffer.from('UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=', 'base64'));
const KEY: TsigKey = { name: parseName('sec.'), algorithm: 'hmac-sha256', secret: SECRET };
const WRONG: TsigKey = { ...KEY, secret: new Uint8Array(32) };
const RING = makeKeyring([KEY]);
const NOW_MS = Date.now();
const SERVED = 2026120201;
const WRAPPED = (SERVED + 0x8000_0001) % 0x1_0000_0000;

function zone(transfer: string): Zone {
  const problems: ZoneProblem[] = [];
  const text = `origin: example.com.\nsoa: { mname: ns1, rname: h, serial: ${SERVED} }\ndnssec: { enabled: false }\n${transfer}records:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n`;
  const z = buildZone(parseZoneYaml('example.com.yaml', text, problems), { defaultOrigin: 'example.com' }, problems);
  expect(problems).toEqual([]);
  return z;
}
const SOA = zone('').soa.rdatas[0]!;

const sockets: Socket[] = [];
afterAll(() => sockets.forEach((s) => s.close()));

/** A stand-in secondary on 127.0.0.1: answers the SOA query with `serial`, or `rcode`, signed with `key` when given. */
async function target(o: { serial?: number; rcode?: number; key?: TsigKey; silent?: boolean }): Promise<number> {
  const s = createSocket('udp4');
  sockets.push(s);
  s.on('message', (m, from) => {
    if (o.silent) return;
    const q = decodeMessage(m);
    const a = encodeMessage({
      id: q.id,
      flags: FLAG_QR | FLAG_AA | (o.rcode ?? 0),
      questions: q.questions,
      answer:
        o.rcode === undefined
          ? [
              {
                name: q.questions[0]!.name,
                type: T.SOA,
                class: CLASS_IN,
                ttl: 300,
                rdata: withSoaSerial(SOA, o.serial!),
              },
            ]
          : [],
      authority: [],
      additional: [],
      edns: null,
    }).bytes;
    let out = a;
    if (o.key) {
      // The target checks our signature first, then signs its answer in the chain of our MAC.
      const v = verify(m, RING.lookup, Math.floor(NOW_MS / 1000));
      if (!v.ok) return;
      out = sign(a, o.key, { time: Math.floor(NOW_MS / 1000), chain: { mac: v.mac } });
    }
    s.send(out, from.port, from.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s.address().port;
}

const notifyTo = (ports: [number, string?][]): string =>
  `transfer:\n  allow:\n    - { key: sec, address: 198.51.100.0/24 }\n    - address: 192.0.2.9\n  notify:\n${ports
    .map(([p, key]) => `    - { address: 127.0.0.1, port: ${p}${key ? `, key: ${key}` : ''} }\n`)
    .join('')}`;

const check = (z: Zone) =>
  transferFindings({
    zone: z,
    served: SERVED,
    lookup: RING.lookup,
    keysDir: 'keys',
    timeoutMs: 300,
    now: NOW_MS,
  });

describe('dane-ns check: transfer lines', () => {
  it('a zone without transfer settings: no line', async () => {
    expect(await check(zone(''))).toEqual([]);
  });

  it('allow entries as written; each target compared with the served serial', async () => {
    const ports = [
      await target({ serial: SERVED }),
      await target({ serial: SERVED - 100 }),
      await target({ serial: WRAPPED }),
      await target({ serial: SERVED + 1 }),
      await target({ rcode: RCODE.REFUSED }),
      await target({ silent: true }),
    ];
    const z = zone(notifyTo(ports.map((p) => [p])));
    expect(allowText(z.transfer.allow[0]!)).toBe('key sec. from 198.51.100.0/24');
    const t0 = Date.now();
    const f = await check(z);
    // The targets are asked at once: the silent one costs one timeout, not one per target.
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(f.map((x) => `${x.level} ${x.what}: ${x.detail}`)).toEqual([
      'ok transfer allow: key sec. from 198.51.100.0/24',
      'ok transfer allow: from 192.0.2.9',
      `ok notify 127.0.0.1:${ports[0]}: serial ${SERVED} (current)`,
      `warn notify 127.0.0.1:${ports[1]}: serial ${SERVED - 100} (behind the served ${SERVED})`,
      // RFC 1982: larger as a number, yet 2^31 - 1 behind in serial arithmetic.
      `warn notify 127.0.0.1:${ports[2]}: serial ${WRAPPED} (behind the served ${SERVED})`,
      `warn notify 127.0.0.1:${ports[3]}: serial ${SERVED + 1} (newer than the served ${SERVED})`,
      `warn notify 127.0.0.1:${ports[4]}: (REFUSED)`,
      `warn notify 127.0.0.1:${ports[5]}: (no answer within 300 ms)`,
    ]);
  });

  it('check servers are asked like the notify targets; a lag the running server reports is shown', async () => {
    const behind = await target({ serial: SERVED - 1 });
    const current = await target({ serial: SERVED });
    const z = zone(
      `transfer:\n  check:\n    - { address: 127.0.0.1, port: ${behind} }\n    - { address: 127.0.0.1, port: ${current} }\n`,
    );
    const f = await transferFindings({
      zone: z,
      served: SERVED,
      lookup: RING.lookup,
      keysDir: 'keys',
      timeoutMs: 300,
      now: NOW_MS,
      lagSeconds: new Map([[`127.0.0.1#${behind}`, 42]]),
    });
    expect(f.map((x) => `${x.level} ${x.what}: ${x.detail}`)).toEqual([
      `warn check 127.0.0.1:${behind}: serial ${SERVED - 1} (behind the served ${SERVED}; 42 s behind)`,
      `ok check 127.0.0.1:${current}: serial ${SERVED} (current)`,
    ]);
  });

  it('a target with a key: asked signed, its signed answer verified; a wrong signature or a missing key is a warning', async () => {
    const good = await target({ serial: SERVED, key: KEY });
    const bad = await target({ serial: SERVED, key: WRONG });
    const f = await check(
      zone(
        notifyTo([
          [good, 'sec'],
          [bad, 'sec'],
          [good, 'nokey'],
        ]),
      ),
    );
    expect(f.slice(2).map((x) => `${x.level} ${x.what}: ${x.detail}`)).toEqual([
      `ok notify 127.0.0.1:${good} key sec.: serial ${SERVED} (current)`,
      expect.stringMatching(
        new RegExp(`^warn notify 127\\.0\\.0\\.1:${bad} key sec\\.: \\(its answer's TSIG does not verify: `),
      ),
      `warn notify 127.0.0.1:${good} key nokey.: not asked: no TSIG key "nokey." in keys/tsig`,
    ]);
  });
});
