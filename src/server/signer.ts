/**
 * Turns the loaded zones into what a snapshot serves: each DNSSEC-enabled zone with its keys (generated on
 * first start, loaded afterwards) and its signed view; unsigned zones as they are. Keeps the last signed
 * version of every zone so that a zone whose keys vanish keeps serving its last signed snapshot (never
 * regenerate keys silently: new keys break the DS at the parent) instead of going unsigned or bogus.
 * Signatures live in one SignatureCache across rebuilds, so a reload or refresh only signs what changed or is due;
 * the cache's entries for a zone are kept in the state directory (dnssec/sigstore.ts) and put back before the
 * zone is first signed after a start, so unchanged data is not signed again (ECDSA signatures are random).
 */
import { nameToText } from '../wire/name.js';
import type { Logger } from '../log.js';
import type { ZoneSecurity } from '../query/security.js';
import type { Zone } from '../zone/zone.js';
import { ensureZoneKeys, KEYS_STATE_FILE, recordKeyTags, type KeySetResult } from '../dnssec/keystore.js';
import { join } from 'node:path';
import { SignatureCache } from '../dnssec/sigcache.js';
import {
  loadSignatures,
  saveSignatures,
  saveSignaturesSteps,
  signaturesFile,
  type PendingSignatures,
} from '../dnssec/sigstore.js';
import {
  dnskeySigners,
  publishedKeys,
  signedWithSerial,
  signZone,
  signZoneAsync,
  signZoneSteps,
  type SignedZone,
  type ZoneKeys,
} from '../dnssec/zonesign.js';
import type { ZoneKey } from '../dnssec/keys.js';
import { parentKeys } from '../dnssec/cds.js';
import { loadZoneKeys } from '../dnssec/keyfile.js';
import { rollByLifetime } from './key-lifetime.js';
import { slicer } from './slices.js';

export interface Secured {
  /** The zones to serve (a zone whose keys are missing may be an older, signed version, or left out). */
  readonly zones: Zone[];
  readonly security: Map<Zone, ZoneSecurity>;
  /** When (seconds since the epoch) the first signature becomes due for refresh; Infinity when none. */
  readonly nextDue: number;
}

/** How the last snapshot build went for one zone (for /healthz and /metrics). */
export interface ZoneSignStatus {
  readonly state: 'signed' | 'unsigned' | 'keys-missing' | 'sign-failed';
  readonly reason?: string;
  /** Milliseconds the last signing took. */
  readonly signMs?: number;
  /** How often the zone was signed (its signed version made anew, signatures from the cache or new) so far. */
  readonly signings?: number;
}

export class ZoneSigner {
  /** Status per zone origin key, from the last call of secure(). */
  readonly status = new Map<string, ZoneSignStatus>();
  private readonly cache = new SignatureCache();
  /** Last signed version per zone origin. */
  private readonly lastSigned = new Map<string, SignedZone>();
  /** The zone each last signed version was made from: an unchanged zone that is not due is not signed again. */
  private readonly signedFrom = new Map<string, Zone>();
  /** When each zone's key set changes next (seconds since the epoch): the zone is signed again then. */
  private readonly keyEvent = new Map<string, number>();
  /** How often each zone was signed so far (ZoneSignStatus.signings). */
  private readonly signings = new Map<string, number>();
  /** Zones whose kept signatures were read from the state directory (once per zone and process). */
  private readonly restored = new Set<string>();

