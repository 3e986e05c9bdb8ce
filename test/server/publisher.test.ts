import { describe, expect, it } from 'vitest';
import type { ZoneSecurity } from '../../src/query/security.js';
import { Publisher, type PublishReason, type ZoneVersion } from '../../src/server/publisher.js';
import type { Secured } from '../../src/server/signer.js';
import { parseName } from '../../src/wire/name.js';
import type { Zone } from '../../src/zone/zone.js';
import { FakeTime } from './fake-time.js';
import { makeZone } from './zone-text.js';

const secured = (zones: Zone[], security = new Map<Zone, ZoneSecurity>()): Secured => ({
  zones,
  security,
  nextDue: Infinity,
});
/** A stand-in signed view: the publisher compares signed views by identity only. */
const signedView = (): ZoneSecurity => ({}) as ZoneSecurity;

function setup(): {
  time: FakeTime;
  pub: Publisher;
  heard: { origin: string; serial: number; at: number; reason: PublishReason }[];
  gone: string[];
} {
  const time = new FakeTime();
  const pub = new Publisher(time.now);
  const heard: { origin: string; serial: number; at: number; reason: PublishReason }[] = [];
  const gone: string[] = [];
  pub.onPublished({
    published: (v, reason) => heard.push({ origin: v.origin, serial: v.serial, at: v.at, reason }),
    withdrawn: (origin) => gone.push(origin),
  });
  return { time, pub, heard, gone };
}

