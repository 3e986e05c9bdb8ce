/**
 * The serial of every served version (RFC 1982, RFC 1035 §3.3.13), decided in the publish path: a version whose
 * content (every RRset and signature a zone transfer would send, RFC 5936 §2.2) differs from the one served
 * before gets a higher serial (state/serials.ts nextSerial), and its SOA RRset is signed again under it. The
 * serial and the version's digest are recorded in the state directory, and the zone's signatures kept there,
 * before the version is served: a crash never serves a serial again for other content, and a restart with
 * unchanged input serves the same octets under the same serial.
 */
import { createHash } from 'node:crypto';
import { nameToText } from '../wire/name.js';
import type { SignedZone } from '../dnssec/zonesign.js';
import type { PendingSignatures } from '../dnssec/sigstore.js';
import type { ZoneSecurity } from '../query/security.js';
import type { SerialStore } from '../state/serials.js';
import { nextSerial } from '../state/serials.js';
import { soaSerial } from '../zone/build.js';
import { zoneWithSerialSteps } from '../zone/reserial.js';
import type { RRset, Zone } from '../zone/zone.js';
import type { Clock } from './clock.js';
import { awaitSteps, inSlices } from './slices.js';

/** A version with its serial, as the publisher serves it. */
export interface Assigned {
  readonly serial: number;
  readonly zone: Zone;
  readonly signed: ZoneSecurity | undefined;
  /** When (seconds since the epoch) its first signature is due: the serial is decided again then. */
  readonly due: number;
  /** The same serial and content as the version recorded last: the one served may stay. */
  readonly unchanged?: boolean;
}

/** What the assigner needs from the signer (server/signer.ts). */
export interface Resigner {
  /** `signed` under the SOA of `zone` (the same zone with another serial): the SOA RRSIG made again. */
  withSerial(signed: SignedZone, zone: Zone): SignedZone;
  /** Writes the zone's signatures to the state directory. */
  keepSignatures(signed: SignedZone): void;
  /**
   * keepSignatures in steps that yield, done ahead by prepareSteps(): only the commit (fsync, rename) is left
   * for the publish. Without it, the publish writes the whole file.
   */
  keepSignaturesSteps?(signed: SignedZone): Generator<void, PendingSignatures, undefined>;
}

const isSigned = (s: ZoneSecurity | undefined): s is SignedZone => s !== undefined && 'addedRRsets' in s;

/**
 * Whether a version under `serial` with `digest` writes its signatures to the state directory: not when the same
 * content is served again under the same serial (a restart with nothing changed).
 */
function keepsSignatures(
  prev: { serial: number; signed?: string; hash?: string } | undefined,
  serial: number,
  digest: string,
  zone: Zone,
): boolean {
  return !(prev !== undefined && prev.serial === serial && prev.signed === digest && prev.hash === zone.contentHash);
}

/** Signatures from which the file written ahead is fsynced on another thread (about 1 MB). */
export const FLUSH_ASIDE_MIN = 8192;

/**
 * Runs a write of the state directory. The default lets a failure propagate (the version is not served); the
 * server passes one that reports it (state-faults.ts) and goes on: what the zones and certificates say is served
 * either way, and the serial stays in memory so that later ones follow it.
 */
export type Persist = (file: 'serials' | 'signed', origin: string, write: () => void) => void;

const throwing: Persist = (_file, _origin, write) => write();

/** What prepareSteps() made for a version: its candidates per serial, and its signatures written ahead. */
interface PreparedVersion {
  readonly signed: ZoneSecurity | undefined;
  readonly under: Map<number, Candidate>;
  kept?: { readonly serial: number; readonly candidate: Candidate; readonly pending: PendingSignatures };
}

export class SerialAssigner {
  constructor(
    private readonly store: SerialStore,
    private readonly signer: Resigner,
    private readonly now: Clock,
    private readonly persist: Persist = throwing,
  ) {}

  /** Versions under a serial made ahead by prepareSteps(), for the next assign() of the same zone and view. */
  private readonly prepared = new Map<Zone, PreparedVersion>();

