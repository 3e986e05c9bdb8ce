/**
 * The signatures kept in the state directory (dnssec/sigstore.ts): what a cache saved is what a fresh cache
 * gives back, octet for octet and without signing; a file for other keys, a damaged file and a missing file
 * restore nothing, each with its reason.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../src/dnssec/keys.js';
import { DEFAULT_SIGNATURE_POLICY, SignatureCache } from '../../src/dnssec/sigcache.js';
import { loadSignatures, saveSignatures, saveSignaturesSteps, signaturesFile } from '../../src/dnssec/sigstore.js';
import { parseName } from '../../src/wire/name.js';
import { rdataFromText } from '../../src/wire/rdata.js';
import { T } from '../../src/wire/types.js';
import type { RRset } from '../../src/wire/rrset.js';
import { tempDirs } from '../support/tmp.js';

const tmp = tempDirs('dane-ns-sigstore');
const zone = parseName('keep.example.');
const NOW = Date.UTC(2026, 0, 1) / 1000;
const key = generateKey(zone, 'zsk', new Date(NOW * 1000));
const rrset = (host: string, a: string): RRset => ({
  owner: parseName(`${host}.keep.example.`),
  type: T.A,
  ttl: 300,
  rdatas: [rdataFromText(T.A, a, zone)],
});
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('kept signatures', () => {
  it('a fresh cache gets the saved signatures back: the same octets, no signing', () => {
    const state = tmp();
    const cache = new SignatureCache();
    const sets = [rrset('a', '192.0.2.1'), rrset('b', '192.0.2.2'), rrset('c', '192.0.2.3')];
    const made = sets.map((rs) => hex(cache.get(rs, key, NOW, DEFAULT_SIGNATURE_POLICY).rrsig));
    expect(saveSignatures(state, zone, [key, key], cache, NOW)).toBe(3); // a key listed twice is kept once

    const fresh = new SignatureCache();
    expect(loadSignatures(state, zone, [key], fresh)).toEqual({ ok: true, restored: 3 });
    const again = sets.map((rs) => hex(fresh.get(rs, key, NOW + 60, DEFAULT_SIGNATURE_POLICY).rrsig));
    expect(again).toEqual(made);
    expect(fresh.misses).toBe(0);
  });

  it('other keys, a damaged file, another zone or no file: nothing restored, with the reason', () => {
    const state = tmp();
    expect(loadSignatures(state, zone, [key], new SignatureCache())).toMatchObject({ ok: false, missing: true });
    const cache = new SignatureCache();
    cache.get(rrset('a', '192.0.2.1'), key, NOW, DEFAULT_SIGNATURE_POLICY);
    saveSignatures(state, zone, [key], cache, NOW);

    const other = generateKey(zone, 'zsk', new Date(NOW * 1000));
    const fresh = new SignatureCache();
    expect(loadSignatures(state, zone, [other], fresh)).toEqual({
      ok: false,
      missing: false,
      reason: 'made by other keys',
    });
    expect(fresh.size).toBe(0);
    expect(loadSignatures(state, parseName('other.example.'), [key], fresh)).toMatchObject({ ok: false });

    const file = signaturesFile(state, zone);
    const bytes = readFileSync(file);
    bytes[bytes.length - 50]! ^= 1;
    writeFileSync(file, bytes);
    expect(loadSignatures(state, zone, [key], fresh)).toEqual({
      ok: false,
      missing: false,
      reason: 'checksum mismatch',
    });
    expect(fresh.size).toBe(0);
  });

  it('a file larger than the first buffer of the writer (64 KiB) round-trips', () => {
    const state = tmp();
    const cache = new SignatureCache();
    const sets = Array.from({ length: 800 }, (_, i) => rrset(`h${i}`, `192.0.2.${i % 250}`));
    const made = sets.map((rs) => hex(cache.get(rs, key, NOW, DEFAULT_SIGNATURE_POLICY).rrsig));
    expect(saveSignatures(state, zone, [key], cache, NOW)).toBe(800);
    const fresh = new SignatureCache();
    expect(loadSignatures(state, zone, [key], fresh)).toEqual({ ok: true, restored: 800 });
    expect(sets.map((rs) => hex(fresh.get(rs, key, NOW, DEFAULT_SIGNATURE_POLICY).rrsig))).toEqual(made);
  });

  it('in steps: yields while writing, nothing in place until commit, abandon leaves the old file and no temporary one', () => {
    const state = tmp();
    const cache = new SignatureCache();
    const sets = Array.from({ length: 9000 }, (_, i) => rrset(`h${i}`, `192.0.2.${i % 250}`));
    const made = sets.map((rs) => hex(cache.get(rs, key, NOW, DEFAULT_SIGNATURE_POLICY).rrsig));
    const file = signaturesFile(state, zone);

    const run = (): { pending: { commit(): number; abandon(): void }; yields: number } => {
      const steps = saveSignaturesSteps(state, zone, [key], cache, NOW);
      for (let yields = 0; ; yields++) {
        const r = steps.next();
        if (r.done) return { pending: r.value, yields };
      }
    };
    const first = run();
    expect(first.yields).toBeGreaterThanOrEqual(4); // 9,000 entries counted, then written, 4,096 a step
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dirname(file))).toHaveLength(1); // the temporary file
    expect(first.pending.commit()).toBe(9000);
    const before = readFileSync(file);

    // Abandoned: the file in place stays as it was, the temporary file is gone.
    cache.get(rrset('new', '192.0.2.99'), key, NOW, DEFAULT_SIGNATURE_POLICY);
    const second = run();
    second.pending.abandon();
    second.pending.abandon(); // twice is harmless
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dirname(file))).toEqual([file.split('/').pop()]);

    // Steps stopped half way (the caller gave up): the temporary file is removed too.
    const steps = saveSignaturesSteps(state, zone, [key], cache, NOW);
    for (let i = 0; i < 3; i++) steps.next();
    steps.return(undefined as never);
    expect(readdirSync(dirname(file))).toEqual([file.split('/').pop()]);

    const fresh = new SignatureCache();
    expect(loadSignatures(state, zone, [key], fresh)).toEqual({ ok: true, restored: 9000 });
    expect(sets.map((rs) => hex(fresh.get(rs, key, NOW, DEFAULT_SIGNATURE_POLICY).rrsig))).toEqual(made);
  });

  it('expired signatures are not kept', () => {
    const state = tmp();
    const cache = new SignatureCache();
    const s = cache.get(rrset('a', '192.0.2.1'), key, NOW, DEFAULT_SIGNATURE_POLICY);
    expect(saveSignatures(state, zone, [key], cache, s.expiration)).toBe(0);
  });
});
