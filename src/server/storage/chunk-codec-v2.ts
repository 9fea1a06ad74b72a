/**
 * Chunk format version 2: each column's values predicted and their residuals range-coded
 * (range-coder.ts), one stream per column so that a reader skips the columns it does not want.
 *
 *   version byte 2, then a CRC-32 (4 bytes, little endian) of everything after it
 *   rowCount, columnCount           unsigned varints
 *   when rowCount > 0:
 *     first timestamp               signed varint
 *     timestamp byte                predictor and tree depth as in a mode byte; bit 6: the
 *                                   power draw jumps in some row; bit 7: offsets
 *                                   from a grid of `step` ms (then step, unsigned varint)
 *                                   instead of deltas between timestamps
 *     stream length                 unsigned varint
 *   one header per stored column:
 *     mode byte                     bits 0-2: 0 all null, 1 constant, or a predictor (2..5);
 *                                   bits 3-5: the residual tree's depth; bit 7: has nulls
 *     constant: value (signed varint); when it has nulls, also a stream length
 *     predictor 5 (same row as): the reference column (byte), always an earlier one
 *     predictor: stream length (unsigned varint)
 *   the streams, in the order of their headers
 *
 * A column stream holds its presence bits (when it has nulls), then the residual of every present
 * value from its prediction: a zero flag, the bit length of its magnitude (a bit tree of `depth`
 * levels), both in the context of the previous residual's bit length and of a jump of the power
 * draw in that row, the three bits below the leading one (adaptive), the rest of the bits
 * (equiprobable) and its sign (adaptive). A column's models start from its metric's static
 * prior (chunk-priors-v2.ts).
 * docs/storage-format.md has the full layout. */
import { crc32 } from "node:zlib";
import { METRIC_DECIMALS, METRIC_KEYS } from "../../telemetry/types";
import { columnScratch, columnsToRows, rowsToColumns, scaleColumn, VERSION_1_COLUMN_COUNT, type ChunkRow } from "./chunk-columns";
import {
  ADAPTATION_SHIFTS,
  COUNT_UNIT,
  MAX_DIRECT_BITS,
  probabilities,
  PROBABILITY_BITS,
  PROBABILITY_HALF,
  PROBABILITY_ONE,
  RangeDecoder,
  RangeEncoder,
  SETTLED,
  TOP,
} from "./range-coder";
import {
  PRIOR_CONTEXTS,
  PRIOR_LENGTH_AT,
  PRIOR_MANTISSA_AT,
  PRIOR_MANTISSA_LENGTHS,
  PRIOR_QUANTUM,
  PRIOR_TABLES,
  PRIOR_TREE_DEPTH,
  PRIOR_TREE_NODES,
  PRIOR_ZERO_AT,
  modelContext,
} from "./chunk-priors-v2";
import { ByteReader, ByteWriter } from "./varint";

export const CHUNK_FORMAT_VERSION_2 = 2;

/** A blob that cannot be decoded: damaged, truncated, or not a chunk at all. */
export class ChunkCorruptError extends Error {
  override name = "ChunkCorruptError";
}

const MODE_ALL_NULL = 0;
const MODE_CONSTANT = 1;
/** Predicted by the previous present value. */
const PREDICT_PREVIOUS = 2;
/** Predicted by the level the recent values sit at: noise around a level costs less from it. */
const PREDICT_LEVEL = 3;
/** Not predicted: values near 2^53 would give residuals a double cannot hold. */
const PREDICT_NOTHING = 4;
/** Predicted by another column of the same row plus the offset between them in the row before. */
const PREDICT_SAME_ROW = 5;
const FLAG_HAS_NULLS = 0x80;
/** A mode byte holds the mode in its low bits and the residual tree's depth above them. */
const MODE_BITS = 3;
const MODE_MASK = (1 << MODE_BITS) - 1;
const DEPTH_SHIFT = MODE_BITS;
const DEPTH_MASK = 7 << DEPTH_SHIFT;

/** In the timestamp byte: the power draw jumps somewhere in the chunk (without it, a reader of other columns skips the power column). */
const TIMESTAMP_FLAG_JUMPS = 0x40;
const SEQUENCE_DELTAS = 0;
const SEQUENCE_GRID = 1;

/** Residuals of the previous and level predictions stay exact while every value is within this. */
const MAX_PREDICTED_MAGNITUDE = 2 ** 52;
/** The same-row prediction adds two values and an offset. */
const MAX_SAME_ROW_MAGNITUDE = 2 ** 50;
/** Keeps timestamp residuals exact; 2^50 ms is ~35,000 years. */
const MAX_TIMESTAMP_MAGNITUDE = 2 ** 50;
/** Guards against allocating absurd arrays from a corrupt row count. */
const MAX_ROWS_PER_CHUNK = 10_000_000;

/** Bit lengths of magnitudes up to 2^53 are 1..54 once zero is told apart: a tree of 6 levels at most. */
const MAX_TREE_DEPTH = 6;
const TREE_SIZE = 1 << MAX_TREE_DEPTH;
/**
 * The context of a residual's bit length: the previous one's, 0 alone and then in threes (1-3,
 * 4-6, ...), so that noise of two widths (an idle and a busy phase) learns two distributions.
 * Measured on the simulated chunks: 0/1/wider 3.015 bytes a snapshot, every length apart 2.969,
 * pairs 2.947, threes 2.942, fours 2.957.
 */
const LENGTH_BUCKETS_USED = 16;
const LENGTH_BUCKETS = Uint8Array.from({ length: 56 }, (_, length) =>
  length === 0 ? 0 : Math.min(1 + Math.floor((length - 1) / 3), LENGTH_BUCKETS_USED - 1),
);
/**
 * The phases of a GPU's work move every metric at once, and a jump of the power draw marks them:
 * in a row where the power draw moved by more than POWER_JUMP_W since the row before, every other
 * column codes its zero flag and bit length in contexts of their own (the bucket plus
 * JUMP_CONTEXT), and its sign in the context of the jump's direction too (2.711 to 2.682).
 * The power column is decoded first for this, also when it was not asked for.
 * Measured on the simulated chunks: 30 W 2.744 bytes a snapshot, 10 W 2.754, 60 W 2.758, any
 * move 2.854; the graphics clock or the utilization as the marker, 2.79-2.76.
 */
const POWER_COLUMN = METRIC_KEYS.indexOf("powerDrawW");
const POWER_JUMP_W = 30;
const JUMP_CONTEXT = LENGTH_BUCKETS_USED;
/** Set beside JUMP_CONTEXT in a row's mark where the power draw fell. */
const JUMP_DOWN = 1;
const LENGTH_CONTEXTS = 2 * LENGTH_BUCKETS_USED;
const ZERO_PROBS = 0;
const LENGTH_PROBS = ZERO_PROBS + LENGTH_CONTEXTS;
const MANTISSA_PROBS = LENGTH_PROBS + LENGTH_CONTEXTS * TREE_SIZE;
/** Bits below a residual's leading one coded adaptively, per bit length, in a bit tree (2: 0.4% larger, 4: no smaller). */
const ADAPTIVE_MANTISSA_BITS = 3;
const MANTISSA_SLOTS = 1 << ADAPTIVE_MANTISSA_BITS;
const SIGN_PROBS = MANTISSA_PROBS + 56 * MANTISSA_SLOTS;
const SIGN_CONTEXTS = 9;
const PRESENCE_PROBS = SIGN_PROBS + SIGN_CONTEXTS;
const PROBABILITY_COUNT = PRESENCE_PROBS + 2;

