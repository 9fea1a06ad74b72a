/**
 * Moves chunk rows to and from a column-major table: one Float64Array holding every metric
 * column back to back (column c, in METRIC_KEYS order, starts at c * rowCount), NaN for null.
 *
 * Every key is spelled out: reading `row[key]` with a varying key, allocating one typed array
 * per column, and assigning row keys in a loop were each measurably the slow part of the codec.
 */
import { METRIC_KEYS, type GpuMetrics, type MetricKey } from "../../telemetry/types";

export type ChunkRow = { timestamp: number } & GpuMetrics;

export const METRIC_COLUMN_COUNT = METRIC_KEYS.length;

const COLUMN_OF = Object.fromEntries(METRIC_KEYS.map((key, column) => [key, column])) as Record<MetricKey, number>;

let scratch = new Float64Array(METRIC_COLUMN_COUNT * 1024);

/**
 * A table for `rowCount` rows, shared by every caller: valid only until the next call, which
 * is safe because the codec uses it synchronously and never across an await.
 */
export function columnScratch(rowCount: number): Float64Array {
  const needed = METRIC_COLUMN_COUNT * rowCount;
  if (scratch.length < needed) scratch = new Float64Array(needed);
  return scratch;
}

/** Metric values of `rows` as a column table (see columnScratch for its lifetime). */
export function rowsToColumns(rows: readonly ChunkRow[]): Float64Array {
  const rowCount = rows.length;
  const table = columnScratch(rowCount);
  const temperatureC = COLUMN_OF.temperatureC * rowCount;
  const memoryTemperatureC = COLUMN_OF.memoryTemperatureC * rowCount;
  const fanSpeedPct = COLUMN_OF.fanSpeedPct * rowCount;
  const powerDrawW = COLUMN_OF.powerDrawW * rowCount;
  const powerLimitW = COLUMN_OF.powerLimitW * rowCount;
  const graphicsClockMhz = COLUMN_OF.graphicsClockMhz * rowCount;
  const smClockMhz = COLUMN_OF.smClockMhz * rowCount;
  const memoryClockMhz = COLUMN_OF.memoryClockMhz * rowCount;
  const videoClockMhz = COLUMN_OF.videoClockMhz * rowCount;
  const baseClockMhz = COLUMN_OF.baseClockMhz * rowCount;
  const maxGraphicsClockMhz = COLUMN_OF.maxGraphicsClockMhz * rowCount;
  const maxMemoryClockMhz = COLUMN_OF.maxMemoryClockMhz * rowCount;
  const clockEventReasons = COLUMN_OF.clockEventReasons * rowCount;
  const gpuUtilizationPct = COLUMN_OF.gpuUtilizationPct * rowCount;
  const memoryUtilizationPct = COLUMN_OF.memoryUtilizationPct * rowCount;
  const memoryUsedMib = COLUMN_OF.memoryUsedMib * rowCount;
  const memoryTotalMib = COLUMN_OF.memoryTotalMib * rowCount;
  const pstate = COLUMN_OF.pstate * rowCount;
  for (let i = 0; i < rowCount; i++) {
    const row = rows[i];
    table[temperatureC + i] = row.temperatureC ?? NaN;
    table[memoryTemperatureC + i] = row.memoryTemperatureC ?? NaN;
    table[fanSpeedPct + i] = row.fanSpeedPct ?? NaN;
    table[powerDrawW + i] = row.powerDrawW ?? NaN;
    table[powerLimitW + i] = row.powerLimitW ?? NaN;
    table[graphicsClockMhz + i] = row.graphicsClockMhz ?? NaN;
    table[smClockMhz + i] = row.smClockMhz ?? NaN;
    table[memoryClockMhz + i] = row.memoryClockMhz ?? NaN;
    table[videoClockMhz + i] = row.videoClockMhz ?? NaN;
    table[baseClockMhz + i] = row.baseClockMhz ?? NaN;
    table[maxGraphicsClockMhz + i] = row.maxGraphicsClockMhz ?? NaN;
    table[maxMemoryClockMhz + i] = row.maxMemoryClockMhz ?? NaN;
    table[clockEventReasons + i] = row.clockEventReasons ?? NaN;
    table[gpuUtilizationPct + i] = row.gpuUtilizationPct ?? NaN;
    table[memoryUtilizationPct + i] = row.memoryUtilizationPct ?? NaN;
    table[memoryUsedMib + i] = row.memoryUsedMib ?? NaN;
    table[memoryTotalMib + i] = row.memoryTotalMib ?? NaN;
    table[pstate + i] = row.pstate ?? NaN;
  }
  return table;
}