describe('Publisher', () => {
  it('tells subscribers once per zone at the first publication, with serial, reason and the clock time', () => {
    const { time, pub, heard } = setup();
    const a = makeZone('a.example.', 7);
    const b = makeZone('b.example.', 9);
    time.advance(5000);
    pub.publish(secured([a, b]), 'start');
    expect(heard).toEqual([
      { origin: 'a.example.', serial: 7, at: time.now(), reason: 'start' },
      { origin: 'b.example.', serial: 9, at: time.now(), reason: 'start' },
    ]);
  });

  it('stays silent for unchanged zones and speaks for the changed one only', () => {
    const { pub, heard } = setup();
    const a = makeZone('a.example.', 1);
    const b = makeZone('b.example.', 1);
    pub.publish(secured([a, b]), 'start');
    heard.length = 0;
    pub.publish(secured([a, b]), 'refresh');
    expect(heard).toEqual([]);
    const b2 = makeZone('b.example.', 2, '192.0.2.99');
    pub.publish(secured([a, b2]), 'reload');
    expect(heard.map((h) => [h.origin, h.serial, h.reason])).toEqual([['b.example.', 2, 'reload']]);
  });

  it('a new signed view of the same zone is a new version', () => {
    const { pub, heard } = setup();
    const a = makeZone('a.example.', 1);
    const view = signedView();
    pub.publish(secured([a], new Map([[a, view]])), 'start');
    pub.publish(secured([a], new Map([[a, view]])), 'refresh');
    expect(heard).toHaveLength(1);
    pub.publish(secured([a], new Map([[a, signedView()]])), 'refresh');
    expect(heard.map((h) => h.reason)).toEqual(['start', 'refresh']);
    expect(pub.served().get(a.origin.key)!.signed).not.toBe(view);
  });

  it('the same content under the same serial with another transfer: section is served at once, silently', () => {
    const time = new FakeTime();
    let first = true;
    // The assigner's answer for content recorded before: the same serial, unchanged.
    const pub = new Publisher(time.now, undefined, (zone, signed) => {
      const unchanged = !first;
      first = false;
      return { serial: 5, zone, signed, due: Infinity, unchanged };
    });
    const heard: number[] = [];
    pub.onPublished({ published: (v) => heard.push(v.serial) });
    const a = makeZone('a.example.', 5);
    pub.publish(secured([a]), 'start');
    // The same zone but for who may transfer it (settings are not zone content: no new serial).
    const allowed: Zone = Object.assign(Object.create(Object.getPrototypeOf(a) as object) as Zone, a, {
      transfer: { allow: [{ key: 'xfr.', address: undefined, line: 3 }], notify: [] },
    });
    pub.publish(secured([allowed]), 'reload');
    expect(heard).toEqual([5]);
    expect(
      pub
        .served()
        .get(a.origin.key)!
        .zone.transfer.allow.map((x) => x.key),
    ).toEqual(['xfr.']);
    expect(pub.current().zones.get(a.origin)).toBe(allowed);
    // Reloaded again with the same settings: the version served stays as it is.
    const again: Zone = Object.assign(Object.create(Object.getPrototypeOf(a) as object) as Zone, allowed, {
      transfer: { allow: [{ key: 'xfr.', address: undefined, line: 4 }], notify: [] },
    });
    pub.publish(secured([again]), 'reload');
    expect(pub.current().zones.get(a.origin)).toBe(allowed);
    expect(heard).toEqual([5]);
  });

  it('the query path sees the new snapshot exactly from the publication on, and subscribers see it too', () => {
    const { pub } = setup();
    const a1 = makeZone('a.example.', 1);
    const a2 = makeZone('a.example.', 2, '192.0.2.2');
    const origin = parseName('a.example.');
    expect(pub.current().zones.get(origin)).toBeUndefined();
    pub.publish(secured([a1]), 'start');
    const first = pub.current();
    expect(first.zones.get(origin)).toBe(a1);
    expect(pub.current()).toBe(first); // nothing swaps between publications
    let seenBySubscriber: Zone | undefined;
    pub.onPublished({ published: () => (seenBySubscriber = pub.current().zones.get(origin)) });
    pub.publish(secured([a2]), 'reload');
    expect(pub.current()).not.toBe(first);
    expect(pub.current().zones.get(origin)).toBe(a2);
    expect(seenBySubscriber).toBe(a2);
  });

  it('every snapshot adds to one set of response cache counters: a reload does not set them back', () => {
    const { pub } = setup();
    pub.publish(secured([makeZone('a.example.', 1)]), 'start');
    pub.current().cache.set('k', 1, Uint8Array.of(1));
    pub.current().cache.get('k', 1);
    pub.publish(secured([makeZone('a.example.', 2, '192.0.2.2')]), 'reload');
    expect(pub.current().cache.size).toBe(0);
    pub.current().cache.get('k', 1);
    expect(pub.cacheStats).toMatchObject({ hits: 1, misses: 1, admitted: 1 });
    expect(pub.current().cache.stats).toBe(pub.cacheStats);
  });

  it('a zone no longer published is withdrawn once', () => {
    const { pub, gone } = setup();
    const a = makeZone('a.example.', 1);
    const b = makeZone('b.example.', 1);
    pub.publish(secured([a, b]), 'start');
    pub.publish(secured([a]), 'reload');
    pub.publish(secured([a]), 'reload');
    expect(gone).toEqual(['b.example.']);
    expect([...pub.served().values()].map((v: ZoneVersion) => v.origin)).toEqual(['a.example.']);
  });

  it('a throwing subscriber is reported and the others still hear; unsubscribing stops the calls', () => {
    const time = new FakeTime();
    const errors: unknown[] = [];
    const pub = new Publisher(time.now, (e) => errors.push(e));
    const heard: string[] = [];
    pub.onPublished({
      published: () => {
        throw new Error('subscriber broke');
      },
    });
    const off = pub.onPublished({ published: (v) => heard.push(v.origin) });
    pub.publish(secured([makeZone('a.example.', 1)]), 'start');
    expect(heard).toEqual(['a.example.']);
    expect(String(errors[0])).toContain('subscriber broke');
    off();
    pub.publish(secured([makeZone('a.example.', 2)]), 'reload');
    expect(heard).toEqual(['a.example.']);
  });
});
