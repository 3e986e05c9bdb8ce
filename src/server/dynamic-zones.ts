/**
 * The records of dynamic update (RFC 2136, update.ts) merged into the zone each file serves: the file's records
 * plus the zone's dynamic records (state/dynamic.ts), built as one zone (zone/build.ts checks them like any
 * other). Records the zone's `update:` no longer allows (the policy narrowed, or was removed) are dropped, with
 * a log line, and the file rewritten without them. A merged zone is kept until the file or the records change,
 * so an unchanged zone stays the same object and is not signed again.
 */
import { basename } from 'node:path';
import type { Logger } from '../log.js';
import type { DynamicRecord, DynamicStore } from '../state/dynamic.js';
import { nameToText, parseName } from '../wire/name.js';
import { typeFromText } from '../wire/types.js';
import { ZoneError, clip, listProblems } from '../zone/errors.js';
import { buildZoneSource } from '../zone/files.js';
import { grantOf } from '../zone/updatepolicy.js';
import { withDynamicRecords } from '../zone/dynamic.js';
import type { Zone } from '../zone/zone.js';
import type { LoadedFile } from './zone-files.js';
import { UpdateRejected } from './update.js';

export class DynamicZones {
  private readonly built = new Map<string, { key: string; lf: LoadedFile }>();

  constructor(
    private readonly store: DynamicStore,
    private readonly logger: Logger,
    private readonly autoSerial: (origin: string, hash: string) => number,
    /**
     * A zone's records file could not be read or written (`problem`), or was (undefined): the server's state
     * faults (state-faults.ts).
     */
    private readonly stateFile: (origin: string, problem: string | undefined) => void = () => {},
  ) {}

  /** The file as loaded, with the zone's dynamic records merged into its source and its zone. */
  merged(file: string, lf: LoadedFile): LoadedFile {
    const origin = nameToText(lf.plain.origin).toLowerCase();
    let records: readonly DynamicRecord[];
    try {
      records = this.kept(lf.plain, this.store.records(origin));
      this.stateFile(origin, undefined);
    } catch (e) {
      this.logger.error('dynamic-records-unreadable', { zone: origin, error: String(e), serving: 'the file alone' });
      this.stateFile(origin, `read: ${e instanceof Error ? e.message : String(e)}`);
      return lf;
    }
    if (records.length === 0) return lf;
    const key = `${lf.stamp}/${lf.plain.contentHash}/${this.store.version(origin)}`;
    const have = this.built.get(file);
    if (have?.key === key) return have.lf;
    try {
      const out = this.build(lf, records);
      this.built.set(file, { key, lf: out });
      return out;
    } catch (e) {
      const problems = e instanceof ZoneError ? listProblems(e.problems) : [clip(String(e))];
      this.logger.error('dynamic-records-not-merged', { file: basename(file), problems, serving: 'the file alone' });
      return lf;
    }
  }

  /** The file's zone with `records` as its dynamic records; throws ZoneError when it does not build. */
  build(lf: LoadedFile, records: readonly DynamicRecord[]): LoadedFile {
    const source = withDynamicRecords(lf.source, records);
    const auto = source.src.tlsa.length > 0;
    return { ...lf, source, plain: buildZoneSource(source, auto ? undefined : this.autoSerial) };
  }

  /**
   * Makes `records` the dynamic records of `zone` (update.ts): the zone is built with them first (a zone that
   * would not build is UpdateRejected, nothing written), then they are written to stable storage, then
   * `publish` serves the new version (RFC 2136 §3.5, §3.7).
   */
  commit(
    files: ReadonlyMap<string, LoadedFile>,
    zone: Zone,
    records: readonly DynamicRecord[],
    publish: () => void,
  ): void {
    const lf = [...files.values()].find((f) => f.plain.origin.key === zone.origin.key);
    if (!lf) throw new UpdateRejected('the zone file is not loaded');
    try {
      this.build(lf, records);
    } catch (e) {
      if (e instanceof ZoneError) throw new UpdateRejected(listProblems(e.problems).join('; '));
      throw e;
    }
    const origin = nameToText(zone.origin).toLowerCase();
    try {
      this.store.save(origin, records);
    } catch (e) {
      // The update is answered SERVFAIL (update.ts); the file is a state fault until it can be written.
      this.stateFile(origin, `write: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    this.stateFile(origin, undefined);
    publish();
  }

  /** The records the zone's `update:` still allows; the others are dropped from the state directory, logged. */
  private kept(zone: Zone, records: readonly DynamicRecord[]): readonly DynamicRecord[] {
    const keep = records.filter((r) => grantOf(zone.update, parseName(r.name), typeFromText(r.type)) !== undefined);
    if (keep.length === records.length) return records;
    const origin = nameToText(zone.origin).toLowerCase();
    for (const r of records)
      if (!keep.includes(r))
        this.logger.warn('dynamic-record-dropped', {
          zone: origin,
          record: `${r.name} ${r.ttl} ${r.type} ${r.data}`,
          reason: 'update: no longer allows it',
        });
    this.store.save(origin, keep);
    return keep;
  }
}
