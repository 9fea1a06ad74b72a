/**
 * Which buckets of a series follow a gap: where the server named its gaps (their `from` is where
 * the bucket before ends), those; for a series without them (Prometheus' ranges), any bucket more
 * than two bucket widths after the one before. A chart breaks its line there instead of drawing
 * across.
 */
export function followsGap(series: { t: readonly number[]; bucketMs: number; gaps?: readonly { from: number }[] }): (i: number) => boolean {
  const { t, bucketMs, gaps } = series;
  if (!gaps) return (i) => i > 0 && t[i] - t[i - 1] > 2 * bucketMs;
  const gapStarts = new Set(gaps.map((gap) => gap.from));
  return (i) => i > 0 && gapStarts.has(t[i - 1] + bucketMs);
}
