/**
 * The serial of every published version (server/serials.ts) with a real signer, state directory and an
 * injected clock: unchanged content keeps its serial, a signature refresh raises it and re-signs the SOA, a
 * restart with the kept signatures serves the same octets under the same serial without signing, and a corrupt
 * signatures file is ignored with a log line (the zone is signed anew, under a higher serial).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRrsig } from '../../src/dnssec/canonical.js';
import { verifyRRsig } from '../../src/dnssec/sign.js';
import { signaturesFile, type PendingSignatures } from '../../src/dnssec/sigstore.js';
import type { SignedZone } from '../../src/dnssec/zonesign.js';
import { createLogger } from '../../src/log.js';
import { Publisher, type ZoneVersion } from '../../src/server/publisher.js';
import { FLUSH_ASIDE_MIN, SerialAssigner, versionDigest, type Resigner } from '../../src/server/serials.js';
import { SliceQueue } from '../../src/server/slices.js';
import { ZoneSigner } from '../../src/server/signer.js';
import { SerialStore } from '../../src/state/serials.js';
import { parseName } from '../../src/wire/name.js';
import { T } from '../../src/wire/types.js';
import { buildZone, soaSerial } from '../../src/zone/build.js';
import { serialGreater } from '../../src/wire/serial.js';
import type { ZoneProblem } from '../../src/zone/errors.js';
import { parseZoneYaml } from '../../src/zone/yaml.js';
import type { Zone } from '../../src/zone/zone.js';
import { tempDirs } from '../support/tmp.js';
import { zoneText } from './zone-text.js';

const tmp = tempDirs('dane-ns-serials');
const DAY_MS = 86400_000;

function zone(serial: number | 'auto', a = '192.0.2.1', extra = ''): Zone {
  const problems: ZoneProblem[] = [];
  const text = zoneText('s.example.', 0, a, extra).replace('serial: 0', `serial: ${serial}`);
  const z = buildZone(parseZoneYaml('s.example.yaml', text, problems), { defaultOrigin: 's.example.' }, problems);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return z;
}

/** A server's serial machinery over `dir`, with the clock `clock.ms`. */
function server(dir: string, clock: { ms: number }) {
  const events: { event: string }[] = [];
  const logger = createLogger({ write: (l) => events.push(JSON.parse(l) as { event: string }) });
  const now = (): number => clock.ms;
  const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), logger, now);
  const assigner = new SerialAssigner(new SerialStore(join(dir, 'state'), now), signer, now);
  const publisher = new Publisher(now, undefined, (z, s) => assigner.assign(z, s));
  const heard: ZoneVersion[] = [];
  publisher.onPublished({ published: (v) => heard.push(v) });
  const publish = (z: Zone): ZoneVersion => {
    publisher.publish(signer.secure([z]), 'refresh');
    return publisher.served().get(z.origin.key)!;
  };
  /** As the server does it: the serial's work (and the signatures file) done ahead in steps, then the publish. */
  const prepare = (z: Zone): (() => ZoneVersion) => {
    const secured = signer.secure([z]);
    for (const [zz, s] of publisher.toAssign(secured)) {
      const steps = assigner.prepareSteps(zz, s);
      while (!steps.next().done);
    }
    return () => {
      publisher.publish(secured, 'refresh');
      assigner.dropPrepared();
      return publisher.served().get(z.origin.key)!;
    };
  };
  return { events, publish, prepare, heard, publisher, assigner };
}

/** The served SOA serial, and whether the served SOA RRSIG verifies over the served SOA with the ZSK. */
function soaOf(v: ZoneVersion): { serial: number; verifies: boolean; coversSoa: boolean } {
  const signed = v.signed as SignedZone;
  const sig = signed.signatures(v.zone.soa, v.zone.soa.ttl)!.rdatas[0]!;
  return {
    serial: soaSerial(v.zone.soa.rdatas[0]!),
    verifies: verifyRRsig(v.zone.soa, sig, signed.keys.zsk.publicKey),
    coversSoa: parseRrsig(sig).typeCovered === T.SOA,
  };
}

const wwwSig = (v: ZoneVersion): string => {
  const www = v.zone.nodes.get(parseName('www.s.example.').key)!;
  return Buffer.from((v.signed as SignedZone).signatures(www.rrsets.get(T.A)!, 300)!.rdatas[0]!).toString('hex');
};