/**
 * The level is the mean of the values since it last moved, over LEVEL_WINDOW at most; it moves
 * onto a value further from it than LEVEL_JUMP_STEPS mean steps between consecutive values
 * (plus the floor), the mean step following each step by STEP_FOLLOW. Measured on the
 * simulated chunks: 2 or 3 steps and a follow of 1/8 or 1/4 code within 0.3% of each other.
 */
const LEVEL_WINDOW = 16;
const STEP_FOLLOW = 1 / 8;
const LEVEL_JUMP_STEPS = 3;
const LEVEL_JUMP_FLOOR = 3;

/** Columns predicted from another one in the same row when that codes smaller: the SM clock follows the graphics clock. */
const SAME_ROW_REFERENCES: ReadonlyMap<number, number> = new Map([
  [METRIC_KEYS.indexOf("smClockMhz"), METRIC_KEYS.indexOf("graphicsClockMhz")],
]);

const METRIC_SCALES: readonly number[] = METRIC_KEYS.map((key) => 10 ** METRIC_DECIMALS[key]);
const COLUMN_COUNT = METRIC_KEYS.length;

const probs = probabilities(PROBABILITY_COUNT);
/** Per row of the chunk being coded: JUMP_CONTEXT where the power draw jumped, else 0. */
let jumps = new Uint8Array(1024);

/** Marks the rows where the scaled power draw `power[at, at + rowCount)` jumped (NaN where null: no jump). */
function markJumps(power: Float64Array, at: number, rowCount: number): void {
  if (jumps.length < rowCount) jumps = new Uint8Array(rowCount * 2);
  const limit = POWER_JUMP_W * METRIC_SCALES[POWER_COLUMN];
  jumps[0] = 0;
  for (let row = 1; row < rowCount; row++) {
    const step = power[at + row] - power[at + row - 1];
    jumps[row] = step > limit ? JUMP_CONTEXT : step < -limit ? JUMP_CONTEXT | JUMP_DOWN : 0;
  }
}

// ---- static priors -----------------------------------------------------------------------------

/**
 * A column's models start from its metric's prior (chunk-priors-v2.ts) instead of one half, so
 * that a chunk does not pay to learn what every chunk of that metric looks like. A prior slot
 * starts as if it had seen PRIOR_SEEN bits, so that it still moves fast (1/8 of the way) at first.
 */
const PRIOR_SEEN = 4;
/** Built once per metric and tree depth, on first use. */
const priorModels = new Map<number, Uint32Array>();

function priorModel(column: number, depth: number): Uint32Array {
  const key = column * (MAX_TREE_DEPTH + 1) + depth;
  let model = priorModels.get(key);
  if (model !== undefined) return model;
  model = probabilities(PROBABILITY_COUNT);
  const table = PRIOR_TABLES[column];
  if (table !== undefined) {
    const slot = (q: number) => (q === 0 ? PROBABILITY_HALF : q * PRIOR_QUANTUM) + PRIOR_SEEN * COUNT_UNIT;
    for (let priorContext = 0; priorContext < PRIOR_CONTEXTS; priorContext++) {
      const context = modelContext(priorContext);
      model[ZERO_PROBS + context] = slot(table[PRIOR_ZERO_AT + priorContext]);
      // The prior's tree spans PRIOR_TREE_DEPTH levels; a shallower tree is its leftmost subtree.
      if (depth <= PRIOR_TREE_DEPTH) {
        for (let level = 0; level < depth; level++) {
          for (let node = 1 << level; node < 2 << level; node++) {
            const priorNode = node + (1 << level) * ((1 << (PRIOR_TREE_DEPTH - depth)) - 1);
            model[LENGTH_PROBS + context * TREE_SIZE + node] = slot(
              table[PRIOR_LENGTH_AT + priorContext * PRIOR_TREE_NODES + priorNode - 1],
            );
          }
        }
      }
    }
    for (let length = 2; length <= PRIOR_MANTISSA_LENGTHS; length++) {
      for (let k = 0; k < MANTISSA_SLOTS - 1; k++) {
        model[MANTISSA_PROBS + length * MANTISSA_SLOTS + k] = slot(table[PRIOR_MANTISSA_AT + (length - 2) * (MANTISSA_SLOTS - 1) + k]);
      }
    }
  }
  priorModels.set(key, model);
  return model;
}

/**
 * Counts of what each column's streams coded, from which chunk-priors-v2.ts is written
 * (bench/write-chunk-priors.ts); null unless that script is collecting.
 */
export interface PriorCounts {
  /** Per column: [context * 2 + bit] for the zero flag. */
  zero: Float64Array[];
  /** Per column: [context * 64 + bit length] for non-zero residuals. */
  lengths: Float64Array[];
  /** Per column: [mantissa slot * 2 + bit], slots as laid out in the model. */
  mantissa: Float64Array[];
}
let priorCounts: PriorCounts | null = null;
let countingColumn = -1;

/** Starts counting what encodeChunkV2 codes (for the priors' generator); returns the counts it fills. */
export function collectPriorCounts(): PriorCounts {
  priorCounts = {
    zero: Array.from({ length: COLUMN_COUNT }, () => new Float64Array(LENGTH_CONTEXTS * 2)),
    lengths: Array.from({ length: COLUMN_COUNT }, () => new Float64Array(LENGTH_CONTEXTS * 64)),
    mantissa: Array.from({ length: COLUMN_COUNT }, () => new Float64Array(56 * MANTISSA_SLOTS * 2)),
  };
  return priorCounts;
}

export function stopCollectingPriorCounts(): void {
  priorCounts = null;
}

function countResidual(context: number, length: number, magnitude: number): void {
  if (priorCounts === null || countingColumn < 0) return;
  priorCounts.zero[countingColumn][context * 2 + (length === 0 ? 0 : 1)]++;
  if (length === 0) return;
  priorCounts.lengths[countingColumn][context * 64 + length]++;
  let rest = length - 1;
  let above = 1;
  for (let k = 0; k < ADAPTIVE_MANTISSA_BITS && rest > 0; k++) {
    rest--;
    const bit = Math.floor(magnitude / 2 ** rest) & 1;
    priorCounts.mantissa[countingColumn][(length * MANTISSA_SLOTS + above - 1) * 2 + bit]++;
    above = above * 2 + bit;
  }
}
const encoder = new RangeEncoder(16 * 1024);
const decoder = new RangeDecoder();
const header = new ByteWriter(256);
const streams = new ByteWriter(16 * 1024);
/** Scratch for the timestamp sequence and for columns decoded only as another's reference. */
let sequence = new Float64Array(1024);
let sortedDeltas = new Float64Array(1024);
let referenceScratch = new Float64Array(COLUMN_COUNT * 1024);

