/**
 * The addresses of the zones' secondaries: every `transfer.allow` address prefix (RFC 5936 §6: who may transfer
 * the zone) and every `transfer.notify` target (RFC 1996 §3.3: whom the primary tells of a new serial, who then
 * asks for the zone) of the zones loaded now. The TCP listener lets these addresses use its reserve of
 * connections beyond the cap (tcp-admission.ts). A key-only `allow` entry names no address: the key is known
 * only once a query has arrived, too late to decide on the connection.
 */
import { addressBytes, parsePrefix, prefixContains } from '../zone/prefix.js';
import type { AddressPrefix } from '../zone/settings.js';
import type { Zone } from '../zone/zone.js';

export class SecondaryAddresses {
  private prefixes: readonly AddressPrefix[] = [];

  /** Takes the secondaries of `zones` (called after every load and reload; replaces the ones before). */
  update(zones: Iterable<Zone>): void {
    const byText = new Map<string, AddressPrefix>();
    for (const z of zones) {
      for (const a of z.transfer.allow) if (a.address) byText.set(a.address.text, a.address);
      // A NOTIFY target is one address (yamltransfer.ts checked it): a prefix of its full length.
      for (const n of z.transfer.notify) if (addressBytes(n.address)) byText.set(n.address, parsePrefix(n.address));
    }
    this.prefixes = [...byText.values()];
  }

  /** Whether a client address (as the socket reports it, `::ffff:a.b.c.d` included) is a secondary's. */
  has(address: string): boolean {
    return this.prefixes.some((p) => prefixContains(p, address));
  }

  /** How many distinct prefixes are known (for the log). */
  get size(): number {
    return this.prefixes.length;
  }
}
