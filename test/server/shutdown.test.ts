import { describe, expect, it } from 'vitest';
import { Shutdown } from '../../src/server/shutdown.js';

describe('Shutdown', () => {
  it('runs every close once, newest first, and a second close() is the same promise', async () => {
    const s = new Shutdown();
    const order: string[] = [];
    s.add(() => void order.push('timer'));
    s.add(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('watcher');
    });
    s.add(() => void order.push('socket'));
    expect(s.closed).toBe(false);
    const first = s.close();
    expect(s.closed).toBe(true);
    expect(s.close()).toBe(first);
    await first;
    await s.close();
    expect(order).toEqual(['socket', 'watcher', 'timer']);
  });

  it('a failing close does not stop the others; the failure is reported', async () => {
    const s = new Shutdown();
    const ran: string[] = [];
    s.add(() => void ran.push('a'));
    s.add(() => {
      throw new Error('boom');
    });
    s.add(() => void ran.push('c'));
    await expect(s.close()).rejects.toThrow('boom');
    expect(ran).toEqual(['c', 'a']);
  });

  it('something registered after close() is closed at once', async () => {
    const s = new Shutdown();
    await s.close();
    let closed = false;
    s.add(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(closed).toBe(true);
  });
});
