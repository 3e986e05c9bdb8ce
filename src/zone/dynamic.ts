/**
 * A zone file's source with the records of dynamic update (RFC 2136) added: they are kept in the state
 * directory (state/dynamic.ts), never in the operator's file, and built with the file's records as one zone
 * (build.ts checks them like any other, and keeps them apart from `records:` by the `update:` policy).
 */
import type { DynamicRecord } from '../state/dynamic.js';
import { readDynamicFile, dynamicFile } from '../state/dynamic.js';
import type { ZoneFileSource } from './files.js';
import type { RecordInput } from './yaml.js';

/** The source with `records` after the file's own. */
export function withDynamicRecords(f: ZoneFileSource, records: readonly DynamicRecord[]): ZoneFileSource {
  if (records.length === 0) return f;
  const added: RecordInput[] = records.map((r) => ({
    owner: r.name,
    type: r.type,
    ttl: r.ttl,
    value: r.data,
    line: 0,
    dynamic: true,
  }));
  return { ...f, src: { ...f.src, records: [...f.src.records, ...added] } };
}

/** The source with the dynamic records the state directory holds for its zone (read only; none when absent). */
export function withStoredDynamicRecords(f: ZoneFileSource, stateDir: string): ZoneFileSource {
  if (f.src.update.length === 0) return f;
  return withDynamicRecords(f, readDynamicFile(dynamicFile(stateDir, f.src.origin ?? f.defaultOrigin)));
}
