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