/** Every stream's models start afresh: from one half, or from a column's prior. */
function resetModel(column = -1, depth = 0): void {
  if (column < 0) probs.fill(PROBABILITY_HALF);
  else probs.set(priorModel(column, depth));
}

// ---- predictors ------------------------------------------------------------------------------

/**
 * The level predictor: its state is the level, the mean step between consecutive values, how
 * many values were averaged into the level (0 before the first, at most LEVEL_WINDOW) and the
 * previous value. After each value the level moves towards it, or onto it when it is further
 * off than noise goes. How far noise goes is learnt from the steps between consecutive values,
 * which a change of level moves only once (and then clipped), where the distances from the
 * level would keep counting the change until the level has caught up.
 *
 * It is written out where it runs, predictionResiduals and decodeValues, its state in locals:
 * kept in a Float64Array and moved by a function, it measured a third of the encoder's time.
 * A full window divides by LEVEL_WINDOW, a power of two, as a multiplication by its reciprocal:
 * the same double, without the division's latency.
 */
const LEVEL_WINDOW_RECIPROCAL = 1 / LEVEL_WINDOW;
if (!Number.isInteger(Math.log2(LEVEL_WINDOW))) throw new Error("LEVEL_WINDOW must be a power of two");

/** The range is renormalised while below TOP: while no bit of it is set from TOP_BITS up. */
const TOP_BITS = Math.log2(TOP);
if (!Number.isInteger(TOP_BITS)) throw new Error("TOP must be a power of two");
/** What a model slot's count of bits seen grows by after a bit, by that count: COUNT_UNIT until SETTLED. */
const COUNT_STEPS = Uint32Array.from(ADAPTATION_SHIFTS, (_, seen) => (seen < SETTLED ? COUNT_UNIT : 0));

// ---- residual coding -------------------------------------------------------------------------

function bitLength(magnitude: number): number {
  return magnitude <= 0x7fffffff ? 32 - Math.clz32(magnitude) : 31 + bitLength(Math.floor(magnitude / 2 ** 31));
}

/** Bits a residual roughly costs, to choose a predictor without coding the column twice. */
function residualCost(residual: number): number {
  const magnitude = residual < 0 ? -residual : residual;
  if (magnitude === 0) return 0;
  return magnitude <= 0x7fffffff ? 34 - Math.clz32(magnitude) : 2 + bitLength(magnitude);
}

/**
 * Residuals of each candidate prediction, one per row of the column being written (NaN where
 * the value is null): computed once while choosing the predictor, then coded as they are.
 */
let previousResiduals = new Float64Array(1024);
let levelResiduals = new Float64Array(1024);
let sameRowResiduals = new Float64Array(1024);
/** The timestamps' second pair, for the grid beside the deltas. */
let gridPreviousResiduals = new Float64Array(1024);
let gridLevelResiduals = new Float64Array(1024);
/** Timestamps as offsets from the grid `first + i * step`. */
let gridSequence = new Float64Array(1024);

function ensureResidualScratch(count: number): void {
  if (previousResiduals.length >= count) return;
  previousResiduals = new Float64Array(count * 2);
  levelResiduals = new Float64Array(count * 2);
  sameRowResiduals = new Float64Array(count * 2);
  gridPreviousResiduals = new Float64Array(count * 2);
  gridLevelResiduals = new Float64Array(count * 2);
  gridSequence = new Float64Array(count * 2);
}

/** What predictionResiduals found: the cheaper predictor and its cost by residualCost. */
let cheaperKind = PREDICT_PREVIOUS;
let cheaperCost = 0;

/**
 * Writes the residuals of the previous-value and of the level predictions for
 * `source[start, start + count)` into `previousOut` and `levelOut` from 0 (NaN where null), and
 * sets cheaperKind and cheaperCost to the cheaper of the two by residualCost. One pass, the level
 * predictor written out (see LEVEL_WINDOW_RECIPROCAL); its previous value is the previous prediction.
 */
function predictionResiduals(source: Float64Array, start: number, count: number, previousOut: Float64Array, levelOut: Float64Array): void {
  let previous = 0;
  let level = 0;
  let meanStep = 0;
  let seen = 0;
  let previousCost = 0;
  let levelCost = 0;
  for (let k = 0; k < count; k++) {
    const value = source[start + k];
    if (value !== value) {
      previousOut[k] = NaN;
      levelOut[k] = NaN;
      continue;
    }
    const fromPrevious = value - previous;
    const fromLevel = value - Math.round(level);
    previousOut[k] = fromPrevious;
    levelOut[k] = fromLevel;
    const previousMagnitude = fromPrevious < 0 ? -fromPrevious : fromPrevious;
    if (previousMagnitude !== 0) {
      previousCost += previousMagnitude <= 0x7fffffff ? 34 - Math.clz32(previousMagnitude) : 2 + bitLength(previousMagnitude);
    }
    const levelMagnitude = fromLevel < 0 ? -fromLevel : fromLevel;
    if (levelMagnitude !== 0) {
      levelCost += levelMagnitude <= 0x7fffffff ? 34 - Math.clz32(levelMagnitude) : 2 + bitLength(levelMagnitude);
    }
    // The level predictor's step.
    const off = value - level;
    const distance = off < 0 ? -off : off;
    const limit = LEVEL_JUMP_STEPS * meanStep + LEVEL_JUMP_FLOOR;
    if (seen === 0 || distance > limit) {
      level = value;
      seen = 1;
    } else if (seen >= LEVEL_WINDOW - 1) {
      // A full window: dividing by its power of two is multiplying by the reciprocal, exactly.
      seen = LEVEL_WINDOW;
      level += off * LEVEL_WINDOW_RECIPROCAL;
    } else {
      seen = seen + 1;
      level += off / seen;
    }
    meanStep = meanStep + ((previousMagnitude < limit ? previousMagnitude : limit) - meanStep) * STEP_FOLLOW;
    previous = value;
  }
  if (levelCost < previousCost) {
    cheaperKind = PREDICT_LEVEL;
    cheaperCost = levelCost;
  } else {
    cheaperKind = PREDICT_PREVIOUS;
    cheaperCost = previousCost;
  }
}

// ---- encoding --------------------------------------------------------------------------------

/** The largest magnitude of each column written so far in this chunk. */
const magnitudes = new Float64Array(COLUMN_COUNT);

/**
 * Throws RangeError for a timestamp that is not an integer within ±2^50, or a metric value that is
 * infinite or beyond ±2^53 once scaled. NaN is stored as null.
 */
