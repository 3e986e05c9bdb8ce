/**
 * A fixed peer for handlers called in-process: the handler contract (src/server/transport.ts) passes who sent a
 * request, which in-process tests have no socket to report.
 */
import type { Remote } from '../../src/server/transport.js';

export const LOOPBACK: Remote = { address: '127.0.0.1', port: 53000, family: 'IPv4' };
