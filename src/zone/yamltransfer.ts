/**
 * The `transfer:` section of a YAML zone file (docs/zone-format.md): who may transfer the zone by AXFR (RFC
 * 5936 §6). Each `allow` entry names a TSIG key (RFC 8945), a source address or prefix, or both. Whether a
 * named key exists is the server's question (it holds the keyring); this reader checks the values only.
 */
import { isSeq } from 'yaml';
import { parseName, nameToText, ROOT } from '../wire/name.js';
import { parsePrefix } from './prefix.js';
import { TRANSFER_DEFAULTS, type AddressPrefix, type TransferAllow, type TransferSettings } from './settings.js';
import { fields, isEmpty, text, type NodeReader } from './yamlsettings.js';

const TRANSFER_KEYS = ['allow'] as const;
const ALLOW_KEYS = ['key', 'address'] as const;

/** The `transfer:` section; entries with a bad value are left out (with a problem), so they allow nothing. */
export function readTransfer(r: NodeReader, v: unknown, line: number): TransferSettings {
  const f = fields(r, v, line, 'transfer', TRANSFER_KEYS);
  const e = f.get('allow');
  if (!e || isEmpty(e.value)) return TRANSFER_DEFAULTS;
  if (!isSeq(e.value)) {
    r.problem(e.line, 'transfer.allow: expected a list of entries');
    return TRANSFER_DEFAULTS;
  }
  const allow: TransferAllow[] = [];
  e.value.items.forEach((item, i) => {
    const l = r.lineOf(item);
    const what = `transfer.allow[${i}]`;
    const g = fields(r, item, l, what, ALLOW_KEYS);
    const ke = g.get('key');
    const ae = g.get('address');
    if (!ke && !ae) return void r.problem(l, `${what}: expected key, address or both`);
    let key: string | undefined;
    let address: AddressPrefix | undefined;
    let ok = true;
    if (ke) {
      const s = text(r, ke.value, ke.line, `${what}.key`);
      try {
        // A key name is a domain name (RFC 8945 §4.2), always absolute: `xfr` is the key `xfr.`.
        if (s !== undefined) key = nameToText(parseName(s, ROOT)).toLowerCase();
      } catch (err) {
        r.problem(ke.line, `${what}.key: "${s}" is not a key name: ${(err as Error).message}`);
      }
      ok &&= key !== undefined;
    }
    if (ae) {
      const s = text(r, ae.value, ae.line, `${what}.address`);
      try {
        if (s !== undefined) address = parsePrefix(s);
      } catch (err) {
        r.problem(ae.line, `${what}.address: ${(err as Error).message}`);
      }
      ok &&= address !== undefined;
    }
    if (ok) allow.push({ key, address, line: l });
  });
  return { allow };
}