export function encodeChunkV2(rows: readonly ChunkRow[]): Buffer {
  header.reset();
  streams.reset();
  const rowCount = rows.length;
  header.writeUnsigned(rowCount);
  header.writeUnsigned(COLUMN_COUNT);
  const table = rowsToColumns(rows);
  if (jumps.length < rowCount) jumps = new Uint8Array(rowCount * 2);
  ensureResidualScratch(rowCount);
  let anyJump = false;
  {
    // As the decoder will see the power draw: scaled and rounded (columns are scaled as they are written).
    const scale = METRIC_SCALES[POWER_COLUMN];
    const limit = POWER_JUMP_W * scale;
    const start = POWER_COLUMN * rowCount;
    if (rowCount > 0) jumps[0] = 0;
    for (let row = 1; row < rowCount; row++) {
      const step = Math.round(table[start + row] * scale) - Math.round(table[start + row - 1] * scale);
      jumps[row] = step > limit ? JUMP_CONTEXT : step < -limit ? JUMP_CONTEXT | JUMP_DOWN : 0;
      if (jumps[row] !== 0) anyJump = true;
    }
  }
  if (rowCount > 0) writeTimestamps(rows, anyJump);
  magnitudes.fill(0);
  for (let column = 0; column < COLUMN_COUNT; column++) {
    magnitudes[column] = writeColumn(table, column, rowCount);
  }

  const headerBytes = header.view();
  const streamBytes = streams.view();
  const blob = Buffer.allocUnsafe(5 + headerBytes.length + streamBytes.length);
  blob[0] = CHUNK_FORMAT_VERSION_2;
  blob.set(headerBytes, 5);
  blob.set(streamBytes, 5 + headerBytes.length);
  blob.writeUInt32LE(crc32(blob.subarray(5)), 1);
  return blob;
}

function writeTimestamps(rows: readonly ChunkRow[], anyJump: boolean): void {
  const rowCount = rows.length;
  if (sequence.length < rowCount) sequence = new Float64Array(rowCount * 2);
  let previous = 0;
  for (let i = 0; i < rowCount; i++) {
    const timestamp = rows[i].timestamp;
    if (!Number.isInteger(timestamp) || Math.abs(timestamp) > MAX_TIMESTAMP_MAGNITUDE) {
      throw new RangeError(`chunk row ${i}: timestamp ${timestamp} is not an integer epoch-ms value`);
    }
    sequence[i] = timestamp - previous;
    previous = timestamp;
  }
  header.writeSigned(sequence[0]);
  // The step most deltas take: samples on a fixed grid that land a few ms late code smallest
  // as offsets from it.
  const step = rowCount > 2 ? medianDelta(rowCount) : 0;
  const first = sequence[0];
  const count = rowCount - 1;
  predictionResiduals(sequence, 1, count, previousResiduals, levelResiduals);
  let bestSequence = SEQUENCE_DELTAS;
  let bestPredictor = cheaperKind;
  if (step > 0) {
    // Offsets from the grid, computed as the deltas' running sum minus the grid, which is exact.
    let timestamp = first;
    for (let i = 1; i < rowCount; i++) {
      timestamp += sequence[i];
      gridSequence[i] = timestamp - first - i * step;
    }
    const deltasCost = cheaperCost;
    predictionResiduals(gridSequence, 1, count, gridPreviousResiduals, gridLevelResiduals);
    if (cheaperCost < deltasCost) {
      bestSequence = SEQUENCE_GRID;
      bestPredictor = cheaperKind;
    }
  }
  const chosen = bestSequence === SEQUENCE_GRID ? gridSequence : sequence;
  let maxMagnitude = 0;
  for (let i = 1; i < rowCount; i++) maxMagnitude = Math.max(maxMagnitude, Math.abs(chosen[i]));
  const depth = treeDepth(maxMagnitude, bestPredictor);
  // Shaped as a column's mode byte, its top bit telling the grid from deltas.
  header.writeByte(bestPredictor | (depth << DEPTH_SHIFT) | (anyJump ? TIMESTAMP_FLAG_JUMPS : 0) | (bestSequence << 7));
  if (bestSequence === SEQUENCE_GRID) header.writeUnsigned(step);
  encoder.reset();
  resetModel();
  const residuals =
    bestSequence === SEQUENCE_GRID
      ? bestPredictor === PREDICT_LEVEL
        ? gridLevelResiduals
        : gridPreviousResiduals
      : bestPredictor === PREDICT_LEVEL
        ? levelResiduals
        : previousResiduals;
  encodeResiduals(residuals, 0, count, depth, false);
  finishStream();
}

/** The median of the deltas sequence[1, rowCount), or 0 where a grid of that step cannot be used. */
function medianDelta(rowCount: number): number {
  if (sortedDeltas.length < rowCount) sortedDeltas = new Float64Array(rowCount * 2);
  const deltas = sortedDeltas;
  const count = rowCount - 1;
  deltas.set(sequence.subarray(1, rowCount));
  const median = selectNth(deltas, count, count >>> 1);
  // Offsets from the grid must stay exact; a grid is for positive steps only.
  return median > 0 && median * rowCount <= MAX_TIMESTAMP_MAGNITUDE ? median : 0;
}

/**
 * The value at position `nth` of `values[0, count)` once sorted ascending, as sorting would put
 * it there (the values are whole numbers, so no NaN and no -0 to order), found by partitioning
 * around a median of three (Hoare's selection): linear time, where sorting the deltas of every
 * chunk measured a tenth of the encoder's time. Reorders the values.
 */
function selectNth(values: Float64Array, count: number, nth: number): number {
  let low = 0;
  let high = count - 1;
  while (high > low) {
    const middle = (low + high) >>> 1;
    // Median of three as the pivot: sorted data, the common case here, splits in half.
    const first = values[low];
    const second = values[middle];
    const last = values[high];
    const smaller = first < second ? first : second;
    const larger = first < second ? second : first;
    const pivot = last < smaller ? smaller : last > larger ? larger : last;
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (nth <= j) high = j;
    else if (nth >= i) low = i;
    else return values[nth];
  }
  return values[nth];
}

/** The tree codes bit lengths 1.. up to the largest a residual can have; 6 levels for anything. */
function treeDepth(maxMagnitude: number, kind: number): number {
  // Previous and level predictions stay within the values' range: residuals within twice it.
  const widest = bitLength(kind === PREDICT_NOTHING ? maxMagnitude : 2 * maxMagnitude);
  return widest <= 1 ? 0 : bitLength(widest - 1);
}

