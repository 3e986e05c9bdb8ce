/**
 * A sort that yields, for work run in slices (server/slices.ts): sorting the names of a zone of 100,000 owners in
 * one call holds the event loop for about 200 ms, longer than a query should wait. Runs of `perStep` items are
 * sorted by Array.prototype.sort, then merged pairwise (a bottom-up merge sort), with a yield after each run and
 * after every `perStep` items merged. Stable, like Array.prototype.sort: the result is the order of
 * `[...items].sort(compare)`. Returns a new array; `items` is not changed.
 */
export function* sortSteps<T>(
  items: readonly T[],
  compare: (a: T, b: T) => number,
  perStep = 2048,
): Generator<void, T[], undefined> {
  if (!Number.isInteger(perStep) || perStep < 1) throw new RangeError(`sortSteps: perStep ${perStep}`);
  const n = items.length;
  let src: T[] = items.slice();
  for (let lo = 0; lo < n; lo += perStep) {
    const hi = Math.min(lo + perStep, n);
    const run = src.slice(lo, hi).sort(compare);
    for (let k = 0; k < run.length; k++) src[lo + k] = run[k]!;
    if (hi < n) yield;
  }
  let dst: T[] = new Array<T>(n);
  let budget = perStep;
  for (let width = perStep; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; k++) {
        // Equal items come from the left run first: the merge keeps the sort stable.
        if (j >= hi || (i < mid && compare(src[i]!, src[j]!) <= 0)) dst[k] = src[i++]!;
        else dst[k] = src[j++]!;
        if (--budget === 0) {
          budget = perStep;
          yield;
        }
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}
