/**
 * Work cut into slices (src/server/slices.ts): a task that fits in a slice ends before add() returns; a longer
 * one gives the event loop a turn between slices (a callback queued meanwhile runs before it ends); tasks run in
 * the order they were added; a task that throws is reported and the next one runs; a task that waits for a
 * promise (awaitSteps) leaves the event loop free and holds the tasks after it until the promise settles.
 */
import { describe, expect, it } from 'vitest';
import { awaitSteps, inSlices, SliceQueue, slicer } from '../../src/server/slices.js';

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

describe('awaitSteps', () => {
  it('a task waits for a promise without holding the event loop; the next task waits its turn', async () => {
    const events: string[] = [];
    let release!: (v: number) => void;
    const gate = new Promise<number>((resolve) => (release = resolve));
    const q = new SliceQueue(() => {}, 1000);
    q.add(
      (function* () {
        events.push(`in slices ${inSlices()}`);
        const v = yield* awaitSteps(gate);
        events.push(`got ${v}`);
      })(),
    );
    q.add(counting(events, 'b', 1));
    // add() returned with the first task waiting: the second has not run, and timers run meanwhile.
    expect(events).toEqual(['in slices true']);
    expect(q.idle).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['in slices true']);
    release(7);
    await q.settled();
    expect(events).toEqual(['in slices true', 'got 7', 'b0']);
    expect(inSlices()).toBe(false);
  });

  it('a rejected promise is thrown in the task, which may catch it', async () => {
    const events: string[] = [];
    const q = new SliceQueue((e) => events.push(`reported ${(e as Error).message}`), 1000);
    q.add(
      (function* () {
        try {
          yield* awaitSteps(Promise.reject(new Error('disk')));
        } catch (e) {
          events.push(`caught ${(e as Error).message}`);
        }
      })(),
    );
    await q.settled();
    expect(events).toEqual(['caught disk']);
  });

  it('outside a queue it throws instead of spinning', () => {
    const steps = awaitSteps(Promise.resolve(1));
    expect(() => steps.next()).toThrow(/outside a SliceQueue/);
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