/** Scales the column in place (the table is scratch), then writes it in the cheapest way it allows. Returns its largest magnitude. */
function writeColumn(table: Float64Array, column: number, rowCount: number): number {
  const key = METRIC_KEYS[column];
  const scale = METRIC_SCALES[column];
  const start = column * rowCount;
  const { presentCount, firstValue, allEqual, maxMagnitude } = scaleColumn(table, start, rowCount, key, scale);

  if (presentCount === 0) {
    header.writeByte(MODE_ALL_NULL);
    return 0;
  }
  const nullFlag = presentCount < rowCount ? FLAG_HAS_NULLS : 0;
  if (allEqual) {
    header.writeByte(MODE_CONSTANT | nullFlag);
    header.writeSigned(firstValue);
    if (nullFlag) {
      encoder.reset();
      resetModel();
      writePresence(table, start, rowCount);
      finishStream();
    }
    return maxMagnitude;
  }

  let kind = PREDICT_NOTHING;
  let reference = -1;
  // The values themselves when not predicted (NaN where null), else one of the scratch arrays.
  let residuals = table;
  let residualsAt = start;
  if (maxMagnitude <= MAX_PREDICTED_MAGNITUDE) {
    predictionResiduals(table, start, rowCount, previousResiduals, levelResiduals);
    kind = cheaperKind;
    residuals = kind === PREDICT_LEVEL ? levelResiduals : previousResiduals;
    residualsAt = 0;
    const sameRow = SAME_ROW_REFERENCES.get(column);
    if (sameRow !== undefined && maxMagnitude <= MAX_SAME_ROW_MAGNITUDE && magnitudes[sameRow] <= MAX_SAME_ROW_MAGNITUDE) {
      if (sameRowResidualsOf(table, start, rowCount, sameRow * rowCount) < cheaperCost) {
        kind = PREDICT_SAME_ROW;
        reference = sameRow;
        residuals = sameRowResiduals;
      }
    }
  }
  const depth = treeDepth(kind === PREDICT_SAME_ROW ? maxMagnitude + magnitudes[reference] : maxMagnitude, kind);
  header.writeByte(kind | (depth << DEPTH_SHIFT) | nullFlag);
  if (kind === PREDICT_SAME_ROW) header.writeByte(reference);
  encoder.reset();
  resetModel(column, depth);
  if (nullFlag) writePresence(table, start, rowCount);
  countingColumn = column;
  encodeResiduals(residuals, residualsAt, rowCount, depth, column !== POWER_COLUMN);
  countingColumn = -1;
  finishStream();
  return maxMagnitude;
}

/**
 * Codes `residuals[at, at + count)`, skipping NaN (a null row): a zero flag, the bit length,
 * the bits below the leading one and the sign of each, as RangeEncoder.encodeBit and
 * encodeDirect would, written out with the coder's state in locals, which measured about twice
 * as fast (decodeValues is its mirror). Row `k` of them takes the jump mark `jumps[k]` when
 * `useJumps`.
 */
function encodeResiduals(residuals: Float64Array, at: number, count: number, depth: number, useJumps: boolean): void {
  const model = probs;
  const marks = jumps;
  const shifts = ADAPTATION_SHIFTS;
  const countSteps = COUNT_STEPS;
  const one = PROBABILITY_ONE;
  const probabilityBits = PROBABILITY_BITS;
  const topBits = TOP_BITS;
  const counting = priorCounts !== null;
  let low = encoder.low;
  // The range (a double in RangeEncoder) as the bits of a uint32 in an int32: uint32 arithmetic
  // on them stays in integer registers, where a double would convert at every step of the chain
  // from one decision to the next.
  let range = encoder.range | 0;
  let slot = 0;
  let p = 0;
  let seen = 0;
  let bound = 0;
  let index = 0;
  let bit = 0;
  let shift = 0;

  let lengthBefore = 0;
  let signBefore = 1;
  for (let k = 0; k < count; k++) {
    const residual = residuals[at + k];
    if (residual !== residual) continue;
    const magnitude = residual < 0 ? -residual : residual;
    const length = magnitude <= 0x7fffffff ? 32 - Math.clz32(magnitude) : bitLength(magnitude);
    const mark = useJumps ? marks[k] : 0;
    const context = LENGTH_BUCKETS[lengthBefore] + (mark & JUMP_CONTEXT);
    lengthBefore = length;
    if (counting) countResidual(context, length, magnitude);

    // One adaptive bit (model[index], bit) per block below, as RangeEncoder.encodeBit codes it.
    index = ZERO_PROBS + context;
    slot = model[index];
    p = slot & 0xffff;
    seen = slot >>> 16;
    bound = Math.imul(range >>> probabilityBits, p);
    if (length === 0) {
      // A run of zero residuals, most of a column's values: each codes a 0 in the same slot
      // while its context stays (after a zero, the context is the jump mark's alone), the slot
      // kept in a local until the run ends.
      for (;;) {
        range = bound;
        slot = slot + countSteps[seen] + ((one - p) >>> shifts[seen]);
        while (range >>> topBits === 0) {
          range <<= 8;
          encoder.low = low;
          encoder.shiftLow();
          low = encoder.low;
        }
        if (k + 1 === count || residuals[at + k + 1] !== 0 || counting) break;
        if ((useJumps ? marks[k + 1] & JUMP_CONTEXT : 0) !== context) break;
        k++;
        p = slot & 0xffff;
        seen = slot >>> 16;
        bound = Math.imul(range >>> probabilityBits, p);
      }
      model[index] = slot;
      continue;
    }
    low += bound >>> 0;
    range = (range - bound) | 0;
    model[index] = slot + countSteps[seen] - (p >>> shifts[seen]);
    while (range >>> topBits === 0) {
      range <<= 8;
      encoder.low = low;
      encoder.shiftLow();
      low = encoder.low;
    }
    const tree = LENGTH_PROBS + context * TREE_SIZE;
    let node = 1;
    for (let position = depth - 1; position >= 0; position--) {
      index = tree + node;
      bit = ((length - 1) >>> position) & 1;
      slot = model[index];
      p = slot & 0xffff;
      seen = slot >>> 16;
      bound = Math.imul(range >>> probabilityBits, p);
      shift = shifts[seen];
      if (bit === 0) {
        range = bound;
        model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
      } else {
        low += bound >>> 0;
        range = (range - bound) | 0;
        model[index] = slot + countSteps[seen] - (p >>> shift);
      }
      while (range >>> topBits === 0) {
        range <<= 8;
        encoder.low = low;
        encoder.shiftLow();
        low = encoder.low;
      }
      node = (node << 1) | bit;
    }
    const mantissa = MANTISSA_PROBS + length * MANTISSA_SLOTS;
    let rest = length - 1;
    let above = 1;
    for (let m = 0; m < ADAPTIVE_MANTISSA_BITS && rest > 0; m++) {
      rest--;
      index = mantissa + above - 1;
      bit = magnitude <= 0x7fffffff ? (magnitude >>> rest) & 1 : Math.floor(magnitude / 2 ** rest) & 1;
      slot = model[index];
      p = slot & 0xffff;
      seen = slot >>> 16;
      bound = Math.imul(range >>> probabilityBits, p);
      shift = shifts[seen];
      if (bit === 0) {
        range = bound;
        model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
      } else {
        low += bound >>> 0;
        range = (range - bound) | 0;
        model[index] = slot + countSteps[seen] - (p >>> shift);
      }
      while (range >>> topBits === 0) {
        range <<= 8;
        encoder.low = low;
        encoder.shiftLow();
        low = encoder.low;
      }
      above = above * 2 + bit;
    }
    while (rest > 0) {
      // Equiprobable bits, the highest group of MAX_DIRECT_BITS first, as RangeEncoder.encodeDirect.
      const bits = rest > MAX_DIRECT_BITS ? MAX_DIRECT_BITS : rest;
      rest -= bits;
      const group = magnitude <= 0x7fffffff ? (magnitude >>> rest) & ((1 << bits) - 1) : Math.floor(magnitude / 2 ** rest) % 2 ** bits;
      const step = range >>> bits;
      low += step * group;
      range = step;
      while (range >>> topBits === 0) {
        range <<= 8;
        encoder.low = low;
        encoder.shiftLow();
        low = encoder.low;
      }
    }
    index = SIGN_PROBS + signBefore + (mark === 0 ? 0 : mark === JUMP_CONTEXT ? 3 : 6);
    bit = residual < 0 ? 0 : 1;
    slot = model[index];
    p = slot & 0xffff;
    seen = slot >>> 16;
    bound = Math.imul(range >>> probabilityBits, p);
    shift = shifts[seen];
    if (bit === 0) {
      range = bound;
      model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
    } else {
      low += bound >>> 0;
      range = (range - bound) | 0;
      model[index] = slot + countSteps[seen] - (p >>> shift);
    }
    signBefore = bit * 2;
    while (range >>> topBits === 0) {
      range <<= 8;
      encoder.low = low;
      encoder.shiftLow();
      low = encoder.low;
    }
  }
  encoder.low = low;
  encoder.range = range >>> 0;
}

