/**
 * One `dnssec.parent` entry: a parent name server that dane-ns asks for the zone's DS (RFC 4035 §5.2: the DS
 * at the parent links the zone into the chain of trust; RFC 7344 §4: the parent follows the child's CDS). An
 * IPv4 or IPv6 address, optionally `ADDRESS@PORT` (port 53 otherwise, RFC 1035 §4.2).
 */
import { addressBytes } from './prefix.js';
import type { ParentServer } from './settings.js';

/** The server an entry names, or why it names none (a message for `dnssec.parent: "<text>": ...`). */
export function parseParentServer(text: string): ParentServer | string {
  const m = /^(.*?)(?:@(\d+))?$/.exec(text)!;
  const address = m[1]!;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (addressBytes(address) === null) return 'not an IPv4 or IPv6 address (ADDRESS or ADDRESS@PORT)';
  if (!(port >= 1 && port <= 65535)) return 'the port is not 1..65535';
  return Object.freeze({ address, port });
}