function valueOrNull(value: number): number | null {
  return value !== value ? null : value;
}

/** Rebuilds rows; each is one object literal, so all share a shape and cost one allocation. */
export function columnsToRows(timestamps: readonly number[], table: Float64Array): ChunkRow[] {
  const rowCount = timestamps.length;
  const temperatureC = COLUMN_OF.temperatureC * rowCount;
  const memoryTemperatureC = COLUMN_OF.memoryTemperatureC * rowCount;
  const fanSpeedPct = COLUMN_OF.fanSpeedPct * rowCount;
  const powerDrawW = COLUMN_OF.powerDrawW * rowCount;
  const powerLimitW = COLUMN_OF.powerLimitW * rowCount;
  const graphicsClockMhz = COLUMN_OF.graphicsClockMhz * rowCount;
  const smClockMhz = COLUMN_OF.smClockMhz * rowCount;
  const memoryClockMhz = COLUMN_OF.memoryClockMhz * rowCount;
  const videoClockMhz = COLUMN_OF.videoClockMhz * rowCount;
  const baseClockMhz = COLUMN_OF.baseClockMhz * rowCount;
  const maxGraphicsClockMhz = COLUMN_OF.maxGraphicsClockMhz * rowCount;
  const maxMemoryClockMhz = COLUMN_OF.maxMemoryClockMhz * rowCount;
  const clockEventReasons = COLUMN_OF.clockEventReasons * rowCount;
  const gpuUtilizationPct = COLUMN_OF.gpuUtilizationPct * rowCount;
  const memoryUtilizationPct = COLUMN_OF.memoryUtilizationPct * rowCount;
  const memoryUsedMib = COLUMN_OF.memoryUsedMib * rowCount;
  const memoryTotalMib = COLUMN_OF.memoryTotalMib * rowCount;
  const pstate = COLUMN_OF.pstate * rowCount;
  const rows = new Array<ChunkRow>(rowCount);
  for (let i = 0; i < rowCount; i++) {
    rows[i] = {
      timestamp: timestamps[i],
      temperatureC: valueOrNull(table[temperatureC + i]),
      memoryTemperatureC: valueOrNull(table[memoryTemperatureC + i]),
      fanSpeedPct: valueOrNull(table[fanSpeedPct + i]),
      powerDrawW: valueOrNull(table[powerDrawW + i]),
      powerLimitW: valueOrNull(table[powerLimitW + i]),
      graphicsClockMhz: valueOrNull(table[graphicsClockMhz + i]),
      smClockMhz: valueOrNull(table[smClockMhz + i]),
      memoryClockMhz: valueOrNull(table[memoryClockMhz + i]),
      videoClockMhz: valueOrNull(table[videoClockMhz + i]),
      baseClockMhz: valueOrNull(table[baseClockMhz + i]),
      maxGraphicsClockMhz: valueOrNull(table[maxGraphicsClockMhz + i]),
      maxMemoryClockMhz: valueOrNull(table[maxMemoryClockMhz + i]),
      clockEventReasons: valueOrNull(table[clockEventReasons + i]),
      gpuUtilizationPct: valueOrNull(table[gpuUtilizationPct + i]),
      memoryUtilizationPct: valueOrNull(table[memoryUtilizationPct + i]),
      memoryUsedMib: valueOrNull(table[memoryUsedMib + i]),
      memoryTotalMib: valueOrNull(table[memoryTotalMib + i]),
      pstate: valueOrNull(table[pstate + i]),
    };
  }
  return rows;
}