/**
 * Writes the residuals of the same-row prediction from the column at `referenceStart` into
 * sameRowResiduals (NaN where null); returns their cost by residualCost.
 */
function sameRowResidualsOf(table: Float64Array, start: number, rowCount: number, referenceStart: number): number {
  const out = sameRowResiduals;
  let previous = 0;
  let offset = 0;
  let cost = 0;
  for (let row = 0; row < rowCount; row++) {
    const value = table[start + row];
    if (value !== value) {
      out[row] = NaN;
      continue;
    }
    const referenceValue = table[referenceStart + row];
    const present = referenceValue === referenceValue;
    const residual = value - (present ? referenceValue + offset : previous);
    out[row] = residual;
    cost += residualCost(residual);
    if (present) offset = value - referenceValue;
    previous = value;
  }
  return cost;
}

function writePresence(table: Float64Array, start: number, rowCount: number): void {
  let previous = 1;
  for (let row = 0; row < rowCount; row++) {
    const present = table[start + row] === table[start + row] ? 1 : 0;
    encoder.encodeBit(probs, PRESENCE_PROBS + previous, present);
    previous = present;
  }
}

function finishStream(): void {
  const bytes = encoder.finish();
  header.writeUnsigned(bytes.length);
  streams.writeBytes(bytes);
}

// ---- decoding --------------------------------------------------------------------------------

interface ColumnHeader {
  mode: number;
  hasNulls: boolean;
  constant: number;
  reference: number;
  depth: number;
  streamStart: number;
  streamEnd: number;
}

const columnHeaders: ColumnHeader[] = Array.from({ length: COLUMN_COUNT }, () => ({
  mode: 0,
  hasNulls: false,
  constant: 0,
  reference: -1,
  depth: 0,
  streamStart: 0,
  streamEnd: 0,
}));

/** Where each column's scaled values are once decoded in this call, -1 when not yet. */
const decodedAt = new Float64Array(COLUMN_COUNT);
const decodedIn: Float64Array[] = new Array<Float64Array>(COLUMN_COUNT);
/** Whether `jumps` holds the power draw's jumps of the chunk being decoded. */
let jumpsMarked = false;
/** Whether the chunk being decoded says its power draw jumps anywhere. */
let chunkHasJumps = false;

interface OpenedChunk {
  blob: Uint8Array;
  rowCount: number;
  timestamps: number[];
}

/** Throws ChunkCorruptError on a damaged blob. */
export function decodeChunkV2(blob: Uint8Array): ChunkRow[] {
  const { rowCount, timestamps } = openChunk(blob);
  const table = columnScratch(rowCount);
  if (referenceScratch.length < COLUMN_COUNT * rowCount) referenceScratch = new Float64Array(COLUMN_COUNT * rowCount);
  decodedAt.fill(-1);
  jumpsMarked = false;
  // The power draw first: the other columns' contexts follow its jumps.
  decodeColumn(blob, POWER_COLUMN, rowCount, table, POWER_COLUMN * rowCount);
  for (let column = 0; column < COLUMN_COUNT; column++) {
    if (decodedAt[column] < 0) {
      decodeColumn(blob, column, rowCount, table, column * rowCount);
    } else if (decodedIn[column] !== table) {
      // Decoded aside as the power draw's reference, which only a damaged header can name.
      const from = decodedAt[column];
      table.set(decodedIn[column].subarray(from, from + rowCount), column * rowCount);
    }
  }
  for (let column = 0; column < COLUMN_COUNT; column++) {
    const scale = METRIC_SCALES[column];
    if (scale === 1) continue;
    const start = column * rowCount;
    for (let i = start; i < start + rowCount; i++) table[i] /= scale;
  }
  return columnsToRows(timestamps, table);
}

/** See decodeChunkColumns in chunk-codec.ts. */
export function decodeChunkColumnsV2(
  blob: Uint8Array,
  metrics: readonly number[],
): { rowCount: number; timestamps: number[]; table: Float64Array } {
  const { rowCount, timestamps } = openChunk(blob);
  const table = columnScratch(rowCount);
  if (referenceScratch.length < COLUMN_COUNT * rowCount) referenceScratch = new Float64Array(COLUMN_COUNT * rowCount);
  decodedAt.fill(-1);
  jumpsMarked = false;
  for (let k = 0; k < metrics.length; k++) {
    const column = metrics[k];
    if (column < 0 || column >= COLUMN_COUNT) {
      table.fill(NaN, k * rowCount, (k + 1) * rowCount);
      continue;
    }
    if (decodedAt[column] < 0) {
      decodeColumn(blob, column, rowCount, table, k * rowCount);
    } else {
      // Decoded already as a reference of an earlier asked column.
      const from = decodedAt[column];
      table.set(decodedIn[column].subarray(from, from + rowCount), k * rowCount);
    }
  }
  return { rowCount, timestamps, table };
}

