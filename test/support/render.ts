/** An Answer rendered as presentation lines, for table-driven cases of the answer path (CoreDNS-style Case). */
import type { Answer, Placed } from '../../src/query/answer.js';
import { nameToText } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { typeToText } from '../../src/wire/types.js';

export function rrLines(section: readonly Placed[]): string[] {
  const out: string[] = [];
  for (const p of section)
    for (const rd of p.rrset.rdatas)
      out.push(
        `${nameToText(p.owner).toLowerCase()} ${p.rrset.ttl} IN ${typeToText(p.rrset.type)} ${rdataToText(p.rrset.type, rd)}`,
      );
  return out.sort();
}

export function render(a: Answer): {
  rcode: number;
  aa: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
} {
  return {
    rcode: a.rcode,
    aa: a.aa,
    answer: rrLines(a.answer),
    authority: rrLines(a.authority),
    additional: rrLines(a.additional),
  };
}
