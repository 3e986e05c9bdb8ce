import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { AutoTlsa } from '../../src/tlsa/augment.js';
import type { CertHealth, TlsaEntryRef, TlsaEvent } from '../../src/tlsa/manager.js';
import { TLSA_POLL_MS, TlsaLoop, type PathWatcher, type TlsaSources } from '../../src/server/tlsa-loop.js';
import { FakeTime } from './fake-time.js';

/** A TLSA manager stand-in: each refresh() returns the next scripted result. */
class ScriptedSources implements TlsaSources {
  constructor(private readonly now: () => number) {}
  configured: TlsaEntryRef[] = [];
  files: string[] = ['/certs/mail.pem'];
  withdrawal: number | undefined;
  results: { changed: string[]; events?: TlsaEvent[]; saveError?: unknown }[] = [];
  refreshes = 0;
  configure(entries: readonly TlsaEntryRef[]): void {
    this.configured = [...entries];
  }
  paths(): string[] {
    return this.files;
  }
  refresh(): { changed: Set<string>; events: TlsaEvent[]; saveError?: unknown } {
    this.refreshes++;
    // Like the manager: a withdrawal that is due happens in this refresh, and is not due again.
    if (this.withdrawal !== undefined && this.withdrawal <= this.now()) this.withdrawal = undefined;
    const r = this.results.shift() ?? { changed: [] };
    return {
      changed: new Set(r.changed),
      events: r.events ?? [],
      ...(r.saveError !== undefined ? { saveError: r.saveError } : {}),
    };
  }
  nextWithdrawal(): number | undefined {
    return this.withdrawal;
  }
  setsFor(): readonly AutoTlsa[] {
    return [];
  }
  health(): readonly CertHealth[] {
    return [];
  }
}