  /**
   * The work of assign() that costs a walk of the whole zone (the version under the serial served last, and
   * under the next one, with their digests), done ahead in steps that yield (server/slices.ts), so that the
   * assign() of the publish that follows only looks them up. Nothing is recorded here.
   */
  *prepareSteps(zone: Zone, signed: ZoneSecurity | undefined): Generator<void, Prepared, undefined> {
    const under = new Map<number, Candidate>();
    const entry: PreparedVersion = { signed, under };
    this.prepared.get(zone)?.kept?.pending.abandon();
    this.prepared.set(zone, entry);
    const prev = this.store.previous(nameToText(zone.origin).toLowerCase());
    let changed = true;
    if (prev) {
      const c = yield* this.underSteps(zone, signed, prev.serial);
      under.set(prev.serial, c);
      changed =
        prev.signed !== undefined ? c.digest !== prev.signed : signed !== undefined || prev.hash !== zone.contentHash;
    }
    const serial = nextSerial({ previous: prev?.serial, changed, file: zone.serialSetting, nowMs: this.now() });
    if (!under.has(serial)) under.set(serial, yield* this.underSteps(zone, signed, serial));
    const c = under.get(serial)!;
    // The signatures the publish will keep, written ahead to a temporary file; assign() commits it.
    const keep = c.signed;
    if (isSigned(keep) && keepsSignatures(prev, serial, c.digest, zone) && this.signer.keepSignaturesSteps) {
      try {
        const pending = yield* this.signer.keepSignaturesSteps(keep);
        entry.kept = { serial, candidate: c, pending };
        // A large file's fsync too (tens of milliseconds), on another thread while queries are answered. A small
        // zone's rebuild stays synchronous (it ends before the call that asked for it, an UPDATE's answer).
        if (inSlices() && pending.count >= FLUSH_ASIDE_MIN) yield* awaitSteps(pending.flush());
      } catch {
        // Written by the publish instead, where a failure is reported (a full or read-only state directory).
      }
    }
    return { serial, zone: c.zone, signed: c.signed };
  }

  /** The serial of the version (`zone`, `signed`) and the version served under it. */
  assign(zone: Zone, signed: ZoneSecurity | undefined): Assigned {
    try {
      return this.assignNow(zone, signed);
    } finally {
      this.prepared.get(zone)?.kept?.pending.abandon(); // nothing once committed
      this.prepared.delete(zone);
    }
  }

  /** Drops what prepareSteps() made and no assign() took (a zone the publish found unchanged). */
  dropPrepared(): void {
    for (const p of this.prepared.values()) p.kept?.pending.abandon();
    this.prepared.clear();
  }

  private assignNow(zone: Zone, signed: ZoneSecurity | undefined): Assigned {
    const key = nameToText(zone.origin).toLowerCase();
    const prev = this.store.previous(key);
    const nowMs = this.now();
    // The version as it would be under the serial served last: unchanged content gives the same octets.
    let candidate: { zone: Zone; signed: ZoneSecurity | undefined; digest: string } | undefined;
    let changed = true;
    if (prev) {
      candidate = this.under(zone, signed, prev.serial);
      changed =
        prev.signed !== undefined
          ? candidate.digest !== prev.signed
          : // An entry from before the digests were kept: an unsigned zone's content hash decides.
            signed !== undefined || prev.hash !== zone.contentHash;
    }
    const serial = nextSerial({ previous: prev?.serial, changed, file: zone.serialSetting, nowMs });
    const final = candidate && serial === prev?.serial ? candidate : this.under(zone, signed, serial);
    const unchanged = prev !== undefined && prev.serial === serial && prev.signed === final.digest;
    const keep = final.signed;
    if (isSigned(keep) && keepsSignatures(prev, serial, final.digest, zone)) {
      // Written ahead by prepareSteps for this very version: committed the first time; a retry writes it anew.
      const kept = this.prepared.get(zone)?.kept;
      let pending = kept && kept.serial === serial && kept.candidate === final ? kept.pending : undefined;
      this.persist('signed', key, () => {
        const p = pending;
        pending = undefined;
        if (p) p.commit();
        else this.signer.keepSignatures(keep);
      });
    }
    const entry = { serial, hash: zone.contentHash, signed: final.digest };
    this.persist('serials', key, () => this.store.record(key, entry));
    const due = isSigned(final.signed) ? final.signed.earliestExpiration - zone.dnssec.refreshBefore : Infinity;
    return { serial, zone: final.zone, signed: final.signed, due, unchanged };
  }

