import { describe, expect, it } from 'vitest';
import { REFRESH_CHECK_MS, RefreshTimer } from '../../src/server/refresh-timer.js';
import { FakeTime } from './fake-time.js';

describe('RefreshTimer', () => {
  const setup = (): { time: FakeTime; fired: number[]; timer: RefreshTimer } => {
    const time = new FakeTime();
    const fired: number[] = [];
    const timer = new RefreshTimer(() => fired.push(time.now()), time.now, time);
    return { time, fired, timer };
  };

  it('fires at the due time, not before', () => {
    const { time, fired, timer } = setup();
    const due = time.now() + 600_000;
    timer.schedule(due / 1000);
    time.advance(599_999);
    expect(fired).toEqual([]);
    time.advance(1);
    expect(fired).toEqual([due]);
    expect(timer.armed).toBe(false);
  });

  it('never sleeps longer than the one-hour cap, however far the due time', () => {
    const { time, fired, timer } = setup();
    const start = time.now();
    timer.schedule(start / 1000 + 30 * 86400);
    time.advance(REFRESH_CHECK_MS);
    expect(fired).toEqual([start + REFRESH_CHECK_MS]);
  });

  it('a due time already past is retried after a second, not at once', () => {
    const { time, fired, timer } = setup();
    timer.schedule(time.now() / 1000 - 100);
    time.advance(999);
    expect(fired).toHaveLength(0);
    time.advance(1);
    expect(fired).toHaveLength(1);
  });

  it('rescheduling replaces the pending wake-up; Infinity means none', () => {
    const { time, fired, timer } = setup();
    timer.schedule(time.now() / 1000 + 100);
    timer.schedule(time.now() / 1000 + 200);
    expect(time.size).toBe(1);
    timer.schedule(Infinity);
    expect(timer.armed).toBe(false);
    time.advance(2 * REFRESH_CHECK_MS);
    expect(fired).toEqual([]);
  });

  it('close cancels the wake-up and later schedules do nothing', () => {
    const { time, fired, timer } = setup();
    timer.schedule(time.now() / 1000 + 10);
    timer.close();
    timer.schedule(time.now() / 1000 + 10);
    expect(time.size).toBe(0);
    time.advance(REFRESH_CHECK_MS);
    expect(fired).toEqual([]);
  });
});
