/**
 * Signatures over time: with an injected clock moved across 30 simulated days, and the snapshot
 * rebuilt exactly when the server's refresh timer would (at `nextDue`), every RRSIG served at every step is
 * inside its validity window with margin, and verifies.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadZoneKeys, rewriteKeyTiming } from '../../src/dnssec/keyfile.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZoneSigner } from '../../src/server/signer.js';
import { loadZoneFile } from '../../src/zone/files.js';
import { createLogger } from '../../src/log.js';
import { parseRrsig } from '../../src/dnssec/canonical.js';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import type { SignedZone } from '../../src/dnssec/zonesign.js';
import { T } from '../../src/wire/types.js';
import type { RRset } from '../../src/zone/zone.js';

const dir = mkdtempSync(join(tmpdir(), 'dane-ns-signer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ZoneSigner over 30 simulated days', () => {
  it('never serves an expired or not-yet-valid signature, and re-signs in spread batches', () => {
    const zone = loadZoneFile(new URL('../../zones/example.com.yaml', import.meta.url).pathname);
    let nowMs = Date.UTC(2026, 10, 23, 12, 0, 0);
    const events: string[] = [];
    const logger = createLogger({ write: (l) => events.push(l) });
    const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), logger, () => nowMs);

    let current = signer.secure([zone]);
    const rebuilds: number[] = [];
    const stepMs = 3 * 3600_000;
    const end = nowMs + 30 * 86400_000;
    let checked = 0;
    for (; nowMs <= end; nowMs += stepMs) {
      const now = Math.floor(nowMs / 1000);
      // The server's timer fires at nextDue (or earlier, every hour at most): model it at the step granularity.
      if (now >= current.nextDue - stepMs / 1000) {
        current = signer.secure([zone]);
        rebuilds.push(now);
      }
      const signed = [...current.security.values()][0] as SignedZone;
      const ksk = signed.keys.ksk.publicKey;
      const zsk = signed.keys.zsk.publicKey;
      const rrsets = new Map<string, RRset>();
      for (const n of signed.zone.ordered)
        for (const rs of n.rrsets.values()) rrsets.set(`${n.name.key}/${rs.type}`, rs);
      for (const rs of signed.addedRRsets()) if (rs.type !== T.RRSIG) rrsets.set(`${rs.owner.key}/${rs.type}`, rs);
      for (const sig of [...signed.addedRRsets()].filter((r) => r.type === T.RRSIG)) {
        const f = parseRrsig(sig.rdatas[0]!);
        // Inside the window, with at least an hour of margin on both sides (clock skew of validators).
        expect(f.inception).toBeLessThanOrEqual(now - 3600);
        expect(f.expiration - now).toBeGreaterThan(86400);
        checked++;
        if (nowMs % (5 * 86400_000) < stepMs) {
          const covered = rrsets.get(`${sig.owner.key}/${f.typeCovered}`)!;
          expect(verifyRRsig(covered, sig.rdatas[0]!, f.typeCovered === T.DNSKEY ? ksk : zsk)).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
    // Refreshes happened (validity 14 d, refresh 7 d before) and were spread, not one big batch per week.
    expect(rebuilds.length).toBeGreaterThanOrEqual(4);
    const signedEvents = events
      .map((l) => JSON.parse(l) as { event: string; signatures?: number })
      .filter((e) => e.event === 'zone-signed');
    expect(signedEvents.length).toBeGreaterThanOrEqual(4);
    // Keys were generated once and reused.
    expect(events.filter((l) => l.includes('"zone-keys-generated"'))).toHaveLength(1);
  });
});

describe('ZoneSigner after a change in the keys directory', () => {
  it('signs again only when a key changed in content or timing; sees keys that are gone', () => {
    const zone = loadZoneFile(new URL('../../zones/example.com.yaml', import.meta.url).pathname);
    const nowMs = Date.UTC(2026, 10, 23, 12, 0, 0);
    const keysDir = join(dir, 'keys-check');
    const signer = new ZoneSigner(keysDir, join(dir, 'state-check'), createLogger({ write: () => {} }), () => nowMs);
    const securityOf = (): SignedZone => [...signer.secure([zone]).security.values()][0] as SignedZone;
    const first = securityOf();
    expect(signer.nextKeyEvent(zone.origin.key)).toBeUndefined();
    // Another file in the directory (a TSIG key, another zone's key): the same keys, the same signed zone.
    writeFileSync(join(keysDir, 'unrelated.txt'), 'x');
    signer.keysChanged();
    expect(securityOf()).toBe(first);
    // Every key file written again with the same content (a touch, a restore from a backup): the same.
    for (const f of readdirSync(keysDir))
      if (/^K.*\.(key|private)$/.test(f)) {
        const p = join(keysDir, f);
        writeFileSync(p, readFileSync(p));
      }
    signer.keysChanged();
    expect(securityOf()).toBe(first);
    expect(signer.status.get(zone.origin.key)?.state).toBe('signed');
    // A timing change (the ZSK retires in ten days): signed again, and the next key event is that time.
    const zsk = loadZoneKeys(keysDir, zone.origin).keys.find((k) => k.flags === 256)!;
    const inactive = new Date(nowMs + 10 * 86400_000);
    rewriteKeyTiming(keysDir, { ...zsk, inactive });
    signer.keysChanged();
    const second = securityOf();
    expect(second).not.toBe(first);
    expect(signer.nextKeyEvent(zone.origin.key)).toBe(inactive.getTime() / 1000);
    // Without keysChanged() (no event), nothing is read: the same signed zone.
    expect(securityOf()).toBe(second);
    // The zone's key files removed: read again, so the zone is reported without keys.
    for (const f of readdirSync(keysDir)) if (f !== 'unrelated.txt') rmSync(join(keysDir, f), { recursive: true });
    signer.keysChanged();
    signer.secure([zone]);
    expect(signer.status.get(zone.origin.key)?.state).toBe('keys-missing');
  });
});
