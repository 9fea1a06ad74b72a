/**
 * Chart buckets of sealed samples, as a series last added them up, so that the next series of the
 * same GPUs, width and metrics reads only the buckets it has not seen: a History view refetched
 * every few seconds otherwise reads every chunk summary or hourly rollup of its range again (some
 * 17,000 rows for eight GPUs over 90 days) to change its newest bucket or two.
 *
 * A bucket holds only what sealed chunks add to it (their summaries, rollups or samples: the
 * same sums whichever were read, as every piece sums scaled integers exactly); unsealed rows
 * are added to every answer afresh. What changes sealed samples says which time it touched
 * (`forget`): a chunk sealed (new rows, or rows imported into the past), a prune. Nothing else
 * writes them, and a store opened again starts empty. Bounded in bytes, least recently read
 * first out.
 */

import { ByteBoundedLru } from "./byte-bounded-lru";

/** A bucket nothing was read for yet, or whose samples changed since. */
export const BUCKET_UNKNOWN = 0;
/** A bucket no sealed piece fell in. */
export const BUCKET_EMPTY = 1;
/** A bucket at least one sealed piece fell in (answered even should it hold no values). */
export const BUCKET_READ = 2;

/** Consecutive buckets of one key: bucket i starts at (firstIndex + i) * bucketMs. */
export interface SealedBuckets {
  firstIndex: number;
  /** `stride` values a bucket, laid out as SeriesBuckets lays out its table. */
  values: Float64Array;
  /** BUCKET_UNKNOWN, BUCKET_EMPTY or BUCKET_READ per bucket. */
  states: Uint8Array;
}

interface Entry {
  gpuIds: readonly number[];
  bucketMs: number;
  buckets: SealedBuckets;
}

/** What an entry costs besides its arrays (key, objects, map slot), counted so that many small entries stay within the budget too. */
const ENTRY_OVERHEAD_BYTES = 256;
const bytesOf = ({ values, states }: SealedBuckets) => values.byteLength + states.byteLength + ENTRY_OVERHEAD_BYTES;

export class SeriesBucketCache {
  private readonly entries: ByteBoundedLru<string, Entry>;

  constructor(maxBytes: number) {
    this.entries = new ByteBoundedLru(maxBytes);
  }

  /** Bytes of the buckets kept now. */
  get bytes(): number {
    return this.entries.bytes;
  }

  /** Where the buckets of these GPUs, this width and these summary entries are kept. */
  static keyOf(gpuIds: readonly number[], bucketMs: number, entries: readonly number[]): string {
    return `${gpuIds.join(",")}/${bucketMs}/${entries.join(",")}`;
  }

  /** The buckets kept under `key`, now the most recently read. */
  get(key: string): SealedBuckets | undefined {
    return this.entries.get(key)?.buckets;
  }

  /** Keeps `buckets` under `key` in place of what was kept there (they may be the same arrays, updated). */
  set(key: string, gpuIds: readonly number[], bucketMs: number, buckets: SealedBuckets): void {
    this.entries.set(key, { gpuIds: [...gpuIds], bucketMs, buckets }, bytesOf(buckets));
  }

  /**
   * The sealed samples of `gpuId` (every GPU when undefined) between `from` and `to` (inclusive,
   * epoch ms) changed: every kept bucket overlapping that time is read again when next asked for.
   */
  forget(gpuId: number | undefined, from: number, to: number): void {
    for (const { gpuIds, bucketMs, buckets } of this.entries.values()) {
      if (gpuId !== undefined && !gpuIds.includes(gpuId)) continue;
      const { firstIndex, states } = buckets;
      // Infinite ends come out as infinite indexes, clamped to what is kept.
      const first = Math.max(0, Math.floor(from / bucketMs) - firstIndex);
      const last = Math.min(states.length - 1, Math.floor(to / bucketMs) - firstIndex);
      if (first <= last) states.fill(BUCKET_UNKNOWN, first, last + 1);
    }
  }
}
