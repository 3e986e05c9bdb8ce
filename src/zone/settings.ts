/**
 * The settings of a zone file that the Zone carries past loading: its `dnssec:` section and its automatic
 * `tlsa:` entries (docs/zone-format.md). They are defined here, on the zone side, so that the Zone does not
 * depend on the file format; the YAML reader (yaml.ts) produces them.
 */

/** How the zone proves that a name or type does not exist (RFC 4035 §3.1.3). */
export type DenialMode = 'nsec';

/** The `dnssec:` section: whether and how the zone is signed (RFC 4033, RFC 4034, RFC 4035). */
export interface DnssecSettings {
  readonly enabled: boolean;
  /**
   * A pre-computed NSEC chain (RFC 4034 §4). Compact denial (RFC 9824, `denial: compact`) is refused by the
   * reader until the signer implements it.
   */
  readonly denial: DenialMode;
  /** Seconds from the signing time to the RRSIG expiration (RFC 4034 §3.1.5), before the signer's spread. */
  readonly signatureValidity: number;
  /** An RRset is signed again when its signatures expire within this many seconds. */
  readonly refreshBefore: number;
  /** Inception is this many seconds before the signing time, for validators with a slow clock. */
  readonly inceptionOffset: number;
  /** A KSK and a ZSK, or one combined signing key (RFC 6781 §3.1). */
  readonly keys: 'ksk-zsk' | 'csk';
  /**
   * When CDS and CDNSKEY (RFC 7344, RFC 8078) are published at the apex: during a KSK or CSK rollover, from the
   * moment the new key's DS may go to the parent until the parent shows it (`rollover`); for the current key
   * too (`always`); not at all (`never`).
   */
  readonly cds: 'rollover' | 'always' | 'never';
  /** The parent's name servers to ask for the zone's DS; empty: found through the parent zone's NS. */
  readonly parent: readonly ParentServer[];
  /** Seconds between two checks of the parent's DS (more often while a rollover waits for it). */
  readonly parentCheck: number;
  /** Seconds of safety added to every rollover wait (BIND's publish-safety and retire-safety). */
  readonly margin: number;
  /**
   * Seconds a ZSK signs (from its Activate) before the running server rolls it; absent or 0: only by hand
   * (`keys rollover`). Left out of the object when 0, so that a zone file without it hashes as before.
   */
  readonly zskLifetime?: number;
  /** The same for the KSK, or with `keys: csk` the CSK (RFC 6781 §4.1; Knot's single-type signing does so). */
  readonly kskLifetime?: number;
}

/** One `dnssec.parent` entry: a parent name server's address and port (53 unless written `ADDRESS@PORT`). */
export interface ParentServer {
  readonly address: string;
  readonly port: number;
}

export const DNSSEC_DEFAULTS: DnssecSettings = Object.freeze({
  enabled: true,
  denial: 'nsec',
  signatureValidity: 14 * 86400,
  refreshBefore: 7 * 86400,
  inceptionOffset: 3600,
  keys: 'ksk-zsk',
  cds: 'rollover',
  parent: Object.freeze([]),
  parentCheck: 3600,
  margin: 3600,
});

/** One `tlsa:` entry: TLSA records (RFC 6698, RFC 7672) kept in step with a certificate or key file. */
export interface TlsaEntry {
  /** The host as written (relative to the origin unless it ends in `.`). */
  readonly host: string;
  /** The current certificate or key file, as written (relative paths are relative to the zone file). */
  readonly cert: string;
  /** The next certificate or key file, pre-published before it is used. */
  readonly next: string | undefined;
  /** TCP ports: one owner `_<port>._tcp.<host>` each (RFC 6698 §3). */
  readonly ports: readonly number[];
  /** TTL of the TLSA RRsets; undefined: the zone's TTL. */
  readonly ttl: number | undefined;
  /** Also publish `2 1 1` for the issuing CA of the chain (RFC 7671 §5.1). */
  readonly issuer: boolean;
  /** Line of the entry in the zone file, for messages. */
  readonly line: number;
}

/** An address or prefix of `transfer.allow` (IPv4 or IPv6; a bare address is a prefix of its full length). */
export interface AddressPrefix {
  readonly family: 4 | 6;
  /** The network's octets (4 or 16), bits past `length` zero. */
  readonly bytes: Uint8Array;
  readonly length: number;
  /** As written, for messages and logs. */
  readonly text: string;
}

/**
 * One `transfer.allow` entry (RFC 5936 §6: the primary decides who may transfer the zone): a TSIG key (RFC
 * 8945), a source address prefix, or both, and then both are required.
 */
export interface TransferAllow {
  /** The TSIG key's name, lower case and absolute (`xfr.example.`); undefined: no key required. */
  readonly key: string | undefined;
  readonly address: AddressPrefix | undefined;
  /** Line of the entry in the zone file, for messages. */
  readonly line: number;
}

/**
 * One `transfer.notify` target (RFC 1996 §3.3: the primary tells its secondaries a new serial is out): where
 * the NOTIFY goes over UDP, and the TSIG key (RFC 8945) it is signed with, if any.
 */
export interface NotifyTarget {
  /** An IPv4 or IPv6 address as written. */
  readonly address: string;
  readonly port: number;
  /** The TSIG key's name, lower case and absolute; undefined: sent unsigned. */
  readonly key: string | undefined;
  /** Line of the entry in the zone file, for messages. */
  readonly line: number;
}

/** The `transfer:` section: who may AXFR the zone (nobody by default) and whom to NOTIFY (nobody). */
export interface TransferSettings {
  readonly allow: readonly TransferAllow[];
  readonly notify: readonly NotifyTarget[];
  /**
   * Public name servers that are not notified (a hosted service's anycast addresses) but are watched like the
   * notify targets: asked which serial they serve (absent: none).
   */
  readonly check?: readonly NotifyTarget[];
}

/** Every watched server of a zone: its notify targets, then its `check` servers. */
export function watchedServers(t: TransferSettings): readonly NotifyTarget[] {
  return t.check && t.check.length > 0 ? [...t.notify, ...t.check] : t.notify;
}

export const TRANSFER_DEFAULTS: TransferSettings = Object.freeze({
  allow: Object.freeze([]),
  notify: Object.freeze([]),
});

/**
 * One `update:` entry: which names and types a TSIG key may change by RFC 2136 dynamic update (an ACME client
 * writing `_acme-challenge` TXT records for DNS-01, RFC 8555 §8.4).
 */
export interface UpdateRule {
  /** The TSIG key's name, lower case and absolute. */
  readonly key: string;
  /** Exact owner names as written, relative to the origin unless they end in `.`. */
  readonly names: readonly string[];
  /** Type codes; [TXT] when the entry lists none. */
  readonly types: readonly number[];
  /** Line of the entry in the zone file, for messages. */
  readonly line: number;
}
