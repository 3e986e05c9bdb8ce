/**
 * Zone load problems. Every problem names the file and line it comes from, so an operator sees
 * `zones/example.com.yaml:12: MX.exchange: ...` and can fix the exact spot.
 */

export interface ZoneProblem {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export function formatProblem(p: ZoneProblem): string {
  return `${p.file}:${p.line}: ${p.reason}`;
}

/** Thrown by the loader when a zone file has one or more problems; the message lists them all. */
export class ZoneError extends Error {
  readonly problems: readonly ZoneProblem[];
  constructor(problems: readonly ZoneProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ZoneError';
    this.problems = problems;
  }
}

/** Problems of one file listed in a log line or kept for /healthz; the rest are counted ("... and N more"). */
export const LISTED_PROBLEMS_MAX = 20;
/** Characters of a problem's reason that are listed: reasons quote the input, which may be one very long line. */
export const LISTED_REASON_MAX = 200;

/** `text` cut to `max` characters, with an ellipsis when something was cut. */
export function clip(text: string, max = LISTED_REASON_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * The problems of one file as bounded lines for a log or a health report: the first LISTED_PROBLEMS_MAX, each
 * reason clipped, then `... and N more`. A 50 MB file of bad lines must not become a 100 MB log line written
 * again on every reload. A start that fails on a zone file still prints every problem on stderr (cli/main.ts).
 */
export function listProblems(problems: readonly ZoneProblem[]): string[] {
  const out = problems
    .slice(0, LISTED_PROBLEMS_MAX)
    .map((p) => formatProblem({ file: p.file, line: p.line, reason: clip(p.reason) }));
  if (problems.length > LISTED_PROBLEMS_MAX) out.push(`... and ${problems.length - LISTED_PROBLEMS_MAX} more`);
  return out;
}
