/**
 * The poller of the watched servers (src/server/watch-poll.ts): notify targets and check servers are asked after
 * each new serial, every 2 s while behind and every 60 s once current; catching up is reported once.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { ZoneVersion } from '../../src/server/publisher.js';
import { SecondaryWatch } from '../../src/server/watch.js';
import { WatchPoller } from '../../src/server/watch-poll.js';
import { buildZone } from '../../src/zone/build.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import { FakeTime } from './fake-time.js';
import { zoneText } from './zone-text.js';

const transfer = 'transfer:\n  notify:\n    - address: 192.0.2.1\n  check: [192.0.2.2]\n';

function version(serial: number, at: number): ZoneVersion {
  const problems: ZoneProblem[] = [];
  const src = parseZoneYaml('example.com.yaml', zoneText('example.com.', serial, '192.0.2.1', transfer), problems);
  const zone = buildZone(src, { defaultOrigin: 'example.com.' }, problems);
  expect(problems).toEqual([]);
  return { origin: 'example.com.', serial, zone, signed: undefined, at };
}

describe('WatchPoller', () => {
  it('asks every watched server soon after a new serial, again every 2 s while behind, then every 60 s', async () => {
    const time = new FakeTime();
    const watch = new SecondaryWatch();
    const serving = new Map([
      ['192.0.2.1', 1],
      ['192.0.2.2', 1],
    ]);
    const asked: string[] = [];
    const caughtUp: string[] = [];
    const poller = new WatchPoller({
      watch,
      lookup: () => () => undefined,
      logger: createLogger({ write: () => {} }),
      now: time.now,
      timers: time,
      ask: (t) => (asked.push(t.address), Promise.resolve(serving.get(t.address)!)),
      onCaughtUp: (_z, server) => caughtUp.push(server),
    });
    const settle = async (ms: number): Promise<void> => {
      time.advance(ms);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    poller.published(version(2, time.now()));
    await settle(1000);
    expect(asked.sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(watch.status('example.com.', time.now()).map((s) => s.behind)).toEqual([true, true]);
    serving.set('192.0.2.1', 2);
    asked.length = 0;
    await settle(2000);
    expect(asked.sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(caughtUp).toEqual(['192.0.2.1#53']);
    asked.length = 0;
    await settle(2000); // only the one still behind is asked again soon
    expect(asked).toEqual(['192.0.2.2']);
    serving.set('192.0.2.2', 3); // ahead of us: serves everything we published
    await settle(2000);
    expect(caughtUp).toEqual(['192.0.2.1#53', '192.0.2.2#53']);
    asked.length = 0;
    await settle(55_000); // 192.0.2.1 was current at 3 s: asked again at 63 s, 192.0.2.2 at 67 s
    expect(asked).toEqual([]);
    await settle(6000);
    expect(asked.sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    poller.close();
    expect(time.size).toBe(0);
  });

  it('a notify target is asked 2 s after its NOTIFY settled, a check server at once', async () => {
    const time = new FakeTime();
    const asked: [string, number][] = [];
    let settledAt: number | undefined;
    const t0 = time.now();
    const poller = new WatchPoller({
      watch: new SecondaryWatch(),
      lookup: () => () => undefined,
      logger: createLogger({ write: () => {} }),
      now: time.now,
      timers: time,
      ask: (t) => (asked.push([t.address, time.now() - t0]), Promise.resolve(1)),
      notifySettled: (_z, address) => (address === '192.0.2.1' ? settledAt : 0),
    });
    poller.published(version(2, t0));
    time.advance(1000);
    await Promise.resolve();
    expect(asked).toEqual([['192.0.2.2', 1000]]);
    time.advance(1500);
    settledAt = time.now(); // acknowledged at 2.5 s
    time.advance(3000);
    expect(asked.filter(([a]) => a === '192.0.2.1')).toEqual([['192.0.2.1', 4500]]);
    poller.close();
  });

  it('a notify target still behind 4 s after it settled is sent the NOTIFY again, then 8 s later; a check server never', async () => {
    const time = new FakeTime();
    const again: [string, number, number][] = [];
    let serving = 1;
    const t0 = time.now();
    const poller = new WatchPoller({
      watch: new SecondaryWatch(),
      lookup: () => () => undefined,
      logger: createLogger({ write: () => {} }),
      now: time.now,
      timers: time,
      ask: () => Promise.resolve(serving),
      notifySettled: () => t0 + 500, // acknowledged at once
      renotify: (_z, address, _p, served) => (again.push([address, time.now() - t0, served]), true),
    });
    const settle = async (ms: number): Promise<void> => {
      for (let i = 0; i < ms / 500; i++) {
        time.advance(500);
        for (let j = 0; j < 5; j++) await Promise.resolve();
      }
    };
    poller.published(version(2, t0));
    await settle(20_000);
    // Polled every 2 s from 2.5 s; told again at the first poll 4 s after 0.5 s, then 8 s and 16 s later.
    expect(again.map(([a, at]) => [a, at])).toEqual([
      ['192.0.2.1', 4500],
      ['192.0.2.1', 12_500],
    ]);
    expect(again.every(([, , served]) => served === 1)).toBe(true);
    serving = 2;
    await settle(60_000);
    expect(again).toHaveLength(2);
    poller.close();
  });
});
