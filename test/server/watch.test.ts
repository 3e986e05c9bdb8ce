/**
 * The watched servers' state (src/server/watch.ts): when each server first served each published serial, RFC 1982
 * comparison (a server ahead, or at a serial never published, serves what it is at or beyond), the lag, and
 * when a version reached every server.
 */
import { describe, expect, it } from 'vitest';
import { SecondaryWatch } from '../../src/server/watch.js';

const Z = 'example.com.';

describe('SecondaryWatch', () => {
  it('a server behind has the lag of the oldest serial it does not serve; catching up ends it', () => {
    const w = new SecondaryWatch();
    w.setServers(Z, ['a#53', 'b#53']);
    w.published(Z, 10, 1000);
    w.observed(Z, 'a#53', 10, 1500);
    w.observed(Z, 'b#53', 9, 1500);
    w.published(Z, 11, 2000);
    expect(w.status(Z, 5000)).toEqual([
      { server: 'a#53', serial: 10, lagMs: 3000, behind: true },
      { server: 'b#53', serial: 9, lagMs: 4000, behind: true },
    ]);
    w.observed(Z, 'a#53', 11, 6000);
    expect(w.behind(Z, 'a#53')).toBe(false);
    expect(w.status(Z, 7000)[0]).toEqual({ server: 'a#53', serial: 11, lagMs: 0, behind: false });
  });

  it('a version reached every server when the last one first served it (or a later serial)', () => {
    const w = new SecondaryWatch();
    w.setServers(Z, ['a#53', 'b#53']);
    w.published(Z, 1, 1000);
    w.published(Z, 2, 2000);
    w.observed(Z, 'a#53', 2, 2500);
    expect(w.servedEverywhereAt(Z, 2000)).toBeUndefined();
    expect(w.lacking(Z, 2000)).toEqual(['b#53']);
    // b skips serial 2's own answer: its serial 3 (never published here) is beyond 2 (RFC 1982).
    w.observed(Z, 'b#53', 3, 4000);
    expect(w.servedEverywhereAt(Z, 2000)).toBe(4000);
    expect(w.lacking(Z, 2000)).toEqual([]);
    // A record older than the remembered history is in the oldest remembered version.
    expect(w.servedEverywhereAt(Z, 10)).toBe(4000);
    // A record not yet in any published version is served nowhere.
    expect(w.servedEverywhereAt(Z, 9000)).toBeUndefined();
  });

  it('serials wrap (RFC 1982): 0 is after 4294967295', () => {
    const w = new SecondaryWatch();
    w.setServers(Z, ['a#53']);
    w.published(Z, 4294967295, 1000);
    w.published(Z, 0, 2000);
    w.observed(Z, 'a#53', 4294967295, 2100);
    expect(w.behind(Z, 'a#53')).toBe(true);
    w.observed(Z, 'a#53', 1, 2200);
    expect(w.behind(Z, 'a#53')).toBe(false);
  });

  it('a failed question keeps the last serial and says why', () => {
    const w = new SecondaryWatch();
    w.setServers(Z, ['a#53']);
    w.published(Z, 5, 0);
    w.observed(Z, 'a#53', 5, 10);
    w.failed(Z, 'a#53', 'no answer within 2000 ms');
    expect(w.status(Z, 20)).toEqual([
      { server: 'a#53', serial: 5, lagMs: 0, behind: false, error: 'no answer within 2000 ms' },
    ]);
    expect(w.watched(Z)).toBe(true);
    w.setServers(Z, []);
    expect(w.watched(Z)).toBe(false);
  });
});
