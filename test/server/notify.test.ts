/**
 * The NOTIFY sender (src/server/notify.ts, RFC 1996) with a fake clock and a fake UDP endpoint: the message of
 * §3.7, a burst coalesced into one NOTIFY of the last version, the growing retry interval of §3.6, an answer
 * that stops the retries (and one that does not match, which does not), a TSIG-signed NOTIFY that verifies and
 * an answer whose TSIG does not, and the give-up that is logged and counted.
 */
import { describe, expect, it } from 'vitest';
import { sign, verify, type TsigKey } from '../../src/dnssec/tsig.js';
import { makeKeyring } from '../../src/dnssec/tsigkey.js';
import { createLogger } from '../../src/log.js';
import { NOTIFY_RETRY_MS, NotifySender } from '../../src/server/notify.js';
import type { ZoneVersion } from '../../src/server/publisher.js';
import { FLAG_AA, FLAG_QR } from '../../src/wire/header.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { nameToText, parseName } from '../../src/wire/name.js';
import { OPCODE, T } from '../../src/wire/types.js';
import { buildZone, soaSerial } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { FakeTime } from './fake-time.js';
import { zoneText } from './zone-text.js';

const KEY: TsigKey = {
  name: parseName('xfr-key.'),
  algorithm: 'hmac-sha256',
  secret: new Uint8Array(Buffer.from('UwSRfnkvxxmuAK4SoxR/4vkc8Y0tHWGwDMV8CpxpmaY=', 'base64')),
};
const RING = makeKeyring([KEY]);

function version(serial: number, notify: string, at = 0): ZoneVersion {
  const problems: ZoneProblem[] = [];
  const text = zoneText('example.com.', serial, '192.0.2.1', `transfer:\n  notify:\n${notify}`);
  const zone = buildZone(parseZoneYaml('example.com.yaml', text, problems), { defaultOrigin: 'example.com' }, problems);
  expect(problems).toEqual([]);
  return { origin: 'example.com.', serial, zone, signed: undefined, at };
}

const ONE = '    - { address: 198.51.100.2, port: 5300 }\n';

/** retryMs null: the built-in schedule (NOTIFY_RETRY_MS). */
function setup(retryMs: number[] | null = [2000, 4000, 8000]) {
  const time = new FakeTime();
  const sent: { bytes: Uint8Array; address: string; port: number; at: number }[] = [];
  const lines: string[] = [];
  const counts = { sent: 0, failed: 0 };
  const acked = { n: 0 };
  const sender = new NotifySender({
    endpoint: { send: (bytes, address, port) => sent.push({ bytes, address, port, at: time.now() }) },
    lookup: () => RING.lookup,
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    now: time.now,
    timers: time,
    ...(retryMs !== null ? { retryMs } : {}),
    onSent: () => counts.sent++,
    onFailed: () => counts.failed++,
    onAcked: () => acked.n++,
  });
  return { time, sent, lines, counts, acked, sender, start: time.now() };
}

/** The answer a secondary gives: the NOTIFY's ID, QR set, opcode NOTIFY, the question echoed. */
function answer(notify: Uint8Array, rcode = 0): Uint8Array {
  const m = decodeMessage(notify);
  const a = { ...m, flags: FLAG_QR | FLAG_AA | (OPCODE.NOTIFY << 11) | rcode, answer: [], additional: [] };
  return encodeMessage(a).bytes;
}

