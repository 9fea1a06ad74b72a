import type { ChunkRow } from "./chunk-columns";
import { slotStart, type SampleBlock, type StoredGpu } from "./telemetry-store";

/** A stored row with its GPU; rows are shared with the store's caches and must not be changed. */
export interface GpuRow {
  gpu: StoredGpu;
  row: ChunkRow;
}

export interface NewestQuery {
  from: number;
  to: number;
  limit: number;
  /** The store's slot: a sealed block's rows all lie in the slot its first row starts. */
  slotMs: number;
}

/** One block being read newest row first; `timestamp` is that of rows[next], -Infinity once spent. */
interface Run {
  gpu: StoredGpu;
  rows: readonly ChunkRow[];
  next: number;
  timestamp: number;
}

/**
 * The `limit` newest rows inside [from, to], newest first, a tie going to the
 * lower GPU index as the API has always ordered it.
 *
 * Blocks must come as the store gives them newest first: open blocks, then
 * sealed ones by slot, newest slot first. Each block is a run read from its
 * newest row back, and the runs are merged by picking the newest head. A block
 * is read only while it could still hold a row as new as the best head, so a
 * 1000-row answer reads the few blocks at the top and decodes nothing older.
 */
export function mergeNewest(blocks: Iterator<SampleBlock>, query: NewestQuery): GpuRow[] {
  const out: GpuRow[] = [];
  const runs: Run[] = [];
  let pending = blocks.next();
  while (out.length < query.limit) {
    let best = -1;
    for (let k = 0; k < runs.length; k++) {
      const run = runs[k];
      if (
        best < 0 ||
        run.timestamp > runs[best].timestamp ||
        (run.timestamp === runs[best].timestamp && run.gpu.index < runs[best].gpu.index)
      )
        best = k;
    }
    const bestTimestamp = best < 0 ? -Infinity : runs[best].timestamp;
    if (!pending.done && newestPossibleIn(pending.value, query.slotMs) >= bestTimestamp) {
      const run = runOf(pending.value, query);
      if (run) runs.push(run);
      pending = blocks.next();
      continue;
    }
    if (best < 0) break;
    const run = runs[best];
    out.push({ gpu: run.gpu, row: run.rows[run.next] });
    if (!advance(run, query.from)) {
      runs[best] = runs[runs.length - 1];
      runs.pop();
    }
  }
  return out;
}

/**
 * The newest a row of this block or of any block after it can be: open blocks
 * come first and may hold anything; a sealed block and every sealed block after
 * it lie before the end of its slot.
 */
function newestPossibleIn(block: SampleBlock, slotMs: number): number {
  return block.sealed ? slotStart(block.startTs, slotMs) + slotMs - 1 : Infinity;
}

/** The block's rows in the window as a run positioned on its newest row; null when none is. */
function runOf(block: SampleBlock, query: NewestQuery): Run | null {
  const rows = isInTimeOrder(block.rows) ? block.rows : [...block.rows].sort((a, b) => a.timestamp - b.timestamp);
  let next = rows.length - 1;
  while (next >= 0 && rows[next].timestamp > query.to) next--;
  if (next < 0 || rows[next].timestamp < query.from) return null;
  return { gpu: block.gpu, rows, next, timestamp: rows[next].timestamp };
}

/** Moves to the next older row; false when the run has none left in the window. */
function advance(run: Run, from: number): boolean {
  run.next--;
  if (run.next < 0 || run.rows[run.next].timestamp < from) {
    run.timestamp = -Infinity;
    return false;
  }
  run.timestamp = run.rows[run.next].timestamp;
  return true;
}

function isInTimeOrder(rows: readonly ChunkRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i].timestamp < rows[i - 1].timestamp) return false;
  return true;
}
