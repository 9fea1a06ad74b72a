import type { ChunkRow } from "./chunk-columns";
import type { StoredGpu } from "./telemetry-store";

export interface Candidate {
  gpu: StoredGpu;
  row: ChunkRow;
  /** The row's timestamp and GPU index, copied so that comparing reads one object, not three. */
  timestamp: number;
  gpuIndex: number;
}

/** Newest first; a tie goes to the lower GPU index, as the API has always ordered it. */
export const newestCandidateFirst = (a: Candidate, b: Candidate) => b.timestamp - a.timestamp || a.gpuIndex - b.gpuIndex;

/** Whether `a` would come after `b` in the answer. */
const after = (a: Candidate, b: Candidate) => newestCandidateFirst(a, b) > 0;

/**
 * The `limit` newest rows seen, kept in a min-heap whose root is the oldest kept.
 * A row older than the root is refused in one comparison, and a block written in
 * time order is read from its newest row back until the first refusal: each block
 * stops at the first row too old to make the answer instead of being read whole.
 */
export class NewestRows {
  private readonly heap: Candidate[] = [];

  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.heap.length >= this.limit;
  }

  /** Timestamp of the oldest row kept (meaningful once full). */
  get oldestKept(): number {
    return this.heap[0]?.timestamp ?? -Infinity;
  }

  /** Offers the block's rows inside [from, to]. */
  addBlock(gpu: StoredGpu, rows: readonly ChunkRow[], from: number, to: number) {
    if (isInTimeOrder(rows)) {
      for (let i = rows.length - 1; i >= 0; i--) {
        const row = rows[i];
        if (row.timestamp > to) continue;
        if (row.timestamp < from || !this.offer({ gpu, row, timestamp: row.timestamp, gpuIndex: gpu.index })) break;
      }
      return;
    }
    for (const row of rows) if (row.timestamp >= from && row.timestamp <= to) this.offer({ gpu, row, timestamp: row.timestamp, gpuIndex: gpu.index });
  }

  /** The rows kept, newest first. */
  sorted(): Candidate[] {
    return [...this.heap].sort(newestCandidateFirst);
  }

  /** Keeps the candidate if it is among the `limit` newest so far; false when refused. */
  private offer(candidate: Candidate): boolean {
    const heap = this.heap;
    if (heap.length < this.limit) {
      heap.push(candidate);
      this.siftUp(heap.length - 1);
      return true;
    }
    if (this.limit === 0 || !after(heap[0], candidate)) return false;
    heap[0] = candidate;
    this.siftDown(0);
    return true;
  }

  private siftUp(index: number) {
    const heap = this.heap;
    const item = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!after(item, heap[parent])) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = item;
  }

  private siftDown(index: number) {
    const heap = this.heap;
    const item = heap[index];
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && after(heap[child + 1], heap[child])) child++;
      if (!after(heap[child], item)) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = item;
  }
}

function isInTimeOrder(rows: readonly ChunkRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i].timestamp < rows[i - 1].timestamp) return false;
  return true;
}
