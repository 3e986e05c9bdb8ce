/**
 * Finding the PEM blocks of a certificate or key file (RFC 7468 §2: `-----BEGIN label-----` ... `-----END
 * label-----`, the END label equal to the BEGIN label) in time linear in the file. A pattern such as
 * /BEGIN (L)-----[\s\S]*?-----END \1-----/g searches from every BEGIN line to the end of the text when its END
 * is missing, so a file of unterminated BEGIN lines took quadratic time (1 MB: seconds). Here one pass finds
 * every BEGIN and END line, a second pass (backwards) links each BEGIN to the next END of its label, and a third
 * walks the links: every marker is looked at a bounded number of times.
 */

export interface PemBlock {
  readonly label: string;
  /** The whole block, from the BEGIN line to the end of the END line. */
  readonly text: string;
}

/** A BEGIN or END line. The label holds no `-`, so a scan of one never runs into the next marker. */
const MARKER = /-----(BEGIN|END) ([A-Z0-9 ]+)-----/g;

/**
 * The PEM blocks of `text`, in order; a BEGIN line without a matching END line is skipped (as is text between
 * blocks). `work`, when given, counts the steps taken (markers found, links made and walked) so that a test can
 * check the scan is linear without timing it.
 */
export function pemBlocks(text: string, work?: { steps: number }): PemBlock[] {
  const begins: boolean[] = [];
  const labels: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let steps = 0;
  for (const m of text.matchAll(MARKER)) {
    begins.push(m[1] === 'BEGIN');
    labels.push(m[2]!);
    starts.push(m.index);
    ends.push(m.index + m[0].length);
    steps++;
  }
  // nextEnd[i]: the first END marker after marker i with the same label (-1: none), found walking backwards.
  const nextEnd = new Array<number>(labels.length).fill(-1);
  const lastEnd = new Map<string, number>();
  for (let i = labels.length - 1; i >= 0; i--) {
    steps++;
    nextEnd[i] = lastEnd.get(labels[i]!) ?? -1;
    if (!begins[i]) lastEnd.set(labels[i]!, i);
  }
  const blocks: PemBlock[] = [];
  for (let i = 0; i < labels.length; i++) {
    steps++;
    const j = nextEnd[i]!;
    if (!begins[i] || j < 0) continue;
    blocks.push({ label: labels[i]!, text: text.slice(starts[i], ends[j]) });
    i = j; // the next block starts after this one's END line
  }
  if (work) work.steps += steps;
  return blocks;
}