class FakeWatcher implements PathWatcher {
  paths: readonly string[] = [];
  closed = false;
  constructor(readonly fire: (reason: string) => void) {}
  setPaths(paths: readonly string[]): void {
    this.paths = paths;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup(): {
  time: FakeTime;
  sources: ScriptedSources;
  loop: TlsaLoop;
  watcher: () => FakeWatcher;
  changes: string[];
  log: { event: string; [k: string]: unknown }[];
  sourceErrors: () => number;
} {
  const time = new FakeTime();
  const sources = new ScriptedSources(time.now);
  const changes: string[] = [];
  const log: { event: string; [k: string]: unknown }[] = [];
  let watcher: FakeWatcher | undefined;
  let sourceErrors = 0;
  const loop = new TlsaLoop({
    sources,
    logger: createLogger({ write: (l) => log.push(JSON.parse(l)) }),
    now: time.now,
    timers: time,
    onChanged: (reason) => changes.push(reason),
    onSourceError: () => sourceErrors++,
    watcher: (onChange) => (watcher = new FakeWatcher(onChange)),
  });
  return { time, sources, loop, watcher: () => watcher!, changes, log, sourceErrors: () => sourceErrors };
}

describe('TlsaLoop', () => {
  it('a history that could not be saved is passed on, and the changed zone is still published', () => {
    const time = new FakeTime();
    const sources = new ScriptedSources(time.now);
    const saved: unknown[] = [];
    const changes: string[] = [];
    let watcher: FakeWatcher | undefined;
    const loop = new TlsaLoop({
      sources,
      logger: createLogger({ write: () => {} }),
      now: time.now,
      timers: time,
      onChanged: (reason) => changes.push(reason),
      onSaved: (e) => saved.push(e),
      watcher: (onChange) => (watcher = new FakeWatcher(onChange)),
    });
    const full = new Error('ENOSPC: no space left on device, write');
    sources.results = [{ changed: [] }, { changed: ['example.com'], saveError: full }];
    loop.refresh('start');
    watcher!.fire('change /certs/mail.pem');
    expect(saved).toEqual([undefined, full]);
    expect(changes).toEqual(['change /certs/mail.pem']);
  });

  it('refresh reports a change and watches the certificate files; no call back from refresh itself', () => {
    const { loop, sources, watcher, changes, log } = setup();
    sources.results = [{ changed: ['example.com'] }];
    expect(loop.refresh('start')).toBe(true);
    expect(changes).toEqual([]); // the caller publishes after start and reload
    expect(watcher().paths).toEqual(['/certs/mail.pem']);
    expect(log.find((l) => l.event === 'tlsa-changed')).toMatchObject({ zones: ['example.com'], reason: 'start' });
  });

  it('a watcher event calls back when a zone changed, and not otherwise', () => {
    const { loop, sources, watcher, changes } = setup();
    loop.refresh('start');
    sources.results = [{ changed: [] }, { changed: ['example.com'] }];
    watcher().fire('change /certs/mail.pem');
    expect(changes).toEqual([]);
    watcher().fire('change /certs/mail.pem');
    expect(changes).toEqual(['change /certs/mail.pem']);
  });

  it('polls every minute, and sooner when a retired record is due to be withdrawn', () => {
    const { loop, sources, time, changes } = setup();
    loop.refresh('start');
    expect(time.dueTimes()).toEqual([time.now() + TLSA_POLL_MS]);
    sources.results = [{ changed: [] }];
    time.advance(TLSA_POLL_MS);
    expect(sources.refreshes).toBe(2);
    expect(changes).toEqual([]);
    sources.withdrawal = time.now() + TLSA_POLL_MS + 5000;
    sources.results = [{ changed: [] }, { changed: ['example.com'] }];
    time.advance(TLSA_POLL_MS); // this poll sees the withdrawal and re-arms for it
    expect(time.dueTimes()).toEqual([time.now() + 5001]);
    time.advance(5001);
    expect(changes).toEqual(['poll']);
  });

  it('no certificate files, no poll', () => {
    const { loop, sources, time } = setup();
    sources.files = [];
    loop.refresh('start');
    expect(time.size).toBe(0);
  });

  it('logs the manager events and counts source errors; a throwing manager keeps the published TLSA', () => {
    const { loop, sources, sourceErrors, log } = setup();
    sources.results = [
      { changed: [], events: [{ level: 'error', event: 'tlsa-source-error', fields: { path: '/certs/mail.pem' } }] },
    ];
    loop.refresh('start');
    expect(sourceErrors()).toBe(1);
    expect(log.map((l) => l.event)).toContain('tlsa-source-error');
    sources.refresh = () => {
      throw new Error('disk gone');
    };
    expect(loop.refresh('poll')).toBe(false);
    expect(log.find((l) => l.event === 'tlsa-refresh-failed')).toMatchObject({ keeping: 'the published TLSA' });
  });

  it('configure hands the entries of the loaded files to the manager', () => {
    const { loop, sources } = setup();
    sources.configured = [{} as TlsaEntryRef];
    loop.configure(new Map());
    expect(sources.configured).toEqual([]);
  });

  it('close stops the poll and the watcher; late events do nothing', async () => {
    const { loop, sources, time, watcher, changes } = setup();
    loop.refresh('start');
    await loop.close();
    expect(watcher().closed).toBe(true);
    expect(time.size).toBe(0);
    expect(loop.polling).toBe(false);
    sources.results = [{ changed: ['example.com'] }];
    watcher().fire('late');
    time.advance(10 * TLSA_POLL_MS);
    expect(changes).toEqual([]);
    expect(sources.refreshes).toBe(1);
  });
});

describe('TlsaLoop: cold rollovers', () => {
  it('a tlsa-cold-rollover event is logged as a warn and counted for its host', () => {
    const time = new FakeTime();
    const sources = new ScriptedSources(time.now);
    const log: { level: string; event: string; [k: string]: unknown }[] = [];
    const hosts: string[] = [];
    const loop = new TlsaLoop({
      sources,
      logger: createLogger({ write: (l) => log.push(JSON.parse(l)) }),
      now: time.now,
      timers: time,
      onChanged: () => {},
      onColdRollover: (host) => hosts.push(host),
      watcher: (onChange) => new FakeWatcher(onChange),
    });
    sources.results = [
      {
        changed: ['example.com.'],
        events: [
          { level: 'info', event: 'tlsa-published', fields: { host: 'mail.example.com.' } },
          {
            level: 'warn',
            event: 'tlsa-cold-rollover',
            fields: { host: 'mail.example.com.', key: '0123456789abcdef', until: '2027-01-01T00:10:00.000Z' },
          },
        ],
      },
    ];
    loop.refresh('change /certs/mail.pem');
    expect(hosts).toEqual(['mail.example.com.']);
    expect(log.find((l) => l.event === 'tlsa-cold-rollover')).toMatchObject({
      level: 'warn',
      host: 'mail.example.com.',
      until: '2027-01-01T00:10:00.000Z',
    });
  });
});