  constructor(
    private readonly keysDir: string,
    private readonly stateDir: string,
    private readonly logger: Logger,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * Whether a zone turned `dnssec.enabled: false` may be served unsigned now. Until then a zone that has keys
   * stays signed and publishes the RFC 8078 §4 delete records, so that the parent drops its DS before the
   * signatures go (parent-watch.ts decides: every parent server without a DS, and its TTL passed). Default: at once.
   */
  insecureReady: (originKey: string) => boolean = () => true;
  /**
   * Told of a state file the signer reads or writes (a zone's kept signatures, keys.json): why it could not be
   * read or written, or undefined when it was (the server's state faults, state-faults.ts).
   */
  stateFile: (kind: 'signed' | 'keys', file: string, problem: string | undefined, retry?: () => void) => void =
    () => {};
  /** Zones that publish the delete records now (logged once each time one starts). */
  private readonly goingInsecure = new Set<string>();

  /** The latest signed version of a zone, by origin key (for `zone export --signed` and health). */
  signed(originKey: string): SignedZone | undefined {
    return this.lastSigned.get(originKey);
  }

  /** When (seconds since the epoch) the zone's key set changes next (a rollover step, or a key lifetime ending), or undefined (`dane-ns status`). */
  nextKeyEvent(originKey: string): number | undefined {
    const t = this.keyEvent.get(originKey);
    return t === undefined || t === Infinity ? undefined : t;
  }

  /** `signed` under the SOA of `zone`, its serial changed (the publish path, server/serials.ts). */
  withSerial(signed: SignedZone, zone: Zone): SignedZone {
    return signedWithSerial(signed, zone, Math.floor(this.now() / 1000), this.cache);
  }

  /** Writes the zone's signatures (every one its keys made that is still valid) to the state directory. */
  keepSignatures(signed: SignedZone): void {
    const now = Math.floor(this.now() / 1000);
    saveSignatures(this.stateDir, signed.zone.origin, signersOf(signed.keys), this.cache, now);
  }

  /** keepSignatures in steps that yield; the file is in place once the result is committed. */
  keepSignaturesSteps(signed: SignedZone): Generator<void, PendingSignatures, undefined> {
    const now = Math.floor(this.now() / 1000);
    return saveSignaturesSteps(this.stateDir, signed.zone.origin, signersOf(signed.keys), this.cache, now);
  }

  /** The zone's key set as the keys directory has it now (generated on a first start). */
  #readKeys(z: Zone, nowMs: number): KeySetResult {
    return ensureZoneKeys({
      zone: z.origin,
      keysDir: this.keysDir,
      stateDir: this.stateDir,
      mode: z.dnssec.keys,
      now: new Date(nowMs),
    });
  }