function openChunk(blob: Uint8Array): OpenedChunk {
  if (blob.length < 5) throw corrupt("shorter than its header");
  const stored = (blob[1] | (blob[2] << 8) | (blob[3] << 16) | (blob[4] << 24)) >>> 0;
  if (crc32(blob.subarray(5)) !== stored) throw corrupt("checksum does not match");
  const reader = new ByteReader(blob.subarray(5));
  try {
    const rowCount = reader.readUnsigned();
    if (reader.overran || rowCount > MAX_ROWS_PER_CHUNK) throw corrupt(`implausible row count ${rowCount}`);
    const storedColumns = reader.readUnsigned();
    if (storedColumns > COLUMN_COUNT || storedColumns < VERSION_1_COLUMN_COUNT) {
      throw corrupt(`${storedColumns} metric columns, where this build knows ${COLUMN_COUNT}`);
    }
    chunkHasJumps = false;
    let timestampStream = { first: 0, sequence: SEQUENCE_DELTAS, step: 0, predictor: PREDICT_PREVIOUS, depth: 0, length: 0 };
    if (rowCount > 0) {
      const first = reader.readSigned();
      const timestampByte = reader.readByte();
      const sequenceKind = timestampByte >>> 7;
      chunkHasJumps = (timestampByte & TIMESTAMP_FLAG_JUMPS) !== 0;
      const kind = timestampByte & MODE_MASK;
      if (kind !== PREDICT_PREVIOUS && kind !== PREDICT_LEVEL) throw corrupt(`unknown timestamp predictor ${kind}`);
      const depth = readDepth(timestampByte);
      const step = sequenceKind === SEQUENCE_GRID ? reader.readUnsigned() : 0;
      timestampStream = { first, sequence: sequenceKind, step, predictor: kind, depth, length: reader.readUnsigned() };
    }
    let streamStart = 0;
    for (let column = 0; column < COLUMN_COUNT; column++) {
      const columnHeader = columnHeaders[column];
      // Written before this metric was appended to the catalogue: it was not recorded.
      const modeByte = column < storedColumns ? reader.readByte() : MODE_ALL_NULL;
      const mode = modeByte & MODE_MASK;
      columnHeader.mode = mode;
      columnHeader.hasNulls = (modeByte & FLAG_HAS_NULLS) !== 0;
      columnHeader.reference = -1;
      let length = 0;
      if (modeByte === MODE_ALL_NULL) {
        // Nothing stored.
      } else if (modeByte & DEPTH_MASK && (mode === MODE_ALL_NULL || mode === MODE_CONSTANT)) {
        throw corrupt(`unknown column mode ${modeByte}`);
      } else if (mode === MODE_CONSTANT) {
        columnHeader.constant = reader.readSigned();
        if (columnHeader.hasNulls) length = reader.readUnsigned();
      } else if (mode === PREDICT_PREVIOUS || mode === PREDICT_LEVEL || mode === PREDICT_NOTHING || mode === PREDICT_SAME_ROW) {
        if (mode === PREDICT_SAME_ROW) {
          const reference = reader.readByte();
          if (reference >= column) throw corrupt(`column ${column} predicted from column ${reference}`);
          columnHeader.reference = reference;
        }
        columnHeader.depth = readDepth(modeByte);
        length = reader.readUnsigned();
      } else {
        throw corrupt(`unknown column mode ${modeByte}`);
      }
      columnHeader.streamStart = streamStart;
      streamStart += length;
      columnHeader.streamEnd = streamStart;
    }
    if (reader.overran) throw corrupt("header ends early");
    const streamsAt = 5 + reader.position;
    if (streamsAt + timestampStream.length + streamStart !== blob.length) throw corrupt("stream lengths do not match the blob");
    for (const columnHeader of columnHeaders) {
      columnHeader.streamStart += streamsAt + timestampStream.length;
      columnHeader.streamEnd += streamsAt + timestampStream.length;
    }
    const timestamps = readTimestamps(blob, rowCount, timestampStream, streamsAt);
    return { blob, rowCount, timestamps };
  } catch (error) {
    if (error instanceof ChunkCorruptError) throw error;
    throw corrupt(error instanceof Error ? error.message : String(error));
  }
}

function readDepth(modeByte: number): number {
  const depth = (modeByte & DEPTH_MASK) >>> DEPTH_SHIFT;
  if (depth > MAX_TREE_DEPTH) throw corrupt(`residual tree depth ${depth}`);
  return depth;
}

function readTimestamps(
  blob: Uint8Array,
  rowCount: number,
  stream: { first: number; sequence: number; step: number; predictor: number; depth: number; length: number },
  streamsAt: number,
): number[] {
  const timestamps = new Array<number>(rowCount);
  if (rowCount === 0) return timestamps;
  decoder.open(blob, streamsAt, streamsAt + stream.length);
  resetModel();
  if (sequence.length < rowCount) sequence = new Float64Array(rowCount * 2);
  decodeValues(sequence, 1, rowCount - 1, false, stream.predictor, stream.depth, sequence, -1, false);
  let timestamp = stream.first;
  timestamps[0] = timestamp;
  if (stream.sequence === SEQUENCE_DELTAS) {
    for (let i = 1; i < rowCount; i++) {
      timestamp += sequence[i];
      timestamps[i] = timestamp;
    }
  } else {
    const step = stream.step;
    for (let i = 1; i < rowCount; i++) timestamps[i] = stream.first + i * step + sequence[i];
  }
  return timestamps;
}

/** Decodes a column's scaled values into `out` from `at`, NaN where null, and its reference first where it has one. */
function decodeColumn(blob: Uint8Array, column: number, rowCount: number, out: Float64Array, at: number): void {
  const columnHeader = columnHeaders[column];
  const mode = columnHeader.mode;
  let reference: Float64Array | null = null;
  let referenceAt = 0;
  if (columnHeader.reference >= 0) {
    const referenceColumn = columnHeader.reference;
    if (decodedAt[referenceColumn] < 0) {
      decodeColumn(blob, referenceColumn, rowCount, referenceScratch, referenceColumn * rowCount);
    }
    reference = decodedIn[referenceColumn];
    referenceAt = decodedAt[referenceColumn];
  }
  if (column !== POWER_COLUMN && !jumpsMarked && mode !== MODE_ALL_NULL && mode !== MODE_CONSTANT) {
    if (chunkHasJumps) {
      if (decodedAt[POWER_COLUMN] < 0) decodeColumn(blob, POWER_COLUMN, rowCount, referenceScratch, POWER_COLUMN * rowCount);
      markJumps(decodedIn[POWER_COLUMN], decodedAt[POWER_COLUMN], rowCount);
    } else {
      if (jumps.length < rowCount) jumps = new Uint8Array(rowCount * 2);
      jumps.fill(0, 0, rowCount);
    }
    jumpsMarked = true;
  }
  decodedAt[column] = at;
  decodedIn[column] = out;
  const end = at + rowCount;
  if (mode === MODE_ALL_NULL) {
    out.fill(NaN, at, end);
    return;
  }
  if (mode === MODE_CONSTANT) {
    out.fill(columnHeader.constant, at, end);
    if (!columnHeader.hasNulls) return;
  }
  decoder.open(blob, columnHeader.streamStart, columnHeader.streamEnd);
  resetModel(column, columnHeader.depth);
  if (columnHeader.hasNulls) {
    // Presence first: a null row is marked NaN, a present one keeps its slot for the value.
    let previous = 1;
    for (let i = at; i < end; i++) {
      const present = decoder.decodeBit(probs, PRESENCE_PROBS + previous);
      if (!present) out[i] = NaN;
      else if (mode !== MODE_CONSTANT) out[i] = 0;
      previous = present;
    }
    if (mode === MODE_CONSTANT) return;
  }
  decodeValues(
    out,
    at,
    rowCount,
    columnHeader.hasNulls,
    mode,
    columnHeader.depth,
    reference ?? out,
    reference === null ? -1 : referenceAt,
    column !== POWER_COLUMN,
  );
}

/**
 * Decodes `count` values into `out` from `at` (skipping rows already NaN when `hasNulls`): the
 * predictor and the residual coder of the encoding side (predict, update, encodeResidual) with
 * the range decoder's state in locals and its bit decoding written out at each use, which
 * measured several times faster than calling RangeDecoder.decodeBit.
 */
