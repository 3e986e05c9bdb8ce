/**
 * The `transfer:` section of a YAML zone file (docs/zone-format.md): who may transfer the zone by AXFR (RFC
 * 5936 §6) and which secondaries are sent a NOTIFY when a new serial is served (RFC 1996 §3). Each `allow`
 * entry names a TSIG key (RFC 8945), a source address or prefix, or both; each `notify` entry an address, a
 * port (53 by default) and optionally the TSIG key to sign with. Each `check` entry (a public name server that
 * is not notified directly, such as a hosted service's anycast address) has the shape of a `notify` entry, or is
 * a bare address: the server asks it, like the notify targets, which serial it serves (server/watch.ts). Whether a named key exists is the server's
 * question (it holds the keyring); this reader checks the values only.
 */
import { isScalar, isSeq, type YAMLSeq } from 'yaml';
import { parseName, nameToText, ROOT } from '../wire/name.js';
import { addressBytes, parsePrefix } from './prefix.js';
import {
  TRANSFER_DEFAULTS,
  type AddressPrefix,
  type NotifyTarget,
  type TransferAllow,
  type TransferSettings,
} from './settings.js';
import { fields, isEmpty, scalar, text, type Entry, type NodeReader } from './yamlsettings.js';

const TRANSFER_KEYS = ['allow', 'notify', 'check'] as const;
const ALLOW_KEYS = ['key', 'address'] as const;
const NOTIFY_KEYS = ['address', 'port', 'key'] as const;
/** RFC 1996 §3.3: NOTIFY goes to the secondaries' port 53 unless configured otherwise. */
const DNS_PORT = 53;

/** The `transfer:` section; entries with a bad value are left out (with a problem), so they allow nothing. */
export function readTransfer(r: NodeReader, v: unknown, line: number): TransferSettings {
  const f = fields(r, v, line, 'transfer', TRANSFER_KEYS);
  const allow = list(r, f.get('allow'), 'transfer.allow')?.items.flatMap((item, i) => readAllow(r, item, i)) ?? [];
  const notify =
    list(r, f.get('notify'), 'transfer.notify')?.items.flatMap((item, i) => readTarget(r, item, i, 'notify')) ?? [];
  const check =
    list(r, f.get('check'), 'transfer.check')?.items.flatMap((item, i) => readTarget(r, item, i, 'check')) ?? [];
  if (allow.length === 0 && notify.length === 0 && check.length === 0) return TRANSFER_DEFAULTS;
  return check.length === 0 ? { allow, notify } : { allow, notify, check };
}

/** The entry's list, or undefined when it is absent, empty or not a list (a problem then). */
function list(r: NodeReader, e: Entry | undefined, what: string): YAMLSeq | undefined {
  if (!e || isEmpty(e.value)) return undefined;
  if (isSeq(e.value)) return e.value;
  r.problem(e.line, `${what}: expected a list of entries`);
  return undefined;
}

/** A key name is a domain name (RFC 8945 §4.2), always absolute: `xfr` is the key `xfr.`. */
function keyName(r: NodeReader, ke: Entry, what: string): string | undefined {
  const s = text(r, ke.value, ke.line, `${what}.key`);
  try {
    if (s !== undefined) return nameToText(parseName(s, ROOT)).toLowerCase();
  } catch (err) {
    r.problem(ke.line, `${what}.key: "${s}" is not a key name: ${(err as Error).message}`);
  }
  return undefined;
}

function readAllow(r: NodeReader, item: unknown, i: number): TransferAllow[] {
  const l = r.lineOf(item);
  const what = `transfer.allow[${i}]`;
  const g = fields(r, item, l, what, ALLOW_KEYS);
  const ke = g.get('key');
  const ae = g.get('address');
  if (!ke && !ae) return (void r.problem(l, `${what}: expected key, address or both`), []);
  let key: string | undefined;
  let address: AddressPrefix | undefined;
  let ok = true;
  if (ke) {
    key = keyName(r, ke, what);
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
  return ok ? [{ key, address, line: l }] : [];
}

/** A `notify` or `check` entry; a `check` entry may also be a bare address (`check: [203.0.113.53]`). */
function readTarget(r: NodeReader, item: unknown, i: number, section: 'notify' | 'check'): NotifyTarget[] {
  const l = r.lineOf(item);
  const what = `transfer.${section}[${i}]`;
  const bare = section === 'check' && isScalar(item);
  const g = bare
    ? new Map<string, Entry>([['address', { key: 'address', value: item, line: l }]])
    : fields(r, item, l, what, NOTIFY_KEYS);
  const ae = g.get('address');
  const pe = g.get('port');
  const ke = g.get('key');
  if (!ae) return (void r.problem(l, `${what}: expected an address`), []);
  let ok = true;
  const address = text(r, ae.value, ae.line, `${what}.address`);
  // One address, not a prefix: a NOTIFY (or an SOA query) goes to one host.
  if (address !== undefined && !addressBytes(address)) {
    r.problem(ae.line, `${what}.address: "${address}" is not an IPv4 or IPv6 address`);
    ok = false;
  }
  ok &&= address !== undefined;
  let port = DNS_PORT;
  if (pe) {
    const s = scalar(r, pe.value, pe.line, `${what}.port`);
    const n = s !== undefined && /^\d{1,5}$/.test(s) ? Number(s) : NaN;
    if (n >= 1 && n <= 65535) port = n;
    else {
      if (s !== undefined) r.problem(pe.line, `${what}.port: "${s}" is not a port 1..65535`);
      ok = false;
    }
  }
  let key: string | undefined;
  if (ke) {
    key = keyName(r, ke, what);
    ok &&= key !== undefined;
  }
  return ok ? [{ address: address!, port, key, line: l }] : [];
}
