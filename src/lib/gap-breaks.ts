/**
 * Which buckets of a series follow a gap the server found (its `gaps` start where the bucket
 * before ends): a chart breaks its line there instead of drawing across.
 */
export function followsGap(series: { t: readonly number[]; bucketMs: number; gaps: readonly { from: number }[] }): (i: number) => boolean {
  const gapStarts = new Set(series.gaps.map((gap) => gap.from));
  return (i) => i > 0 && gapStarts.has(series.t[i - 1] + series.bucketMs);
}
