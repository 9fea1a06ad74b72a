/**
 * Every metric the recorder keeps, defined once. Storage columns, the chunk codec, the
 * summaries, the REST and tRPC records, the JSON writer and `/metrics` are all derived from
 * this table, so a new metric is one entry here plus the line in each source that reads it
 * (docs/storage-format.md has the checklist).
 *
 * The table is append-only: an entry's position is its column in every stored chunk and
 * summary (`column` states it, and tests/unit/storage-format.test.ts holds it to chunks
 * written by earlier builds). Reordering, removing or re-scaling an entry would make stored
 * data read as another metric, or at another scale.
 */

export type MetricType = "integer" | "float" | "bitmask";

export interface MetricDefinition {
  /** Name in code and in the tRPC API (camelCase, a valid identifier). */
  key: string;
  /** Name in REST records, the CSV export and the WebSocket stream (snake_case). */
  restName: string;
  /** Position among the stored columns: always the entry's index in the catalogue. */
  column: number;
  unit: "C" | "%" | "W" | "MHz" | "MiB" | "";
  /** Digits kept after the point: values are stored as integers scaled by 10^decimals. */
  decimals: number;
  type: MetricType;
  /** Smallest value storage accepts; anything lower is a misreading and stored as missing. */
  minimum: number;
  description: string;
  /** dcgm-exporter's name and help for it, where dcgm-exporter has one. */
  prometheus?: { name: string; help: string };
}

/** Temperatures may go below zero, down to absolute zero; no other metric can be negative. */
const ABSOLUTE_ZERO_C = -273;

export const METRIC_CATALOGUE = [
  {
    key: "temperatureC",
    restName: "temperature",
    column: 0,
    unit: "C",
    decimals: 0,
    type: "integer",
    minimum: ABSOLUTE_ZERO_C,
    description: "GPU core temperature.",
    prometheus: { name: "DCGM_FI_DEV_GPU_TEMP", help: "GPU temperature (in C)." },
  },
  {
    key: "memoryTemperatureC",
    restName: "memory_temperature",
    column: 1,
    unit: "C",
    decimals: 0,
    type: "integer",
    minimum: ABSOLUTE_ZERO_C,
    description: "Memory (HBM) temperature.",
    prometheus: { name: "DCGM_FI_DEV_MEMORY_TEMP", help: "Memory temperature (in C)." },
  },
  {
    key: "fanSpeedPct",
    restName: "fan_speed",
    column: 2,
    unit: "%",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Fan speed, percent of its maximum.",
  },
  // nvidia-smi prints watts with two decimals.
  {
    key: "powerDrawW",
    restName: "power_draw",
    column: 3,
    unit: "W",
    decimals: 2,
    type: "float",
    minimum: 0,
    description: "Board power draw.",
    prometheus: { name: "DCGM_FI_DEV_POWER_USAGE", help: "Power draw (in W)." },
  },
  {
    key: "powerLimitW",
    restName: "power_limit",
    column: 4,
    unit: "W",
    decimals: 2,
    type: "float",
    minimum: 0,
    description: "Enforced board power limit.",
    prometheus: { name: "DCGM_FI_DEV_POWER_MGMT_LIMIT", help: "Power management limit (in W)." },
  },
  {
    key: "graphicsClockMhz",
    restName: "core_clock",
    column: 5,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Graphics clock.",
  },
  {
    key: "smClockMhz",
    restName: "sm_clock",
    column: 6,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "SM clock.",
    prometheus: { name: "DCGM_FI_DEV_SM_CLOCK", help: "SM clock frequency (in MHz)." },
  },
  {
    key: "memoryClockMhz",
    restName: "memory_clock",
    column: 7,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Memory clock.",
    prometheus: { name: "DCGM_FI_DEV_MEM_CLOCK", help: "Memory clock frequency (in MHz)." },
  },
  {
    key: "videoClockMhz",
    restName: "video_clock",
    column: 8,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Video encoder/decoder clock.",
  },
  {
    key: "baseClockMhz",
    restName: "base_clock",
    column: 9,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Default applications (base) graphics clock.",
  },
  {
    key: "maxGraphicsClockMhz",
    restName: "max_core_clock",
    column: 10,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Highest graphics clock the card allows.",
  },
  {
    key: "maxMemoryClockMhz",
    restName: "max_memory_clock",
    column: 11,
    unit: "MHz",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Highest memory clock the card allows.",
  },
  {
    key: "clockEventReasons",
    restName: "clock_event_reasons",
    column: 12,
    unit: "",
    decimals: 0,
    type: "bitmask",
    minimum: 0,
    description: "Raw `clocks_event_reasons.active` bitmask (see decodeClockEventReasons).",
    prometheus: { name: "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", help: "Current clock throttle reasons (bitmask)." },
  },
  {
    key: "gpuUtilizationPct",
    restName: "utilization",
    column: 13,
    unit: "%",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Share of time a kernel ran.",
    prometheus: { name: "DCGM_FI_DEV_GPU_UTIL", help: "GPU utilization (in %)." },
  },
  {
    key: "memoryUtilizationPct",
    restName: "memory_utilization",
    column: 14,
    unit: "%",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Share of time memory was read or written.",
    prometheus: { name: "DCGM_FI_DEV_MEM_COPY_UTIL", help: "Memory utilization (in %)." },
  },
  {
    key: "memoryUsedMib",
    restName: "memory_used",
    column: 15,
    unit: "MiB",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Framebuffer memory in use.",
    prometheus: { name: "DCGM_FI_DEV_FB_USED", help: "Framebuffer memory used (in MiB)." },
  },
  {
    key: "memoryTotalMib",
    restName: "memory_total",
    column: 16,
    unit: "MiB",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Framebuffer memory installed.",
  },
  {
    key: "pstate",
    restName: "pstate",
    column: 17,
    unit: "",
    decimals: 0,
    type: "integer",
    minimum: 0,
    description: "Performance state: 0 for P0 ... 15 for P15.",
  },
] as const satisfies readonly MetricDefinition[];

type Catalogue = typeof METRIC_CATALOGUE;
type Entry = Catalogue[number];

export type MetricKey = Entry["key"];
export type MetricRestName = Entry["restName"];
/** The REST name of each metric, by key. */
export type RestNameOf<K extends MetricKey> = Extract<Entry, { key: K }>["restName"];

/** Every metric key, in catalogue order: the order storage encodes them in. */
export const METRIC_KEYS = METRIC_CATALOGUE.map((metric) => metric.key) as unknown as KeysOf<Catalogue>;

/** Generic, so that mapping the catalogue's tuple type gives a tuple (z.enum needs one). */
type KeysOf<T extends readonly MetricDefinition[]> = { readonly [I in keyof T]: T[I] extends { key: infer K } ? K : never };

/** Decimal places a metric carries. */
export const METRIC_DECIMALS = catalogueRecord((metric) => metric.decimals);

/** Smallest storable value of each metric. */
export const METRIC_MINIMUM = catalogueRecord((metric) => metric.minimum);

/** One value per metric, by key, read from its definition. */
export function catalogueRecord<T>(valueOf: (metric: MetricDefinition) => T): Record<MetricKey, T> {
  return Object.fromEntries(METRIC_CATALOGUE.map((metric) => [metric.key, valueOf(metric)])) as Record<MetricKey, T>;
}