  /** keys.json as the last read of the zone's keys found it (stateFile); retried by recording the tags again. */
  #keysFile(z: Zone, keys: KeySetResult & { ok: true }): void {
    const tags = keys.published.map((k) => k.tag);
    this.stateFile('keys', join(this.stateDir, KEYS_STATE_FILE), keys.keysFileProblem, () => {
      // Reads keys.json first, and never writes over one it cannot read: throws while it still fails.
      const w = recordKeyTags(this.stateDir, z.origin, tags, new Date(this.now()));
      if (w !== null) throw new Error(w);
    });
  }

  /** Puts a zone's kept signatures into the cache, before its first signing in this process. */
  #restore(z: Zone, keys: ZoneKeys): void {
    if (this.restored.has(z.origin.key)) return;
    this.restored.add(z.origin.key);
    const r = loadSignatures(this.stateDir, z.origin, signersOf(keys), this.cache);
    const zone = nameToText(z.origin);
    if (r.ok) this.logger.info('zone-signatures-restored', { zone, signatures: r.restored });
    else if (!r.missing) {
      this.logger.warn('zone-signatures-ignored', { zone, reason: r.reason, note: 'the zone is signed anew' });
      // Written anew with the version's signatures, which clears it (a file that cannot be written stays failing).
      this.stateFile('signed', signaturesFile(this.stateDir, z.origin), `read: ${r.reason}`);
    }
  }

  /**
   * The key files may have changed (the keys directory was written, e.g. by `dane-ns keys rollover`, or a
   * SIGHUP): the next secure() reads every zone's keys again, and signs again only a zone whose keys differ
   * from those its signed version was made with (keysDiffer). Touching a key file, rewriting it with the same
   * content, or another zone's or a TSIG key signs nothing again.
   */
  keysChanged(): void {
    this.keysToCheck = true;
  }

  /** The key files may have changed since the last secure(): each reusable zone's keys are read and compared. */
  private keysToCheck = false;

  /** Signs the zones (synchronously: a reload or refresh signs only what changed or is due). */
  secure(zones: Iterable<Zone>): Secured {
    const step = this.#steps(zones);
    let r = step.next();
    while (!r.done) {
      const req = r.value;
      let failure: { error: unknown } | undefined;
      try {
        req.signed = signZone(req.zone, req.keys, req.now, this.cache);
      } catch (error) {
        failure = { error };
      }
      r = failure ? step.throw(failure.error) : step.next();
    }
    return r.value;
  }

  /**
   * secure() as a generator that yields every few dozen RRsets signed (signZoneSteps), for the server's slices
   * (slices.ts): reloads, refreshes and key changes sign on the main thread between queries.
   */
  *secureSteps(zones: Iterable<Zone>): Generator<void, Secured, undefined> {
    const step = this.#steps(zones);
    let r = step.next();
    while (!r.done) {
      const req = r.value;
      let failure: { error: unknown } | undefined;
      try {
        req.signed = yield* signZoneSteps(req.zone, req.keys, req.now, this.cache);
      } catch (error) {
        failure = { error };
      }
      r = failure ? step.throw(failure.error) : step.next();
    }
    return r.value;
  }

  /**
   * secure() with the signatures computed on libuv's thread pool, several at a time (signZoneAsync): the
   * first signing of every zone at start, where everything is a cache miss.
   */
  async secureAsync(zones: Iterable<Zone>): Promise<Secured> {
    const step = this.#steps(zones);
    let r = step.next();
    while (!r.done) {
      const req = r.value;
      let failure: { error: unknown } | undefined;
      try {
        req.signed = await signZoneAsync(req.zone, req.keys, req.now, this.cache, undefined, slicer());
      } catch (error) {
        failure = { error };
      }
      r = failure ? step.throw(failure.error) : step.next();
    }
    return r.value;
  }

  /**
   * The work of secure() around the signing itself: yields one request per zone to sign, whose `signed` the
   * driver fills in (or leaves unset when signing threw: the error is rethrown into the generator).
   */
  *#steps(zones: Iterable<Zone>): Generator<SignRequest, Secured, void> {
    const out: Zone[] = [];
    const security = new Map<Zone, ZoneSecurity>();
    let nextDue = Infinity;
    const nowMs = this.now();
    const nowSec = Math.floor(nowMs / 1000);
    const previous = new Map(this.status);
    const checkKeys = this.keysToCheck;
    this.keysToCheck = false;
    this.status.clear(); // zones that are gone lose their status
    for (const z of zones) {
      if (!z.dnssec.enabled) {
        const going = !this.insecureReady(z.origin.key) && loadZoneKeys(this.keysDir, z.origin).keys.length > 0;
        if (!going) {
          if (this.goingInsecure.delete(z.origin.key))
            this.logger.info('zone-unsigned', { zone: nameToText(z.origin) });
          this.status.set(z.origin.key, { state: 'unsigned' });
          out.push(z);
          continue;
        }
        if (!this.goingInsecure.has(z.origin.key)) {
          this.goingInsecure.add(z.origin.key);
          this.logger.warn('zone-going-insecure', {
            zone: nameToText(z.origin),
            note:
              'dnssec.enabled is false: the zone stays signed and publishes CDS 0 0 0 00 and CDNSKEY 0 3 0 AA== (RFC 8078); ' +
              'have the parent remove the DS (or let it follow the CDS); the zone is served unsigned once every parent server has dropped the DS and its TTL has passed',
          });
        }
      } else this.goingInsecure.delete(z.origin.key);
      const last = this.lastSigned.get(z.origin.key);
      const keyEvent = this.keyEvent.get(z.origin.key) ?? Infinity;
      // The keys as read now: only when the keys directory changed (or the zone is signed below).
      let read: KeySetResult | undefined;
      if (
        last &&
        this.signedFrom.get(z.origin.key) === z &&
        nowSec < last.earliestExpiration - z.dnssec.refreshBefore &&
        nowSec < keyEvent &&
        !(checkKeys && keysDiffer((read = this.#readKeys(z, nowMs)), last, z, keyEvent, nowMs))
      ) {
        // Same zone object (its file did not change), nothing due: the signed view is reused as it is.
        if (read?.ok) this.#keysFile(z, read);
        this.status.set(z.origin.key, previous.get(z.origin.key) ?? { state: 'signed' });
        out.push(last.zone);
        security.set(last.zone, last);
        const due = Math.min(last.earliestExpiration - z.dnssec.refreshBefore, keyEvent);
        if (due < nextDue) nextDue = due;
        continue;
      }
      const name = nameToText(z.origin);
      let keys = read ?? this.#readKeys(z, nowMs);
      // A key whose lifetime is over is rolled now (the key files change: read again); the end of the next
      // lifetime is a key event like the rollover steps.
      const lifetime = keys.ok
        ? rollByLifetime(z, { keysDir: this.keysDir, stateDir: this.stateDir, logger: this.logger }, new Date(nowMs))
        : { started: false, next: undefined };
      if (lifetime.started) {
        const again = this.#readKeys(z, nowMs);
        // What the first read said (an interrupted change undone) is still worth logging.
        if (again.ok && keys.ok) again.warnings.unshift(...keys.warnings);
        keys = again;
      }
      let signed: SignedZone | undefined;
      if (!keys.ok) {
        signed = this.lastSigned.get(z.origin.key);
        // Unreadable key files are an ownership problem (the error says the fix), not missing keys.
        this.logger.error(keys.denied ? 'zone-keys-unreadable' : 'zone-keys-missing', {
          zone: name,
          error: keys.error,
          serving: signed ? 'the last signed version' : 'nothing (zone left out until its keys are restored)',
        });
        // The last signed version cannot be re-signed without keys; it serves until its signatures are due.
        this.status.set(z.origin.key, { state: 'keys-missing', reason: keys.error });
      } else {
        for (const w of keys.warnings) this.logger.warn('zone-keys', { zone: name, warning: w });
        this.#keysFile(z, keys);
        if (keys.generated)
          this.logger.info('zone-keys-generated', {
            zone: name,
            ksk: keys.ksk.tag,
            zsk: keys.zsk.tag,
            note: 'publish the DS (dane-ns ds ZONE) at the parent',
          });
        const t0 = process.hrtime.bigint();
        const before = this.cache.misses;
        const tags = keyTags(keys);
        if (last && JSON.stringify(keyTags(last.keys)) !== JSON.stringify(tags))
          this.logger.info('zone-keys-changed', { zone: name, ...tags });
        // RFC 7344: CDS/CDNSKEY for the keys the parent should hold; they change by time alone when a new
        // key's DS may go up.
        const parent = parentKeys(keys.dnskeySigners, z.dnssec.cds, z.soa.ttl, z.dnssec.margin, new Date(nowMs));
        const lastParent = (last?.keys.atParent ?? []).map((k) => k.tag).join(' ');
        if (z.dnssec.enabled && lastParent !== parent.keys.map((k) => k.tag).join(' '))
          this.logger.info('zone-cds', {
            zone: name,
            cds: parent.keys.map((k) => k.tag),
            note: parent.keys.length > 0 ? 'CDS and CDNSKEY published for these keys' : 'no CDS or CDNSKEY',
          });
        const changes = [keys.nextEvent, parent.changesAt, lifetime.next]
          .filter((d) => d !== undefined)
          .map((d) => d.getTime());
        const event = changes.length > 0 ? Math.ceil(Math.min(...changes) / 1000) : Infinity;
        this.keyEvent.set(z.origin.key, event);
        if (event < nextDue) nextDue = event;
        const request: SignRequest = {
          zone: z,
          keys: {
            ksk: keys.ksk,
            zsk: keys.zsk,
            dnskeySigners: keys.dnskeySigners,
            published: keys.published,
            atParent: z.dnssec.enabled ? parent.keys : [],
            parentDelete: !z.dnssec.enabled,
          },
          now: nowSec,
          signed: undefined,
        };
        this.#restore(z, request.keys);
        try {
          yield request;
          signed = request.signed!;
          // A key that signed the last version and signs no more (a rollover ended): its signatures go.
          const signing = new Set(signersOf(request.keys).map((k) => k.tag));
          if (last) for (const k of signersOf(last.keys)) if (!signing.has(k.tag)) this.cache.forgetKey(k);
          this.lastSigned.set(z.origin.key, signed);
          this.signedFrom.set(z.origin.key, z);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          const signings = (this.signings.get(z.origin.key) ?? 0) + 1;
          this.signings.set(z.origin.key, signings);
          this.status.set(z.origin.key, { state: 'signed', signMs: ms, signings });
          if (this.cache.misses !== before)
            this.logger.info('zone-signed', {
              zone: name,
              signatures: this.cache.misses - before,
              ms: Math.round(ms),
              expires: new Date(signed.earliestExpiration * 1000).toISOString(),
            });
        } catch (e) {
          signed = this.lastSigned.get(z.origin.key);
          this.status.set(z.origin.key, { state: 'sign-failed', reason: (e as Error).message });
          this.logger.error('zone-sign-failed', {
            zone: name,
            error: (e as Error).message,
            serving: signed ? 'the last signed version' : 'nothing',
          });
        }
      }
      if (!signed) continue;
      out.push(signed.zone);
      security.set(signed.zone, signed);
      const due = signed.earliestExpiration - z.dnssec.refreshBefore;
      if (due < nextDue) nextDue = due;
    }
    return { zones: out, security, nextDue };
  }
}

/** One zone for the driver of ZoneSigner.#steps to sign. */
interface SignRequest {
  readonly zone: Zone;
  readonly keys: ZoneKeys;
  readonly now: number;
  signed: SignedZone | undefined;
}

/** The tags of a key set, for the log: the DNSKEY RRset, the keys that sign it, the key that signs the rest. */
function keyTags(keys: ZoneKeys): { dnskey: number[]; dnskeySigners: number[]; zoneSigner: number } {
  return {
    dnskey: publishedKeys(keys).map((k) => k.tag),
    dnskeySigners: dnskeySigners(keys).map((k) => k.tag),
    zoneSigner: keys.zsk.tag,
  };
}

/** The keys that make signatures: the DNSKEY RRset's signers and the zone signer. */
function signersOf(keys: ZoneKeys): ZoneKey[] {
  return [...dnskeySigners(keys), keys.zsk];
}

/**
 * Whether the keys read now (`keys`) differ from those `last` was signed with in what the signed zone depends on:
 * each published DNSKEY's rdata, the DNSKEY RRset's signers, the zone signer, the keys the parent should hold
 * (CDS/CDNSKEY, RFC 7344) and when the set changes next (a key's timing: `keyEvent` as the signing path computes
 * it, from the key times and the CDS times). Keys that cannot be read differ (the signing path reports them).
 */
function keysDiffer(keys: KeySetResult, last: SignedZone, z: Zone, keyEvent: number, nowMs: number): boolean {
  if (!keys.ok) return true;
  const parent = parentKeys(keys.dnskeySigners, z.dnssec.cds, z.soa.ttl, z.dnssec.margin, new Date(nowMs));
  const changes = [keys.nextEvent, parent.changesAt].filter((d) => d !== undefined).map((d) => d.getTime());
  const event = changes.length > 0 ? Math.ceil(Math.min(...changes) / 1000) : Infinity;
  const atParent = z.dnssec.enabled ? parent.keys : [];
  const now = { ...keys, atParent, parentDelete: !z.dnssec.enabled };
  return event !== keyEvent || keyPrint(now) !== keyPrint(last.keys);
}

/** What of a key set a signed zone depends on: every DNSKEY's rdata, the DNSKEY signers, the zone signer, CDS keys. */
function keyPrint(keys: ZoneKeys): string {
  const rdata = (k: ZoneKey): string => Buffer.from(k.dnskeyRdata).toString('base64');
  return JSON.stringify([
    publishedKeys(keys).map(rdata),
    dnskeySigners(keys).map(rdata),
    rdata(keys.zsk),
    (keys.atParent ?? []).map(rdata),
    keys.parentDelete ?? false,
  ]);
}