describe('SerialAssigner', () => {
  it('keeps the serial while nothing changes; a refresh raises it (file number as floor) and re-signs the SOA', () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const s = server(tmp(), clock);
    const z = zone(7);
    const first = s.publish(z);
    expect(first.serial).toBe(7);
    expect(soaOf(first)).toEqual({ serial: 7, verifies: true, coversSoa: true });
    clock.ms += DAY_MS;
    expect(s.publish(z)).toBe(first); // nothing due: the same version
    expect(s.heard).toHaveLength(1);
    clock.ms += 7 * DAY_MS; // past refresh-before: signatures made again, the content differs
    const refreshed = s.publish(z);
    expect(refreshed.serial).toBe(8);
    expect(soaOf(refreshed)).toEqual({ serial: 8, verifies: true, coversSoa: true });
    expect(wwwSig(refreshed)).not.toBe(wwwSig(first));
    // A new zone object with the same content (a reload of an unchanged file): the same serial and octets.
    const heard = s.heard.length;
    const reloaded = s.publish(zone(7));
    expect(reloaded.serial).toBe(8);
    expect(reloaded).toBe(refreshed); // the served version stays, and nobody hears of a new one
    expect(s.heard).toHaveLength(heard);
    expect(versionDigest(reloaded.zone, reloaded.signed as SignedZone)).toBe(
      versionDigest(refreshed.zone, refreshed.signed as SignedZone),
    );
    // The operator raises the file number: it is served as written.
    expect(s.publish(zone(20)).serial).toBe(20);
  });

  it('the serial is in serials.json before the version is served; a failed record serves nothing new', () => {
    const dir = tmp();
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const s = server(dir, clock);
    const kept: number[] = [];
    const swapped: boolean[] = [];
    s.publisher.onPublished({
      published: (v) => {
        const file = JSON.parse(readFileSync(join(dir, 'state', 'serials.json'), 'utf8')) as Record<
          string,
          { serial: number }
        >;
        kept.push(file['s.example.']!.serial);
        swapped.push(s.publisher.current().zones.get(v.zone.origin) === v.zone); // told after the swap
      },
    });
    s.publish(zone(3));
    clock.ms += 8 * DAY_MS;
    s.publish(zone(3));
    expect(kept).toEqual([3, 4]);
    expect(swapped).toEqual([true, true]);

    const failing = new Publisher(
      () => clock.ms,
      undefined,
      () => {
        throw new Error('disk full');
      },
    );
    expect(() => failing.publish({ zones: [zone(3)], security: new Map(), nextDue: Infinity }, 'reload')).toThrow(
      'disk full',
    );
    expect(failing.served().size).toBe(0);
    expect([...failing.current().zones.zones()]).toEqual([]);
  });

  it('auto: a change gets the Unix time, or previous + 1 when that is ahead', () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const s = server(tmp(), clock);
    const unix = clock.ms / 1000;
    expect(s.publish(zone('auto')).serial).toBe(unix);
    expect(s.publish(zone('auto', '192.0.2.2')).serial).toBe(unix + 1); // same second: previous + 1
    clock.ms += 60_000;
    expect(s.publish(zone('auto', '192.0.2.3')).serial).toBe(unix + 60);
  });

  it('serial: auto after a fixed serial ahead of the clock never goes below it (RFC 1982), also after a restart', () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const dir = tmp();
    const unix = clock.ms / 1000;
    const fixed = unix + 1_000_000;
    expect(server(dir, clock).publish(zone(fixed)).serial).toBe(fixed);
    // A restart with the file switched to auto, content unchanged: the served serial stays.
    const s = server(dir, clock);
    expect(s.publish(zone('auto')).serial).toBe(fixed);
    // Changed content: above the fixed serial, not back to the clock's.
    expect(s.publish(zone('auto', '192.0.2.9')).serial).toBe(fixed + 1);
    // A fixed serial so far ahead that the clock is "greater" in RFC 1982 terms (more than 2^31 behind, modulo
    // 2^32): auto takes the clock, which secondaries see as a rise.
    const wrapDir = tmp();
    const far = (unix + 0x8000_0000 + 10) >>> 0;
    expect(server(wrapDir, clock).publish(zone(far)).serial).toBe(far);
    const w = server(wrapDir, clock).publish(zone('auto', '192.0.2.10')).serial;
    expect(serialGreater(w, far)).toBe(true);
  });

  it('unsigned zones: the serial changes with the content only', () => {
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const s = server(tmp(), clock);
    const off = 'dnssec: { enabled: false }\n';
    expect(s.publish(zone(5, '192.0.2.1', off)).serial).toBe(5);
    clock.ms += 30 * DAY_MS;
    expect(s.publish(zone(5, '192.0.2.1', off)).serial).toBe(5);
    const changed = s.publish(zone(5, '192.0.2.9', off));
    expect(changed.serial).toBe(6);
    expect(soaSerial(changed.zone.soa.rdatas[0]!)).toBe(6);
    expect(changed.signed).toBeUndefined();
  });

  it('a restart with unchanged input serves the same octets under the same serial, signing nothing', () => {
    const dir = tmp();
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const before = server(dir, clock);
    before.publish(zone('auto'));
    clock.ms += 8 * DAY_MS; // a refresh: the serial rose once
    const served = before.publish(zone('auto'));
    expect(served.serial).toBe(Date.UTC(2026, 0, 1) / 1000 + 8 * 86400);
    clock.ms += 3600_000;
    const after = server(dir, clock);
    const again = after.publish(zone('auto'));
    expect(again.serial).toBe(served.serial);
    expect(wwwSig(again)).toBe(wwwSig(served));
    expect(versionDigest(again.zone, again.signed as SignedZone)).toBe(
      versionDigest(served.zone, served.signed as SignedZone),
    );
    expect(after.events.map((e) => e.event)).toContain('zone-signatures-restored');
    expect(after.events.map((e) => e.event)).not.toContain('zone-signed');
    // An edit after the restart raises the serial.
    expect(after.publish(zone('auto', '192.0.2.7')).serial).toBe(served.serial + 3600);
  });

  it('signatures written ahead by prepareSteps are put in place by the publish only; a dropped prepare leaves nothing', () => {
    const dir = tmp();
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const s = server(dir, clock);
    const file = signaturesFile(join(dir, 'state'), parseName('s.example.'));
    const signedDir = join(dir, 'state', 'signed');

    // Prepared, then not published: no signatures file and no temporary file.
    s.prepare(zone('auto'));
    s.assigner.dropPrepared();
    expect(existsSync(file)).toBe(false);
    expect(existsSync(signedDir) ? readdirSync(signedDir) : []).toEqual([]);

    // Prepared: written to a temporary file; the publish renames it into place.
    const publish = s.prepare(zone('auto'));
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(signedDir)).toHaveLength(1);
    const served = publish();
    expect(readdirSync(signedDir)).toEqual([file.split('/').pop()]);

    // What was put in place is the served version's: a restart serves the same octets under the same serial.
    clock.ms += 3600_000;
    const after = server(dir, clock);
    const again = after.prepare(zone('auto'))();
    expect(again.serial).toBe(served.serial);
    expect(wwwSig(again)).toBe(wwwSig(served));
    expect(after.events.map((e) => e.event)).toContain('zone-signatures-restored');
    expect(after.events.map((e) => e.event)).not.toContain('zone-signed');
  });

  it("a large signatures file's fsync is waited for on another thread in the slice queue; a small one's is not", async () => {
    const dir = tmp();
    const now = (): number => Date.UTC(2026, 0, 1);
    const logger = createLogger({ write: () => {} });
    const signer = new ZoneSigner(join(dir, 'keys'), join(dir, 'state'), logger, now);
    let flushes = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    /** The signer, with the pending file's count as given (a real 100k-name zone is too slow for a unit test). */
    const counting = (count: number): Resigner => ({
      withSerial: (signed, z) => signer.withSerial(signed, z),
      keepSignatures: (signed) => signer.keepSignatures(signed),
      *keepSignaturesSteps(signed): Generator<void, PendingSignatures, undefined> {
        const p = yield* signer.keepSignaturesSteps(signed);
        return {
          count,
          flush: () => {
            flushes++;
            return p.flush().then(() => gate);
          },
          commit: () => p.commit(),
          abandon: () => p.abandon(),
        };
      },
    });
    const run = (count: number): { q: SliceQueue; done: () => boolean } => {
      const assigner = new SerialAssigner(new SerialStore(join(dir, 'state'), now), counting(count), now);
      const secured = signer.secure([zone('auto')]);
      const [z, sz] = [...new Publisher(now).toAssign(secured)][0]!;
      let ended = false;
      const q = new SliceQueue((e) => {
        throw e;
      }, 1000);
      q.add(
        (function* () {
          yield* assigner.prepareSteps(z, sz);
          ended = true;
        })(),
      );
      return { q, done: () => ended };
    };

    const small = run(FLUSH_ASIDE_MIN - 1);
    expect(small.done()).toBe(true); // ended before add() returned: nothing waited for
    expect(flushes).toBe(0);

    const large = run(FLUSH_ASIDE_MIN);
    expect(flushes).toBe(1);
    expect(large.done()).toBe(false); // waiting for the fsync, the event loop free
    await new Promise((r) => setTimeout(r, 20));
    expect(large.done()).toBe(false);
    release();
    await large.q.settled();
    expect(large.done()).toBe(true);
  });

  it('a corrupt signatures file is ignored with a log line; the zone is signed anew under a higher serial', () => {
    const dir = tmp();
    const clock = { ms: Date.UTC(2026, 0, 1) };
    const served = server(dir, clock).publish(zone(3));
    const file = signaturesFile(join(dir, 'state'), served.zone.origin);
    const bytes = readFileSync(file);
    bytes[bytes.length - 40]! ^= 0xff;
    writeFileSync(file, bytes);
    const after = server(dir, clock);
    const again = after.publish(zone(3));
    expect(after.events.map((e) => e.event)).toContain('zone-signatures-ignored');
    expect(after.events.map((e) => e.event)).toContain('zone-signed');
    expect(again.serial).toBe(4);
    expect(soaOf(again).verifies).toBe(true);
  });
});
