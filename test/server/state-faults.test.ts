/**
 * State directory failures (server/state-faults.ts): one error line per change of state (not per retry), one
 * recovery line, counters and gauges per kind from the fixed set, /healthz reasons while a file fails, and the
 * timer that tries the failed operation again until it works.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { STATE_RETRY_MS, StateFaults } from '../../src/server/state-faults.js';
import { FakeTime } from './fake-time.js';

function setup() {
  const time = new FakeTime();
  const log: { level: string; event: string; file?: string; reason?: string }[] = [];
  const faults = new StateFaults(createLogger({ write: (l) => log.push(JSON.parse(l)) }), time);
  return { time, log, faults };
}

const enospc = (): never => {
  throw new Error('ENOSPC: no space left on device, write');
};

describe('StateFaults', () => {
  it('reports a failing write once, retries it on the timer, and clears when it works', () => {
    const { time, log, faults } = setup();
    let full = true;
    let writes = 0;
    const write = (): void => {
      writes++;
      if (full) enospc();
    };
    expect(faults.attempt('tlsa', '/s/tlsa.json', write)).toBe(false);
    expect(faults.faults()).toEqual([
      { file: 'tlsa', path: '/s/tlsa.json', reason: 'ENOSPC: no space left on device, write' },
    ]);
    time.advance(STATE_RETRY_MS * 3);
    expect(writes).toBe(4);
    // Retries with the same reason are counted, not logged again.
    expect(log.filter((l) => l.event === 'state-file-failed')).toHaveLength(1);
    expect(log[0]).toMatchObject({
      level: 'error',
      file: '/s/tlsa.json',
      reason: 'ENOSPC: no space left on device, write',
    });
    expect(faults.counts().find((c) => c.file === 'tlsa')).toEqual({ file: 'tlsa', failures: 4, ok: false });
    full = false;
    time.advance(STATE_RETRY_MS);
    expect(writes).toBe(5);
    expect(faults.faults()).toEqual([]);
    expect(faults.counts().find((c) => c.file === 'tlsa')).toEqual({ file: 'tlsa', failures: 4, ok: true });
    expect(log.at(-1)).toMatchObject({ level: 'info', event: 'state-file-recovered', file: '/s/tlsa.json' });
    expect(time.size).toBe(0); // nothing left to retry: no timer
  });

  it('a new reason is logged again; a later attempt on the same path replaces the retried operation', () => {
    const { time, log, faults } = setup();
    const tried: string[] = [];
    faults.attempt('journal', '/s/ixfr/a.json', () => {
      tried.push('old');
      enospc();
    });
    faults.attempt('journal', '/s/ixfr/a.json', () => {
      tried.push('new');
      throw new Error('EROFS: read-only file system, open');
    });
    time.advance(STATE_RETRY_MS);
    expect(tried).toEqual(['old', 'new', 'new']);
    expect(log.filter((l) => l.event === 'state-file-failed').map((l) => l.reason)).toEqual([
      'ENOSPC: no space left on device, write',
      'EROFS: read-only file system, open',
    ]);
  });

  it('the counters have one series per kind of file, whatever the paths', () => {
    const { faults } = setup();
    faults.attempt('signed', '/s/signed/a.bin', enospc);
    faults.attempt('signed', '/s/signed/b.bin', enospc);
    faults.attempt('serials', '/s/serials.json', () => undefined);
    expect(faults.counts()).toEqual([
      { file: 'serials', failures: 0, ok: true },
      { file: 'tlsa', failures: 0, ok: true },
      { file: 'signed', failures: 2, ok: false },
      { file: 'journal', failures: 0, ok: true },
      { file: 'dynamic', failures: 0, ok: true },
      { file: 'parent-ds', failures: 0, ok: true },
      { file: 'cookies', failures: 0, ok: true },
      { file: 'keys', failures: 0, ok: true },
    ]);
    faults.close();
  });

  it('a failure without a retry (a file unreadable at start) stays until cleared', () => {
    const { time, faults } = setup();
    faults.fail('serials', '/s/serials.json', 'read: EIO');
    time.advance(STATE_RETRY_MS * 2);
    expect(faults.faults()).toHaveLength(1);
    faults.clear('/s/serials.json');
    expect(faults.faults()).toEqual([]);
  });
});
