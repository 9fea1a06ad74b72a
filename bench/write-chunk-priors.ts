/**
 * Writes src/server/storage/chunk-priors-v2.ts's table: `npx tsx bench/write-chunk-priors.ts`.
 * Codes training chunks with the current codec and counts each column's decisions: 8 simulated
 * H200s over 30 chunks of 600 rows on a window that bench/chunk-codec.bench.ts does not measure,
 * and the real H200 capture in bench/data. Each source's counts are averaged per chunk before
 * they are added, so that the one real chunk weighs as much as the average simulated one.
 * The table is part of chunk format version 2: rewriting it changes what old blobs decode to.
 * After a change of its layout, empty TABLES_BASE64 first (the codec refuses tables of another size).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { encodeChunk, type ChunkRow } from "../src/server/storage/chunk-codec";
import { collectPriorCounts, stopCollectingPriorCounts, type PriorCounts } from "../src/server/storage/chunk-codec-v2";
import {
  PRIOR_CONTEXTS,
  PRIOR_LENGTH_AT,
  PRIOR_MANTISSA_AT,
  PRIOR_MANTISSA_LENGTHS,
  PRIOR_TABLE_LENGTH,
  PRIOR_TREE_DEPTH,
  PRIOR_ZERO_AT,
  modelContext,
} from "../src/server/storage/chunk-priors-v2";
import { METRIC_KEYS } from "../src/telemetry/types";
import { simulatedReadings } from "../scripts/lib/generate-history";
import { h200Capture } from "./lib/h200-capture";

const ROWS_PER_CHUNK = 600;
/** Fewer averaged decisions than this per chunk leave a slot at one half. */
const MIN_DECISIONS = 0.5;

function simulatedChunks(): ChunkRow[][] {
  const chunks: ChunkRow[][] = [];
  const window = { ticks: ROWS_PER_CHUNK * 30, intervalMs: 1000, endsAt: Date.UTC(2026, 5, 1) };
  for (let gpu = 0; gpu < 8; gpu++) {
    const rows: ChunkRow[] = [];
    for (const sample of simulatedReadings(gpu, window)) {
      const { uuid: _uuid, index: _index, ...row } = sample;
      rows.push(row);
    }
    for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) chunks.push(rows.slice(i, i + ROWS_PER_CHUNK));
  }
  return chunks;
}

function countsOf(chunks: readonly ChunkRow[][]): PriorCounts {
  const counts = collectPriorCounts();
  for (const chunk of chunks) encodeChunk(chunk);
  stopCollectingPriorCounts();
  for (const part of [counts.zero, counts.lengths, counts.mantissa])
    for (const array of part) for (let i = 0; i < array.length; i++) array[i] /= chunks.length;
  return counts;
}

/** A probability of a 0 bit in 1/256ths (1..255), or 0 when too few decisions were seen. */
function quantised(zeros: number, ones: number): number {
  if (zeros + ones < MIN_DECISIONS) return 0;
  return Math.min(255, Math.max(1, Math.round(((zeros + 0.5) / (zeros + ones + 1)) * 256)));
}

// The counts do not depend on the table in use: predictors are chosen by estimated cost, not by the models.
const sources = [countsOf(simulatedChunks()), countsOf([h200Capture()])];
const sum = (pick: (counts: PriorCounts) => Float64Array, i: number) => sources.reduce((total, counts) => total + pick(counts)[i], 0);

const tables = METRIC_KEYS.map((_, column) => {
  const table = new Uint8Array(PRIOR_TABLE_LENGTH);
  for (let priorContext = 0; priorContext < PRIOR_CONTEXTS; priorContext++) {
    const context = modelContext(priorContext);
    table[PRIOR_ZERO_AT + priorContext] = quantised(
      sum((c) => c.zero[column], context * 2),
      sum((c) => c.zero[column], context * 2 + 1),
    );
    const lengthCount = (from: number, to: number) => {
      let total = 0;
      for (let length = from; length <= to; length++) total += sum((c) => c.lengths[column], context * 64 + length);
      return total;
    };
    for (let level = 0; level < PRIOR_TREE_DEPTH; level++) {
      for (let node = 1 << level; node < 2 << level; node++) {
        const width = 1 << (PRIOR_TREE_DEPTH - level);
        const first = (node - (1 << level)) * width + 1;
        table[PRIOR_LENGTH_AT + priorContext * ((1 << PRIOR_TREE_DEPTH) - 1) + node - 1] = quantised(
          lengthCount(first, first + width / 2 - 1),
          lengthCount(first + width / 2, first + width - 1),
        );
      }
    }
  }
  for (let length = 2; length <= PRIOR_MANTISSA_LENGTHS; length++) {
    for (let k = 0; k < 7; k++) {
      const slot = length * 8 + k;
      table[PRIOR_MANTISSA_AT + (length - 2) * 7 + k] = quantised(
        sum((c) => c.mantissa[column], slot * 2),
        sum((c) => c.mantissa[column], slot * 2 + 1),
      );
    }
  }
  return table;
});

const path = new URL("../src/server/storage/chunk-priors-v2.ts", import.meta.url);
const source = readFileSync(path, "utf8");
const lines = tables.map((table, column) => `  // ${METRIC_KEYS[column]}\n  "${Buffer.from(table).toString("base64")}",`).join("\n");
const rewritten = source.replace(
  /const TABLES_BASE64: readonly string\[\] = \[[^\]]*\];/,
  `const TABLES_BASE64: readonly string[] = [\n${lines}\n];`,
);
writeFileSync(path, rewritten);
console.log(`wrote ${tables.length} tables of ${PRIOR_TABLE_LENGTH} bytes`);
