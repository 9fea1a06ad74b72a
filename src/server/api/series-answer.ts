import { stepWire, writtenAs } from "../../telemetry/wire-columns";

/**
 * One GPU's `telemetry.series` answer: who and which range, then the buckets and gaps. Its bucket
 * starts are written as steps of the bucket width (wire-columns.ts): a thousand 13-digit
 * timestamps were a fifth of the bytes of a chart answer.
 */
export function seriesAnswer<Who extends object, Series extends { t: readonly number[]; bucketMs: number }, Gap>(
  who: Who,
  series: Series,
  gaps: Gap[],
): Who & Series & { gaps: Gap[] } {
  const answer = { ...who, ...series, gaps };
  return writtenAs(answer, () => ({ ...answer, t: stepWire(answer.t, answer.bucketMs) }));
}
