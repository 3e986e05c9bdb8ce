/** Hex in tests: expected wire bytes written as (spaced) hex literals, and bytes shown as hex for comparison. */

/** Bytes from a hex literal; whitespace between groups is ignored. */
export function fromHex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/** Lower-case hex of the bytes (a readable diff when an expectation fails). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
