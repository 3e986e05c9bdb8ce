/**
 * Time as the server units see it: the clock (`now`, milliseconds since the epoch) and the timers they schedule
 * with, both injected so that tests move time without waiting. Every server timer is unref'd: a pending refresh
 * or poll never keeps the process alive on its own (the sockets do).
 */

/** Milliseconds since the epoch. */
export type Clock = () => number;

/** Schedules `fn` after `ms`; the returned function cancels it (a no-op once it ran). */
export interface Timers {
  after(ms: number, fn: () => void): () => void;
}

/** Node's timers, unref'd. */
export const nodeTimers: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