  private under(zone: Zone, signed: ZoneSecurity | undefined, serial: number): Candidate {
    const p = this.prepared.get(zone);
    const ready = p && p.signed === signed ? p.under.get(serial) : undefined;
    return ready ?? drain(this.underSteps(zone, signed, serial));
  }

  private *underSteps(
    zone: Zone,
    signed: ZoneSecurity | undefined,
    serial: number,
  ): Generator<void, Candidate, undefined> {
    const z = yield* zoneWithSerialSteps(zone, serial);
    const s = isSigned(signed) ? this.signer.withSerial(signed, z) : signed;
    return { zone: z, signed: s, digest: yield* versionDigestSteps(z, isSigned(s) ? s : undefined) };
  }
}

/** The version assign() will most likely serve (unless the clock moves on before it runs). */
export interface Prepared {
  readonly serial: number;
  readonly zone: Zone;
  readonly signed: ZoneSecurity | undefined;
}

/** A version under a given serial, and its digest. */
interface Candidate {
  readonly zone: Zone;
  readonly signed: ZoneSecurity | undefined;
  readonly digest: string;
}

function drain<T>(steps: Generator<void, T, undefined>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** RRsets hashed between two yields of versionDigestSteps. */
const RRSETS_PER_STEP = 256;

/**
 * SHA-256 over every RRset of a version: the zone's (glue included), then the signer's (DNSKEY, NSEC, RRSIG).
 * Owner, type, TTL and rdata of each, in a fixed order, written into a fixed buffer that is hashed each time it
 * fills (one hash update per record costs several times more for a large zone; one buffer of the whole zone
 * would cost its size in memory).
 */
export function versionDigest(zone: Zone, signed: SignedZone | undefined): string {
  return drain(versionDigestSteps(zone, signed));
}

/** versionDigest as a generator that yields every few hundred RRsets (for the server's slices). */
export function* versionDigestSteps(zone: Zone, signed: SignedZone | undefined): Generator<void, string, undefined> {
  const sha = createHash('sha256');
  const b = Buffer.alloc(256 * 1024);
  let at = 0;
  const room = (n: number): void => {
    if (at + n <= b.length) return;
    sha.update(b.subarray(0, at));
    at = 0;
  };
  const bytes = (v: Uint8Array): void => {
    if (v.length > b.length) {
      room(b.length + 1); // flush
      sha.update(v);
      return;
    }
    room(v.length);
    b.set(v, at);
    at += v.length;
  };
  const add = (rs: RRset): void => {
    const owner = Buffer.from(rs.owner.key, 'utf8');
    room(12);
    at = b.writeUInt16BE(owner.length, at); // length-prefixed: no owner runs into the next field
    bytes(owner);
    room(8);
    at = b.writeUInt16BE(rs.type, b.writeUInt32BE(rs.ttl, b.writeUInt16BE(rs.rdatas.length, at)));
    for (const rd of rs.rdatas) {
      room(2);
      at = b.writeUInt16BE(rd.length, at);
      bytes(rd);
    }
  };
  let n = 0;
  for (const node of zone.ordered)
    for (const rs of [...node.rrsets.values()].sort((x, y) => x.type - y.type)) {
      add(rs);
      if (++n % RRSETS_PER_STEP === 0) yield;
    }
  if (signed)
    for (const rs of signed.addedRRsets()) {
      add(rs);
      if (++n % RRSETS_PER_STEP === 0) yield;
    }
  sha.update(b.subarray(0, at));
  return sha.digest('base64');
}
