/**
 * Who gets a TCP connection slot when the listener is full (RFC 7766 §6.2.3: a server may close idle
 * connections to reclaim resources). Zone transfers run over TCP only (RFC 5936 §4.2): a secondary that cannot
 * connect falls behind, and past the SOA EXPIRE time (RFC 1035 §3.3.13) it stops answering for the zone.
 *
 * What Knot DNS does at `tcp-max-clients`: its TCP worker stops accepting ("throttled"); new connections wait in
 * the kernel's listen queue until the periodic sweep closes connections idle longer than `tcp-idle-timeout`, and
 * there is no room set aside for secondaries. Here two rules instead, so that a flood of idle connections can
 * neither lock out a secondary nor make everyone wait for the idle timeout:
 *
 * - Reserve: addresses named by a served zone's `transfer.allow` prefixes or `transfer.notify` targets (the
 *   zone's secondaries; a key-only `allow` entry names no address, and the key is known only once a query has
 *   arrived) may open `reserveSize(cap)` connections beyond the cap: 10% of it, at least 4.
 * - Eviction: when a newcomer finds no free slot, the connection idle the longest is closed and the newcomer
 *   takes its place. Never one that is busy: a transfer being written, answers not yet flushed, a query being
 *   received (part of a message read), or one already closing. When every connection is busy, the newcomer is
 *   closed at once, as before.
 * - Per source: one source may hold at most `perSource` connections (`--tcp-per-source`, default 64, an eighth
 *   of the cap), a source being an IPv4 address or an IPv6 /64 (`sourceKey`); beyond it its new connections are closed at once, so that one source cannot take every slot
 *   (nor, by eviction, keep closing everyone else's). RFC 7766 §6.2.2 asks clients for few concurrent
 *   connections per server, one for regular queries. Knot DNS and NSD have no such limit (only the global
 *   `tcp-max-clients` / `tcp-count`). Secondaries' addresses are exempt: they may transfer many zones at once.
 */
import { addressBytes } from '../zone/prefix.js';
import { ipv6Format } from '../wire/text.js';

/** A connection as admission sees it. */
export interface Slot {
  /** When it last did anything (performance.now() milliseconds), or null while it is busy. */
  idleSince(): number | null;
}

/** Connections one source address may hold when `--tcp-per-source` is not given. */
export const DEFAULT_PER_SOURCE = 64;

/**
 * The source a connection counts against for the per-source limit: an IPv4 address itself (an IPv4-mapped IPv6
 * address, RFC 4291 §2.5.5.2, as the IPv4 address it is); for IPv6 the /64 (`2001:db8:1:2::/64`): a site or a
 * single host gets a whole /64 (RFC 4291 §2.5.4: interface IDs are 64 bits; RFC 8981 temporary addresses), so
 * an attacker holds 2^64 addresses and per address the limit would bind nobody. Text that is no address keys as
 * itself.
 */
export function sourceKey(address: string): string {
  const b = addressBytes(address);
  if (!b || b.length === 4) return address;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const net = new Uint8Array(16);
  net.set(b.subarray(0, 8));
  return `${ipv6Format(net)}/64`;
}

/** Connections that addresses of secondaries may open beyond the cap: 10% of it, at least 4 (0 for a cap of 0). */
export function reserveSize(cap: number): number {
  return cap <= 0 ? 0 : Math.max(4, Math.ceil(cap / 10));
}

/**
 * The decision for a new connection: `accept` (a free slot), a Slot to close so that the newcomer takes its
 * place, or `refuse`.
 */
export function admit<S extends Slot>(
  open: Iterable<S>,
  count: number,
  cap: number,
  /** Whether the newcomer's address is a secondary's; asked only once the cap or its source's limit is reached. */
  secondary: () => boolean,
  /** Connections the newcomer's address holds already, and how many one address may hold (0: no limit). */
  fromSource = 0,
  perSource = 0,
): 'accept' | 'refuse' | S {
  if (perSource > 0 && fromSource >= perSource && !secondary()) return 'refuse';
  if (count < cap || (count < cap + reserveSize(cap) && secondary())) return 'accept';
  if (cap <= 0) return 'refuse';
  let victim: S | null = null;
  let oldest = Infinity;
  for (const s of open) {
    const since = s.idleSince();
    if (since !== null && since < oldest) {
      oldest = since;
      victim = s;
    }
  }
  return victim ?? 'refuse';
}
