/**
 * The zone each file serves: the zone as loaded, or, for a zone with automatic TLSA entries, the zone rebuilt
 * with the TLSA records the certificates give (RFC 7671 §8.1: the records of the next certificate are published
 * before it is used). A rebuilt zone is kept and reused until its input (the file's content or the published
 * TLSA sets) changes, so an unchanged zone stays the same object and is not signed again.
 */
import { basename } from 'node:path';
import type { Logger } from '../log.js';
import { nameToText } from '../wire/name.js';
import { ZoneError, clip, listProblems } from '../zone/errors.js';
import { soaSerial } from '../zone/build.js';
import type { Zone } from '../zone/zone.js';
import type { AutoTlsa } from '../tlsa/augment.js';
import { zoneWithTlsa } from '../tlsa/zone.js';
import type { LoadedFile } from './zone-files.js';
import type { DynamicZones } from './dynamic-zones.js';

export interface ServedZonesOptions {
  readonly logger: Logger;
  /** The TLSA sets to publish in a zone (lower-case origin text), from the TLSA loop. */
  readonly setsFor: (zone: string) => readonly AutoTlsa[];
  readonly autoSerial: (origin: string, hash: string) => number;
  /** The records of dynamic update, merged into each zone first (dynamic-zones.ts). */
  readonly dynamic?: DynamicZones;
}

export class ServedZones {
  /** The served version of each file's zone with automatic TLSA, and the input it was built from. */
  private readonly built = new Map<string, { key: string; zone: Zone }>();

  constructor(private readonly opts: ServedZonesOptions) {}

  /** The zones to serve, one per loaded file, in file order. */
  zones(files: ReadonlyMap<string, LoadedFile>): Zone[] {
    const zones = [...files].map(([file, lf]) => this.zoneOf(file, lf));
    for (const file of [...this.built.keys()]) if (!files.has(file)) this.built.delete(file);
    return zones;
  }

  private zoneOf(file: string, loaded: LoadedFile): Zone {
    const lf = this.opts.dynamic?.merged(file, loaded) ?? loaded;
    if (lf.source.src.tlsa.length === 0) return lf.plain;
    const { logger } = this.opts;
    const sets = this.opts.setsFor(nameToText(lf.plain.origin).toLowerCase());
    // The transfer ACL is not in the content hash (it is not zone content) but must reach the served zone.
    const acl = lf.plain.transfer.allow.map((a) => [a.key, a.address?.text]);
    const key = `${lf.plain.contentHash}/${JSON.stringify(sets)}/${JSON.stringify(acl)}`;
    const have = this.built.get(file);
    if (have?.key === key) return have.zone;
    try {
      const { zone, warnings } = zoneWithTlsa(lf.source, lf.plain, sets, this.opts.autoSerial);
      for (const w of warnings)
        logger.warn('tlsa-zone-warning', { file: basename(w.file), line: w.line, warning: w.reason });
      this.built.set(file, { key, zone });
      logger.info('zone-tlsa-applied', {
        zone: nameToText(zone.origin),
        serial: soaSerial(zone.soa.rdatas[0]!),
        hosts: sets.map((x) => ({ host: x.host, records: x.rdatas.length })),
      });
      return zone;
    } catch (e) {
      const reasons = e instanceof ZoneError ? listProblems(e.problems) : [clip(String(e))];
      logger.error('tlsa-zone-build-failed', {
        file: basename(file),
        problems: reasons,
        keeping: have ? 'the last served version' : 'the zone without automatic TLSA',
      });
      return have?.zone ?? lf.plain;
    }
  }
}
