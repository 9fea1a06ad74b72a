import { catalogueRecord, METRIC_MINIMUM } from "../../telemetry/metric-catalogue";
import { compileFunction, perMetric } from "../per-metric-code";
import type { GpuInfo, GpuSample, MetricKey } from "../../telemetry/types";

/**
 * What storage can hold exactly, checked where a source (or an import) hands a
 * reading over: one value a GPU, a driver or a file gets wrong must cost that
 * value, never the recording. A value outside these bounds is stored as missing
 * and reported through `onRejected`; every other value is kept as storage will
 * give it back (rounded to its metric's declared decimals).
 */

/** Largest magnitude, once scaled to an integer, that SQLite and the chunk codec both read back exactly. */
const MAX_SCALED_MAGNITUDE = Number.MAX_SAFE_INTEGER;

const SCALES = catalogueRecord((metric) => 10 ** metric.decimals);

/** Timestamps the chunk codec keeps exact (±2^50 ms, about 35,000 years either side of 1970). */
const MAX_TIMESTAMP_MAGNITUDE = 2 ** 50;

export type RejectedField = MetricKey | "timestamp" | "index";

/** GPU indices the API can name (gpuIndex accepts 0-1023); a machine has at most a few dozen. */
export const MAX_GPU_INDEX = 1023;
/** Longest GPU name kept: real ones are under 40 characters, a damaged file's can be anything. */
const MAX_NAME_LENGTH = 200;

export type RejectionListener = (sample: GpuSample, field: RejectedField, value: unknown) => void;

/**
 * The value as storage keeps it: null for a missing one, the value rounded to
 * the metric's decimals, or undefined when storage cannot hold it exactly
 * (not a number, not finite, below the metric's minimum, beyond ±2^53 once scaled).
 */
export function storableValue(key: MetricKey, value: unknown): number | null | undefined {
  return storableNumber(value, SCALES[key], METRIC_MINIMUM[key]);
}

/** storableValue for a metric of this scale and minimum. */
function storableNumber(value: unknown, scale: number, minimum: number): number | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number" || value !== value) return undefined;
  // + 0 turns -0 into 0, which is what SQLite and the codec give back.
  const scaled = Math.round(value * scale) + 0;
  if (!(Math.abs(scaled) <= MAX_SCALED_MAGNITUDE) || value < minimum) return undefined;
  return scale === 1 ? scaled : scaled / scale;
}

/**
 * The metrics part of storableSample: storableNumber written out once per
 * metric with its scale and minimum (per-metric-code.ts), as every sample of
 * every source and import goes through it, and the store checks each again.
 */
const storableMetrics = compileFunction<(sample: GpuSample, onRejected: RejectionListener) => GpuSample>(
  "storableMetrics",
  ["sample", "onRejected"],
  `let copy = null;
let value;
let stored;
let scaled;
${perMetric((metric) => {
  const scale = 10 ** metric.decimals;
  return `value = sample.${metric.key};
if (value === null || value === undefined) stored = null;
else if (typeof value !== "number" || value !== value) stored = undefined;
else {
  scaled = Math.round(value * ${scale}) + 0;
  stored = !(Math.abs(scaled) <= ${MAX_SCALED_MAGNITUDE}) || value < ${metric.minimum} ? undefined : ${scale === 1 ? "scaled" : `scaled / ${scale}`};
}
if (stored !== value) {
  if (stored === undefined) onRejected(sample, "${metric.key}", value);
  if (copy === null) copy = { ...sample };
  copy.${metric.key} = stored ?? null;
}`;
})}
return copy ?? sample;`,
);

/** A whole epoch-ms time within the codec's range. */
export function storableTimestamp(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= MAX_TIMESTAMP_MAGNITUDE;
}

/**
 * The sample as storage will hold it: the same object when every value is
 * already storable (the usual case costs no allocation), a copy with the
 * unstorable values set to null otherwise, or null when its timestamp itself
 * cannot be stored or lies after `notAfter` (reported as the field `timestamp`):
 * a sample stamped in the future would sit ahead of every later one.
 */
export function storableSample(sample: GpuSample, onRejected: RejectionListener, notAfter = Infinity): GpuSample | null {
  if (!storableTimestamp(sample.timestamp) || sample.timestamp > notAfter) {
    onRejected(sample, "timestamp", sample.timestamp);
    return null;
  }
  if (!storableIndex(sample.index)) {
    onRejected(sample, "index", sample.index);
    return null;
  }
  return storableMetrics(sample, onRejected);
}

export const storableIndex = (index: unknown): index is number =>
  typeof index === "number" && Number.isInteger(index) && index >= 0 && index <= MAX_GPU_INDEX;

/**
 * A GPU's facts as storage keeps them: a value it cannot hold becomes null, a
 * name is cut to a sensible length; null when the GPU cannot be told apart
 * (no usable index). Each such fact is read back by the pages through Prisma,
 * which refuses a whole table that holds one.
 */
export function storableGpuInfo(info: GpuInfo): GpuInfo | null {
  if (!storableIndex(info.index) || typeof info.uuid !== "string") return null;
  const name = typeof info.name === "string" ? info.name.slice(0, MAX_NAME_LENGTH) : `GPU ${info.index}`;
  const driverVersion = typeof info.driverVersion === "string" ? info.driverVersion.slice(0, MAX_NAME_LENGTH) : null;
  return {
    uuid: info.uuid,
    index: info.index,
    name,
    memoryTotalMib: storableValue("memoryTotalMib", info.memoryTotalMib) ?? null,
    powerLimitW: storableValue("powerLimitW", info.powerLimitW) ?? null,
    maxGraphicsClockMhz: storableValue("maxGraphicsClockMhz", info.maxGraphicsClockMhz) ?? null,
    maxMemoryClockMhz: storableValue("maxMemoryClockMhz", info.maxMemoryClockMhz) ?? null,
    baseClockMhz: storableValue("baseClockMhz", info.baseClockMhz) ?? null,
    driverVersion,
  };
}

/** A rejected value in words for logs and status: `1e+20`, `NaN`, `"12 W"`. */
export function describeRejectedValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}`;
  return String(value);
}
