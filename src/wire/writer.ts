/**
 * A growable byte writer with a name-compression table (RFC 1035 §4.1.4) and an optional size budget.
 * Exceeding the budget throws WireError('E_OVERFLOW'); callers that build a message catch it at an RRset
 * boundary, roll back with `mark()`/`reset()` and set TC, so an RRset is never cut in half.
 */
import { WireError } from './errors.js';
import type { Name } from './name.js';

export class Writer {
  private buf: Uint8Array;
  pos = 0;
  /** Maximum total size; Infinity for none. */
  readonly limit: number;
  /** Lower-cased suffix key -> offset of that suffix already written (only offsets < 0x4000). */
  private readonly table = new Map<string, number>();
  /**
   * When set, the offset of every compression pointer written is appended here (and forgotten again by
   * `reset`): a caller that wants to move the encoded bytes to another offset can rebase the pointers.
   */
  pointerLog: number[] | null = null;

  /**
   * @param limit maximum total size (Infinity for none)
   * @param initial first buffer size when no scratch buffer is given
   * @param scratch a caller-owned buffer to write into (grown by copying if too small); the caller must copy
   *   the result out (`finish()`) before reusing it. Saves an allocation per message on hot paths.
   */
  constructor(limit = Infinity, initial = 512, scratch?: Uint8Array) {
    this.limit = limit;
    this.buf = scratch ?? new Uint8Array(Math.min(initial, Number.isFinite(limit) ? limit : initial));
  }

  private ensure(n: number): void {
    const want = this.pos + n;
    if (want > this.limit) throw new WireError('E_OVERFLOW', `message would exceed ${this.limit} octets`);
    if (want <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < want) size *= 2;
    if (size > this.limit) size = this.limit;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Overwrites a 16-bit value at an earlier offset (RDLENGTH, counts). */
  patchU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /**
   * Writes a name. With `compress`, the longest suffix already in the table is replaced by a pointer; in
   * either case the suffixes written here are recorded so later names can point at them.
   */
  name(name: Name, compress: boolean): void {
    const { wire, key, offsets } = name;
    let i = 0;
    for (; i < offsets.length; i++) {
      const o = offsets[i]!;
      if (compress) {
        const at = this.table.get(key.slice(o));
        if (at !== undefined) {
          const labelsLen = o;
          this.ensure(labelsLen + 2);
          this.writeLabels(wire, key, offsets, i);
          this.pointerLog?.push(this.pos);
          this.buf[this.pos++] = 0xc0 | (at >>> 8);
          this.buf[this.pos++] = at & 0xff;
          return;
        }
      }
    }
    this.ensure(wire.length);
    this.writeLabels(wire, key, offsets, offsets.length);
    this.buf[this.pos++] = 0;
  }

  /** Copies the first `count` labels of a name and records their suffixes in the table. */
  private writeLabels(wire: Uint8Array, key: string, offsets: readonly number[], count: number): void {
    const start = this.pos;
    const end = count < offsets.length ? offsets[count]! : wire.length - 1;
    this.buf.set(wire.subarray(0, end), this.pos);
    this.pos += end;
    for (let j = 0; j < count; j++) {
      const at = start + offsets[j]!;
      if (at < 0x4000) {
        const suffix = key.slice(offsets[j]!);
        if (!this.table.has(suffix)) this.table.set(suffix, at);
      }
    }
  }

  /** Records that `name` is present uncompressed at `at` (e.g. copied question bytes). */
  remember(name: Name, at: number): void {
    for (const o of name.offsets) {
      if (at + o >= 0x4000) break;
      const suffix = name.key.slice(o);
      if (!this.table.has(suffix)) this.table.set(suffix, at + o);
    }
  }

  /** A rollback point: position and compression entries. */
  mark(): { pos: number; size: number } {
    return { pos: this.pos, size: this.table.size };
  }

  /** Rolls back to a mark, forgetting compression targets written after it. */
  reset(m: { pos: number; size: number }): void {
    this.pos = m.pos;
    const log = this.pointerLog;
    if (log) while (log.length > 0 && log[log.length - 1]! >= m.pos) log.pop();
    if (this.table.size > m.size) {
      for (const [k, v] of this.table) if (v >= m.pos) this.table.delete(k);
    }
  }

  /** A view of the bytes written so far (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
