/**
 * Work cut into slices (src/server/slices.ts): a task that fits in a slice ends before add() returns; a longer
 * one gives the event loop a turn between slices (a callback queued meanwhile runs before it ends); tasks run in
 * the order they were added; a task that throws is reported and the next one runs.
 */
import { describe, expect, it } from 'vitest';
import { SliceQueue, slicer } from '../../src/server/slices.js';

function* counting(out: string[], name: string, steps: number): Generator<void, void, undefined> {
  for (let i = 0; i < steps; i++) {
    out.push(`${name}${i}`);
    yield;
  }
}

/** A task whose every step takes `ms` milliseconds of work. */
function* busy(steps: number, ms: number, done: () => void): Generator<void, void, undefined> {
  for (let i = 0; i < steps; i++) {
    const until = performance.now() + ms;
    while (performance.now() < until);
    yield;
  }
  done();
}

describe('SliceQueue', () => {
  it('a task that fits in one slice ends before add() returns', () => {
    const out: string[] = [];
    const q = new SliceQueue(() => {}, 1000);
    q.add(counting(out, 'a', 3));
    expect(out).toEqual(['a0', 'a1', 'a2']);
    expect(q.idle).toBe(true);
  });

  it('a long task gives the event loop a turn between slices, tasks in order, settled() when all ended', async () => {
    const events: string[] = [];
    const q = new SliceQueue(() => {}, 5);
    q.add(busy(20, 1, () => events.push('first done')));
    q.add(busy(1, 0, () => events.push('second done')));
    expect(q.idle).toBe(false);
    setImmediate(() => events.push('event loop'));
    await q.settled();
    expect(events).toEqual(['event loop', 'first done', 'second done']);
    expect(q.idle).toBe(true);
  });

  it('a task that throws is reported and dropped; the next one runs', async () => {
    const errors: unknown[] = [];
    const out: string[] = [];
    const q = new SliceQueue((e) => errors.push(e), 0);
    const failing = (function* () {
      yield;
      throw new Error('boom');
    })();
    q.add(failing);
    q.add(counting(out, 'b', 2));
    await q.settled();
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(out).toEqual(['b0', 'b1']);
  });
});

describe('slicer', () => {
  it('pauses only once a slice of work has run', async () => {
    const pause = slicer(200);
    expect(pause()).toBeUndefined();
    const until = performance.now() + 210;
    while (performance.now() < until);
    let turned = false;
    setImmediate(() => (turned = true));
    const p = pause();
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(turned).toBe(true);
    expect(pause()).toBeUndefined();
  });
});
