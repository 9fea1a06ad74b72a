import { PAGE_SIZE } from "./database";
import type { StoreOptions } from "./telemetry-store";

/**
 * What the size cap (NVOC_MAX_DB_MB) has to hold on disk: the database file and
 * its write-ahead log, the rows of each GPU not yet sealed into a chunk (up to
 * a chunk's worth, in RecentSample, before they are sealed) and at least one
 * sealed chunk per GPU. Pruning keeps the file under the low-water mark minus
 * the room the log and the unsealed rows still need, so a cap below what one
 * chunk per GPU takes cannot be kept and is refused at start.
 *
 * The sizes were measured on files this store writes (32 KiB pages): an empty
 * file with its schema is 736 KiB (23 pages: each table and index takes one); an unsealed row takes about 68 bytes
 * with its index entries (96 leaves room for rows with every metric reported); a
 * sealed chunk of a real GPU's readings with its period summaries about 5 bytes a
 * row (2.8 KB for 600).
 */

const KIB = 1024;
const MIB = 1024 * KIB;
const EMPTY_FILE_BYTES = 23 * PAGE_SIZE;
export const UNSEALED_ROW_BYTES = 96;
/** Noisier readings than a real GPU's compress less: well over the measured size, and a page of its own. */
const sealedChunkBytes = (rows: number) => 8 * rows + PAGE_SIZE;
/** A GPU's own row, its hourly and daily rollups and its share of the index pages: a page at most. */
const PER_GPU_BYTES = PAGE_SIZE;
const MIN_WAL_BYTES = 128 * KIB;
const MAX_WAL_BYTES = 8 * MIB;

/** The write-ahead log's share of the cap: an eighth, at least 128 KiB, at most 8 MiB. */
export function walLimitBytes(capBytes: number): number {
  return Math.min(MAX_WAL_BYTES, Math.max(MIN_WAL_BYTES, Math.floor(capBytes / 8)));
}

/**
 * The most rows a GPU keeps unsealed: a chunk ends at its row limit or at its
 * slot's end, whichever comes first at this spacing. Unknown spacing (a replayed
 * file's own) counts a full chunk.
 */
export function unsealedRowsPerGpu(store: StoreOptions, sampleSpacingMs: number | null): number {
  if (sampleSpacingMs === null) return store.chunkMaxRows;
  return Math.min(store.chunkMaxRows, Math.ceil(store.slotMs / sampleSpacingMs));
}

export interface CapNeeds {
  gpus: number;
  unsealedRowsPerGpu: number;
  /** The share of the cap pruning trims down to (DEFAULT_WATER_MARKS.lowWater). */
  lowWater: number;
}

/** The smallest NVOC_MAX_DB_MB (whole MiB) that holds one sealed chunk and a chunk of unsealed rows per GPU. */
export function smallestCapMb({ gpus, unsealedRowsPerGpu: rows, lowWater }: CapNeeds): number {
  const needed = EMPTY_FILE_BYTES + gpus * (rows * UNSEALED_ROW_BYTES + sealedChunkBytes(rows) + PER_GPU_BYTES);
  let mb = 1;
  while (lowWater * mb * MIB - walLimitBytes(mb * MIB) < needed) mb++;
  return mb;
}

/** Why `capBytes` is too small for these GPUs, naming the variable and the smallest value; null when it is enough. */
export function capTooSmall(capBytes: number, needs: CapNeeds, spacing: string): string | null {
  const smallest = smallestCapMb(needs);
  if (capBytes >= smallest * MIB) return null;
  const gpus = needs.gpus === 1 ? "1 GPU" : `${needs.gpus} GPUs`;
  return (
    `NVOC_MAX_DB_MB must be at least ${smallest} for ${gpus} ${spacing}: ` +
    `${Math.round((capBytes / MIB) * 100) / 100} MB cannot hold the write-ahead log, up to ${needs.unsealedRowsPerGpu} unsealed rows and one sealed chunk per GPU`
  );
}
