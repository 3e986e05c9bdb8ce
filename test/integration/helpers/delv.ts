/**
 * BIND's `delv` as a second, independent validator (BIND 9.18, Debian 12).
 *
 * delv validates itself, from ONE trust anchor: `+root=ZONE` names it and `-a FILE` holds it in named.conf
 * `trust-anchors { ... };` syntax (keys for other names in the file are ignored). So `delv()` takes the anchors
 * in zone-file syntax (DS or DNSKEY lines, as for Unbound), picks the anchor zone that most closely encloses the
 * query name, writes it to a temp file as `static-ds` / `static-key`, and asks the given server with RD set
 * (point it at a resolver, or at an authoritative server holding every zone on the way).
 *
 * delv exits 0 even when validation fails: the verdict is read from its comments.
 *   `; fully validated`                   secure (positive or negative answer)
 *   `; unsigned answer`                   insecure (below an insecure delegation)
 *   `; negative response, fully validated` secure NXDOMAIN/NODATA, followed by `;; resolution failed: ncache
 *                                          nxdomain` (or `nxrrset`): that line is the rcode, not a failure
 *   `;; resolution failed: <other>`       bogus, or the server failed (SERVFAIL, timeout ...)
 *   `; authoritative`                     not validated (e.g. outside the single anchor delv takes): failed
 * delv takes ONE trust anchor (+root): a chain that crosses into another anchored zone (a DNAME from example.com
 * to example.net) cannot be fully validated by delv, while Unbound, holding both anchors, says secure.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, type Server } from './dig.js';
import { lowerAbsoluteName } from '../../support/names.js';

export interface DelvResult {
  /** True when delv said `fully validated` (for a positive or a negative answer) and nothing failed. */
  validated: boolean;
  /** `secure`, `insecure` (`unsigned answer`) or `failed` (resolution failed, not validated, or no verdict). */
  status: 'secure' | 'insecure' | 'failed';
  /** NXDOMAIN / NODATA as delv reports them (`ncache nxdomain`, `ncache nxrrset`), else null. */
  negative: 'NXDOMAIN' | 'NODATA' | null;
  /** delv's full output (stdout then stderr). */
  output: string;
  /** The command line, for failure messages. */
  command: string;
}

interface Anchor {
  zone: string;
  stmt: string;
}

/** Parses a DS or DNSKEY line in zone-file syntax into a trust-anchors statement. */
export function anchorStatement(line: string): Anchor {
  const parts = line.trim().split(/\s+/);
  const owner = parts.shift();
  if (owner === undefined || owner === '') throw new Error(`delv anchor: empty line`);
  // Skip optional TTL and class before the type.
  while (parts.length > 0 && (/^\d+$/.test(parts[0] as string) || /^(IN|CH|HS)$/i.test(parts[0] as string)))
    parts.shift();
  const type = (parts.shift() ?? '').toUpperCase();
  const zone = lowerAbsoluteName(owner);
  if (type === 'DS') {
    const [tag, alg, dt, ...digest] = parts;
    if (tag === undefined || alg === undefined || dt === undefined || digest.length === 0)
      throw new Error(`delv anchor: bad DS line: ${line}`);
    return { zone, stmt: `"${zone}" static-ds ${tag} ${alg} ${dt} "${digest.join('')}";` };
  }
  if (type === 'DNSKEY') {
    const [flags, proto, alg, ...key] = parts;
    if (flags === undefined || proto === undefined || alg === undefined || key.length === 0)
      throw new Error(`delv anchor: bad DNSKEY line: ${line}`);
    return { zone, stmt: `"${zone}" static-key ${flags} ${proto} ${alg} "${key.join('')}";` };
  }
  throw new Error(`delv anchor: not a DS or DNSKEY line: ${line}`);
}

/**
 * Reads delv's verdict from its output. delv prints one verdict comment per RRset it returns (a CNAME or DNAME
 * chain gets several): `; fully validated`, `; unsigned answer`, `; negative response, ...`, and also
 * `; authoritative` (an answer straight from an authoritative server that delv could not validate, e.g. one
 * outside its single trust anchor). Secure only when every verdict says fully validated; insecure when the
 * others do and at least one says unsigned. A validated negative answer also ends in `;; resolution failed: ncache
 * nxdomain` (or `ncache nxrrset`): that is the negative result, not a failure.
 */
export function parseDelv(output: string): Pick<DelvResult, 'validated' | 'status' | 'negative'> {
  const neg = /^;; resolution failed: ncache (nxdomain|nxrrset)\s*$/m.exec(output);
  const failed = /^;; resolution failed: (?!ncache (nxdomain|nxrrset)\s*$)/m.test(output);
  // Verdict lines: `; words` without a tab whose first word is not a domain name (proof lines read `; name. TYPE`).
  const verdicts = output
    .split('\n')
    .filter((l) => /^; [a-z]/.test(l) && !l.includes('\t'))
    .map((l) => l.slice(2).trim())
    .filter((l) => !/^\S+\.(\s|$)/.test(l))
    .map((l) => l.replace(/^negative response, /, ''));
  const allOk = verdicts.length > 0 && verdicts.every((v) => v === 'fully validated' || v === 'unsigned answer');
  const anyUnsigned = verdicts.includes('unsigned answer');
  const status = failed || !allOk ? 'failed' : anyUnsigned ? 'insecure' : 'secure';
  const negative = neg === null ? null : neg[1] === 'nxdomain' ? 'NXDOMAIN' : 'NODATA';
  return { validated: status === 'secure', status, negative };
}

/**
 * Runs `delv @host -p port -a FILE +root=ANCHOR qname qtype` with the anchor closest to qname. Rejects only when
 * delv cannot run (missing tool, timeout, no anchor encloses qname); a failed validation is a result.
 */
export async function delv(
  server: Server,
  qname: string,
  qtype: string,
  anchors: readonly string[],
  opts: { timeoutMs?: number; tcp?: boolean } = {},
): Promise<DelvResult> {
  const bin = requireTool('delv');
  const name = lowerAbsoluteName(qname);
  const parsed = anchors.map(anchorStatement);
  let best: string | null = null;
  for (const a of parsed) {
    const encloses = a.zone === '.' || name === a.zone || name.endsWith(`.${a.zone}`);
    if (encloses && (best === null || a.zone.length > best.length)) best = a.zone;
  }
  if (best === null)
    throw new Error(`delv: no trust anchor encloses ${qname} (anchors: ${parsed.map((a) => a.zone).join(', ')})`);
  const chosen = parsed.filter((a) => a.zone === best);
  const dir = await mkdtemp(join(tmpdir(), 'dane-ns-delv-'));
  try {
    const file = join(dir, 'anchors.conf');
    await writeFile(file, `trust-anchors {\n${chosen.map((a) => `  ${a.stmt}\n`).join('')}};\n`);
    const args = [
      `@${server.host}`,
      '-p',
      String(server.port),
      '-a',
      file,
      `+root=${best}`,
      '+vtrace',
      ...(opts.tcp === true ? ['+tcp'] : []),
      qname,
      qtype,
    ];
    const command = `delv ${args.join(' ')}`;
    const timeout = opts.timeoutMs ?? 30_000;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(bin, args, { timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        if (e !== null && (e.killed === true || e.code === 'ENOENT')) {
          reject(
            new Error(
              `${command}: ${e.killed === true ? `killed after ${timeout} ms` : e.message}\n${stdout}${stderr}`,
            ),
          );
          return;
        }
        resolve(`${stdout}${stderr === '' ? '' : `\n${stderr}`}`);
      });
    });
    return { ...parseDelv(output), output, command };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