describe('NOTIFY sender (RFC 1996)', () => {
  it('sends ZONE SOA with the new SOA in the answer, opcode NOTIFY and AA (§3.7), to the target port', () => {
    const t = setup();
    t.sender.published(version(42, ONE));
    expect(t.sent).toEqual([]); // held until the burst is over
    t.time.advance(0);
    expect(t.sent.map((s) => [s.address, s.port])).toEqual([['198.51.100.2', 5300]]);
    const m = decodeMessage(t.sent[0]!.bytes);
    expect((m.flags >>> 11) & 0xf).toBe(OPCODE.NOTIFY);
    expect(m.flags & (FLAG_AA | FLAG_QR)).toBe(FLAG_AA);
    expect(m.questions.map((q) => [nameToText(q.name), q.type])).toEqual([['example.com.', T.SOA]]);
    expect(m.answer.map((r) => [r.type, soaSerial(r.rdata)])).toEqual([[T.SOA, 42]]);
    expect(t.counts.sent).toBe(1);
  });

  it('coalesces a burst into one NOTIFY of the last version, and a newer version replaces a pending one', () => {
    const t = setup();
    t.sender.published(version(1, ONE));
    t.sender.published(version(2, ONE));
    t.sender.published(version(3, ONE));
    t.time.advance(0);
    expect(t.sent.map((s) => soaSerial(decodeMessage(s.bytes).answer[0]!.rdata))).toEqual([3]);
    t.time.advance(1000);
    t.sender.published(version(4, ONE));
    t.time.advance(0);
    // The answer to serial 3 no longer ends anything: serial 4 is the one outstanding.
    t.sender.receive(answer(t.sent[0]!.bytes), '198.51.100.2', 5300);
    t.time.advance(2000);
    const serials = t.sent.map((s) => soaSerial(decodeMessage(s.bytes).answer[0]!.rdata));
    expect(serials).toEqual([3, 4, 4]);
  });

  it('retries with a growing interval, then gives up with a notify-failed line and a count (§3.6)', () => {
    const t = setup();
    t.sender.published(version(9, ONE));
    t.time.advance(60_000);
    expect(t.sent.map((s) => s.at - t.start)).toEqual([0, 2000, 6000]);
    // Retransmissions are the same message (same ID).
    expect(new Set(t.sent.map((s) => Buffer.from(s.bytes).toString('hex'))).size).toBe(1);
    const failed = t.lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'notify-failed');
    expect(failed).toMatchObject([
      { zone: 'example.com.', target: '198.51.100.2#5300', serial: 9, reason: 'no answer after 3 tries' },
    ]);
    expect(t.counts).toEqual({ sent: 3, failed: 1 });
    expect(t.time.size).toBe(0);
  });

  it('by default doubles the interval up to 60 s and gives up 15 min after the first try, logging each retry', () => {
    const t = setup(null);
    expect(NOTIFY_RETRY_MS).toHaveLength(19);
    t.sender.published(version(9, ONE));
    t.time.advance(901_000);
    const at = t.sent.map((s) => (s.at - t.start) / 1000);
    // 2, 4, 8, 16, 32 s apart, then every 60 s: a path down for a minute or more still gets a NOTIFY after it.
    expect(at.slice(0, 7)).toEqual([0, 2, 6, 14, 30, 62, 122]);
    expect(at).toHaveLength(19);
    expect(at.at(-1)).toBe(842);
    const events = t.lines.map((l) => JSON.parse(l));
    expect(events.filter((l) => l.event === 'notify-sent')).toMatchObject([{ serial: 9 }]);
    const retries = events.filter((l) => l.event === 'notify-retry');
    expect(retries.map((l) => l.try)).toEqual(Array.from({ length: 18 }, (_, i) => i + 2));
    expect(retries[0]).toMatchObject({ zone: 'example.com.', target: '198.51.100.2#5300', serial: 9 });
    expect(t.counts.failed).toBe(0);
    t.time.advance(1000);
    expect(events.length).toBe(t.lines.length - 1);
    expect(JSON.parse(t.lines.at(-1)!)).toMatchObject({ event: 'notify-failed', reason: 'no answer after 19 tries' });
    expect(t.counts).toEqual({ sent: 19, failed: 1 });
  });

  it('stops retrying at the answer with the same ID from the target; other answers do not count', () => {
    const t = setup();
    t.sender.published(version(9, ONE));
    t.time.advance(0);
    const notify = t.sent[0]!.bytes;
    const wrongId = answer(notify);
    wrongId[1]! ^= 1;
    t.sender.receive(wrongId, '198.51.100.2', 5300);
    t.sender.receive(answer(notify), '198.51.100.3', 5300); // another address
    t.sender.receive(notify, '198.51.100.2', 5300); // QR clear: not an answer
    t.time.advance(2000);
    expect(t.sent).toHaveLength(2);
    t.sender.receive(answer(notify), '198.51.100.2', 5300);
    t.time.advance(60_000);
    expect(t.sent).toHaveLength(2);
    expect(t.counts.failed).toBe(0);
    expect(t.lines.some((l) => l.includes('notify-acknowledged'))).toBe(true);
  });

  it('counts an acknowledgement once (the /metrics counter); neither other answers nor an error answer count', () => {
    const t = setup();
    t.sender.published(version(9, ONE));
    t.time.advance(0);
    const notify = t.sent[0]!.bytes;
    t.sender.receive(answer(notify), '198.51.100.3', 5300); // another address
    expect(t.acked.n).toBe(0);
    t.sender.receive(answer(notify), '198.51.100.2', 5300);
    t.sender.receive(answer(notify), '198.51.100.2', 5300); // a duplicate: the NOTIFY is over
    expect(t.acked.n).toBe(1);
    t.sender.published(version(10, ONE));
    t.time.advance(0);
    t.sender.receive(answer(t.sent.at(-1)!.bytes, 5), '198.51.100.2', 5300);
    expect([t.acked.n, t.counts.failed]).toEqual([1, 1]);
  });

  it('an error answer ends the NOTIFY as failed, naming the rcode', () => {
    const t = setup();
    t.sender.published(version(9, ONE));
    t.time.advance(0);
    t.sender.receive(answer(t.sent[0]!.bytes, 5), '198.51.100.2', 5300);
    t.time.advance(60_000);
    expect(t.sent).toHaveLength(1);
    expect(t.lines.find((l) => l.includes('notify-failed'))).toContain('answered REFUSED');
    expect(t.counts.failed).toBe(1);
  });

  it('signs with the target key (verifiable, RFC 8945 §4.3.1) and takes only an answer signed in its chain', () => {
    const t = setup();
    t.sender.published(version(5, '    - { address: "2001:db8::53", key: xfr-key }\n'));
    t.time.advance(0);
    const { bytes, address, port } = t.sent[0]!;
    expect([address, port]).toEqual(['2001:db8::53', 53]);
    const v = verify(bytes, RING.lookup, Math.floor(t.time.now() / 1000));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    // An unsigned answer, or one signed without the request's MAC, is not the target's: retried still.
    t.sender.receive(answer(bytes), '2001:db8:0::53', 53);
    t.sender.receive(sign(answer(bytes), KEY, { time: Math.floor(t.time.now() / 1000) }), '2001:db8::53', 53);
    t.time.advance(2000);
    expect(t.sent).toHaveLength(2);
    const good = sign(answer(bytes), KEY, { time: Math.floor(t.time.now() / 1000), chain: { mac: v.mac } });
    t.sender.receive(good, '2001:db8:0:0::53', 53); // the same address written otherwise
    t.time.advance(60_000);
    expect(t.sent).toHaveLength(2);
    expect(t.counts.failed).toBe(0);
  });

  it('a target no longer listed in the new version is not retried', () => {
    const t = setup();
    t.sender.published(version(5, ONE + '    - address: 192.0.2.9\n'));
    t.time.advance(0);
    t.sender.published(version(6, '    - address: 192.0.2.9\n'));
    t.time.advance(60_000);
    expect(t.sent.filter((s) => s.address === '198.51.100.2')).toHaveLength(1);
    expect(t.sent.filter((s) => s.address === '192.0.2.9')).toHaveLength(1 + 3);
  });

  it('sends to every target, and stops everything on withdraw and on close', () => {
    const t = setup();
    t.sender.published(version(5, ONE + '    - address: 192.0.2.9\n'));
    t.time.advance(0);
    expect(t.sent.map((s) => `${s.address}#${s.port}`)).toEqual(['198.51.100.2#5300', '192.0.2.9#53']);
    t.sender.withdrawn('example.com.');
    t.time.advance(60_000);
    expect(t.sent).toHaveLength(2);
    t.sender.published(version(6, ONE));
    t.sender.close();
    t.time.advance(60_000);
    expect(t.sent).toHaveLength(2);
    expect(t.time.size).toBe(0);
  });

  it('again: the newest version once more to an acknowledged target (new ID, retried), not while one is out', () => {
    const t = setup();
    t.sender.published(version(7, ONE));
    t.time.advance(0);
    expect(t.sender.again('example.com.', '198.51.100.2', 5300, 6)).toBe(false); // still outstanding
    t.sender.receive(answer(t.sent[0]!.bytes), '198.51.100.2', 5300);
    expect(t.sender.again('example.com.', '192.0.2.99', 53, 6)).toBe(false); // not a target
    expect(t.sender.again('example.org.', '198.51.100.2', 5300, 6)).toBe(false); // not a zone
    expect(t.sender.again('example.com.', '198.51.100.2', 5300, 6)).toBe(true);
    t.time.advance(0);
    expect(t.sent).toHaveLength(2);
    const [first, second] = t.sent.map((s) => decodeMessage(s.bytes));
    expect(second!.id).not.toBe(first!.id);
    expect(soaSerial(second!.answer[0]!.rdata)).toBe(7);
    expect(t.lines.some((l) => l.includes('"event":"notify-again"') && l.includes('"served":6'))).toBe(true);
    t.time.advance(2000); // not acknowledged: retried as any NOTIFY
    expect(t.sent).toHaveLength(3);
    t.sender.withdrawn('example.com.');
    expect(t.sender.again('example.com.', '198.51.100.2', 5300, 6)).toBe(false);
  });
});