function decodeValues(
  out: Float64Array,
  at: number,
  count: number,
  hasNulls: boolean,
  kind: number,
  depth: number,
  reference: Float64Array,
  referenceAt: number,
  useJumps: boolean,
): void {
  // Everything the loop reads held in locals: module bindings and imports cost a load each time.
  const model = probs;
  const marks = jumps;
  const shifts = ADAPTATION_SHIFTS;
  const countSteps = COUNT_STEPS;
  const one = PROBABILITY_ONE;
  const probabilityBits = PROBABILITY_BITS;
  const topBits = TOP_BITS;
  const bytes = decoder.bytes;
  const end = decoder.end;
  let position = decoder.position;
  // Range and code as the bits of uint32s in int32s, as in encodeResiduals.
  let range = decoder.range | 0;
  let code = decoder.code | 0;
  let slot = 0;
  let p = 0;
  let seen = 0;
  let bound = 0;
  let bit = 0;
  let shift = 0;
  let index = 0;

  let previous = 0;
  // The level predictor's state (see LEVEL_WINDOW_RECIPROCAL); its previous value is `previous`.
  let level = 0;
  let meanStep = 0;
  let levelSeen = 0;
  let offset = 0;
  let lengthBefore = 0;
  let signBefore = 1;
  for (let i = at; i < at + count; i++) {
    if (hasNulls && out[i] !== out[i]) continue;
    const referenceValue = referenceAt >= 0 ? reference[referenceAt + i - at] : NaN;
    const prediction =
      kind === PREDICT_PREVIOUS
        ? previous
        : kind === PREDICT_LEVEL
          ? Math.round(level)
          : kind === PREDICT_SAME_ROW
            ? referenceValue === referenceValue
              ? referenceValue + offset
              : previous
            : 0;

    // ---- the residual: zero or not, bit length, bits below the leading one, sign
    const mark = useJumps ? marks[i - at] : 0;
    const context = LENGTH_BUCKETS[lengthBefore] + (mark & JUMP_CONTEXT);
    // One adaptive bit per block below, as RangeDecoder.decodeBit reads it.
    index = ZERO_PROBS + context;
    slot = model[index];
    p = slot & 0xffff;
    seen = slot >>> 16;
    bound = Math.imul(range >>> probabilityBits, p);
    shift = shifts[seen];
    if (code >>> 0 < bound >>> 0) {
      range = bound;
      model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
      bit = 0;
    } else {
      code = (code - bound) | 0;
      range = (range - bound) | 0;
      model[index] = slot + countSteps[seen] - (p >>> shift);
      bit = 1;
    }
    while (range >>> topBits === 0) {
      range <<= 8;
      code = (code << 8) | (position < end ? bytes[position++] : 0);
    }
    let residual = 0;
    if (bit === 0) {
      lengthBefore = 0;
    } else {
      const tree = LENGTH_PROBS + context * TREE_SIZE;
      let node = 1;
      for (let treeLevel = 0; treeLevel < depth; treeLevel++) {
        index = tree + node;
        slot = model[index];
        p = slot & 0xffff;
        seen = slot >>> 16;
        bound = Math.imul(range >>> probabilityBits, p);
        shift = shifts[seen];
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
          bit = 0;
        } else {
          code = (code - bound) | 0;
          range = (range - bound) | 0;
          model[index] = slot + countSteps[seen] - (p >>> shift);
          bit = 1;
        }
        while (range >>> topBits === 0) {
          range <<= 8;
          code = (code << 8) | (position < end ? bytes[position++] : 0);
        }
        node = (node << 1) | bit;
      }
      let length = node - (1 << depth) + 1;
      // Only damage codes a length past 2^53's: read it as the widest.
      if (length > 54) length = 54;
      lengthBefore = length;
      let magnitude = 1;
      let rest = length - 1;
      const mantissa = MANTISSA_PROBS + length * MANTISSA_SLOTS;
      for (let k = 0; k < ADAPTIVE_MANTISSA_BITS && rest > 0; k++, rest--) {
        // The bits above this one so far, leading one included, are its node in the tree.
        index = mantissa + magnitude - 1;
        slot = model[index];
        p = slot & 0xffff;
        seen = slot >>> 16;
        bound = Math.imul(range >>> probabilityBits, p);
        shift = shifts[seen];
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
          bit = 0;
        } else {
          code = (code - bound) | 0;
          range = (range - bound) | 0;
          model[index] = slot + countSteps[seen] - (p >>> shift);
          bit = 1;
        }
        while (range >>> topBits === 0) {
          range <<= 8;
          code = (code << 8) | (position < end ? bytes[position++] : 0);
        }
        magnitude = magnitude * 2 + bit;
      }
      while (rest > 0) {
        const bits = rest > MAX_DIRECT_BITS ? MAX_DIRECT_BITS : rest;
        rest -= bits;
        const step = range >>> bits;
        let value = Math.floor((code >>> 0) / step);
        // Only a damaged stream puts the code past the range.
        if (value >= 1 << bits) value = (1 << bits) - 1;
        code = ((code >>> 0) - step * value) | 0;
        range = step;
        while (range >>> topBits === 0) {
          range <<= 8;
          code = (code << 8) | (position < end ? bytes[position++] : 0);
        }
        magnitude = magnitude * (1 << bits) + value;
      }
      index = SIGN_PROBS + signBefore + (mark === 0 ? 0 : mark === JUMP_CONTEXT ? 3 : 6);
      slot = model[index];
      p = slot & 0xffff;
      seen = slot >>> 16;
      bound = Math.imul(range >>> probabilityBits, p);
      shift = shifts[seen];
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        model[index] = slot + countSteps[seen] + ((one - p) >>> shift);
        bit = 0;
      } else {
        code = (code - bound) | 0;
        range = (range - bound) | 0;
        model[index] = slot + countSteps[seen] - (p >>> shift);
        bit = 1;
      }
      while (range >>> topBits === 0) {
        range <<= 8;
        code = (code << 8) | (position < end ? bytes[position++] : 0);
      }
      residual = bit === 0 ? -magnitude : magnitude;
      signBefore = bit * 2;
    }

    // ---- the value, and the predictor's state after it (as update does)
    const value = prediction + residual;
    out[i] = value;
    if (kind === PREDICT_LEVEL) {
      // The level predictor's step, as in predictionResiduals.
      const off = value - level;
      const distance = off < 0 ? -off : off;
      const limit = LEVEL_JUMP_STEPS * meanStep + LEVEL_JUMP_FLOOR;
      if (levelSeen === 0 || distance > limit) {
        level = value;
        levelSeen = 1;
      } else if (levelSeen >= LEVEL_WINDOW - 1) {
        levelSeen = LEVEL_WINDOW;
        level += off * LEVEL_WINDOW_RECIPROCAL;
      } else {
        levelSeen = levelSeen + 1;
        level += off / levelSeen;
      }
      const stepOff = value - previous;
      const step = stepOff < 0 ? -stepOff : stepOff;
      meanStep = meanStep + ((step < limit ? step : limit) - meanStep) * STEP_FOLLOW;
    } else if (kind === PREDICT_SAME_ROW && referenceValue === referenceValue) {
      offset = value - referenceValue;
    }
    previous = value;
  }
  decoder.position = position;
  decoder.range = range >>> 0;
  decoder.code = code >>> 0;
}

function corrupt(reason: string): ChunkCorruptError {
  return new ChunkCorruptError(`corrupt chunk blob: ${reason}`);
}
