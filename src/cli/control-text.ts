/**
 * The human text of `dane-ns status`, `reload` and `zone list`, made from the JSON the control socket answers
 * (docs/control.md): one block per zone, times as ISO 8601 and in words ("in 13 days"), the RRSIG expiration
 * (RFC 4034 §3.1.5) and the TLSA records (RFC 6698) with their roles.
 */

interface ZoneJson {
  zone: string;
  file: string;
  state: string;
  error?: string;
  serial?: number;
  signaturesExpire?: string;
  nextKeyEvent?: string;
  tlsa?: { host: string; records: { rdata: string; role: string; until?: string }[] }[];
  secondaries?: { server: string; serial?: number; lagSeconds: number; error?: string }[];
  keyStepWaits?: KeyStepWaitJson[];
}

/** A key rollover step that waits for the watched servers (docs/control.md `keyStepWaits`). */
export interface KeyStepWaitJson {
  key: number;
  role: string;
  step: string;
  at: string;
  servers: string[];
}

/** `ZSK 1234 starts signing at T (waits for 192.0.2.7#53)`: a step of `status` and `check ZONE`. */
export function keyStepText(w: KeyStepWaitJson): string {
  const step = w.step === 'sign' ? 'starts signing' : 'leaves the DNSKEY RRset';
  const why = w.servers.length > 0 ? `waits for ${w.servers.join(', ')}` : 'counted from the last watched server';
  return `${w.role} ${w.key} ${step} at ${w.at} (${why})`;
}

const zonesOf = (a: Record<string, unknown>): ZoneJson[] => (Array.isArray(a.zones) ? (a.zones as ZoneJson[]) : []);

/** `in 3 days`, `5 hours ago`: the distance from `now` to an ISO time, in its largest whole unit. */
export function inWords(isoTime: string, now: number): string {
  const ms = Date.parse(isoTime) - now;
  const abs = Math.abs(ms) / 1000;
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  const [size, name] = units.find(([u]) => abs >= u) ?? [1, 'second'];
  const n = Math.floor(abs / size);
  const text = `${n} ${name}${n === 1 ? '' : 's'}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A duration in seconds as `2d 3h 4m 5s` (leading zero units left out). */
function uptime(sec: number): string {
  const parts = [
    [Math.floor(sec / 86400), 'd'],
    [Math.floor(sec / 3600) % 24, 'h'],
    [Math.floor(sec / 60) % 60, 'm'],
    [sec % 60, 's'],
  ] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return first < 0
    ? '0s'
    : parts
        .slice(first)
        .map(([n, u]) => `${n}${u}`)
        .join(' ');
}

export function renderStatus(a: Record<string, unknown>, now: number): string {
  const lines = [
    `dane-ns ${String(a.version)} (pid ${String(a.pid)}), up ${uptime(Number(a.uptimeSeconds))} since ${String(a.startedAt)}`,
    `listening on ${(a.listen as string[]).join(', ')}${a.http ? `; HTTP on ${String(a.http)}` : ''}`,
  ];
  for (const z of zonesOf(a)) {
    lines.push('', `zone ${z.zone} (${z.file}): ${z.state}`);
    if (z.error) lines.push(`  error: ${z.error}`);
    if (z.serial !== undefined) lines.push(`  serial: ${z.serial}`);
    if (z.signaturesExpire)
      lines.push(`  signatures expire: ${z.signaturesExpire} (${inWords(z.signaturesExpire, now)}, earliest)`);
    else if (z.state !== 'not served') lines.push('  signatures: none (unsigned zone)');
    if (z.nextKeyEvent) lines.push(`  next key event: ${z.nextKeyEvent} (${inWords(z.nextKeyEvent, now)})`);
    for (const h of z.tlsa ?? []) {
      lines.push(`  TLSA ${h.host}`);
      if (h.records.length === 0) lines.push('    (no records)');
      for (const r of h.records)
        lines.push(
          `    ${r.rdata}  ${r.role}${r.until ? ` until ${r.until} (${inWords(r.until, now)})` : ''}`.trimEnd(),
        );
    }
    // The watched servers (transfer.notify and transfer.check): what resolvers asking them are given.
    for (const w of z.secondaries ?? [])
      lines.push(
        `  secondary ${w.server}: serial ${w.serial ?? 'unknown'}, ${w.lagSeconds > 0 ? `${w.lagSeconds} s behind` : 'current'}${w.error ? ` (last question: ${w.error})` : ''}`,
      );
    // Rollover steps postponed for them (the wait counts from the last watched server).
    for (const w of z.keyStepWaits ?? []) lines.push(`  ${keyStepText(w)}`);
  }
  return lines.join('\n') + '\n';
}

export function renderReload(a: Record<string, unknown>): string {
  const lines = zonesOf(a).map((z) =>
    z.error
      ? `${z.zone} (${z.file}): FAILED: ${z.error}${z.state === 'serving last good version' ? ` (serving the last good version, serial ${z.serial})` : ' (not served)'}`
      : `${z.zone} (${z.file}): serial ${z.serial ?? '-'}`,
  );
  if (typeof a.note === 'string') lines.push(`note: ${a.note}`);
  return lines.join('\n') + '\n';
}

export function renderZoneList(a: Record<string, unknown>): string {
  const rows = zonesOf(a).map((z) => [z.zone, z.file, z.serial === undefined ? '-' : String(z.serial), z.state]);
  const all = [['ZONE', 'FILE', 'SERIAL', 'STATE'], ...rows];
  const width = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(width[i]!) : c)).join('  ')).join('\n') + '\n';
}
