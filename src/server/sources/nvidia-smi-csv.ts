/**
 * Parsing of `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]` output.
 * Pure functions: no I/O, no processes. Nothing here throws on bad input; a line that
 * cannot be read comes back as `{ ok: false, error }` so the caller can count and skip it.
 */
import { CLOCK_EVENT_REASON_BITS } from "../../telemetry/clock-event-reasons";
import type { GpuExtraReadings, GpuInfo, GpuMetrics, MetricKey } from "../../telemetry/types";

// ---------------------------------------------------------------------------
// Field catalogue
// ---------------------------------------------------------------------------

type NumberInfoKey =
  | "memoryTotalMib"
  | "powerLimitW"
  | "maxGraphicsClockMhz"
  | "maxMemoryClockMhz"
  | "baseClockMhz"
  | "applicationsGraphicsClockMhz"
  | "applicationsMemoryClockMhz";
type TextInfoKey = "name" | "driverVersion";
type NumberExtraKey = Exclude<keyof GpuExtraReadings, "pciBusId" | EnumExtraKey>;
type EnumExtraKey = "computeMode" | "recoveryAction";

interface SmiFieldBase {
  /** The long name, as nvidia-smi prints it in the CSV header. */
  name: string;
  /** Other spellings `--query-gpu` accepts: short forms and names from older drivers. */
  aliases: readonly string[];
  /** Unit nvidia-smi appends to values (and puts in the header as ` [unit]`) unless `nounits`. */
  unit: string | null;
}

/** Decimal numbers (`78.88 W`), `0x...` bitmasks, `P0`..`P15` performance states. */
export interface SmiNumberField extends SmiFieldBase {
  kind: "number" | "hexMask" | "pstate";
  identity?: "index";
  infoKey?: NumberInfoKey;
  metricKey?: MetricKey;
  /** Where a reading that storage does not keep goes (served by /metrics only). */
  extraKey?: NumberExtraKey;
  /** Fills its keys only when the preferred field is missing or N/A (power.limit vs enforced). */
  isFallback?: true;
}

export interface SmiTextField extends SmiFieldBase {
  kind: "text";
  identity?: "uuid";
  infoKey?: TextInfoKey;
  extraKey?: "pciBusId";
}

export interface SmiTimestampField extends SmiFieldBase {
  kind: "timestamp";
}

/** One `Active` / `Not Active` clock event reason; stands for one bit of the `.active` mask. */
export interface SmiReasonFlagField extends SmiFieldBase {
  kind: "reasonFlag";
  reasonBit: number;
}

/** A word from a fixed list (`Default`, `Exclusive_Process`), read as its number; a word not on the list reads as not reported. */
export interface SmiEnumField extends SmiFieldBase {
  kind: "enum";
  values: Readonly<Record<string, number>>;
  extraKey: EnumExtraKey;
}

export type SmiField = SmiNumberField | SmiTextField | SmiTimestampField | SmiReasonFlagField | SmiEnumField;

const reasonFlag = (reason: keyof typeof CLOCK_EVENT_REASON_BITS, suffix: string): SmiReasonFlagField => ({
  name: `clocks_event_reasons.${suffix}`,
  // Drivers before 530 only know the "throttle" spelling.
  aliases: [`clocks_throttle_reasons.${suffix}`],
  unit: null,
  kind: "reasonFlag",
  reasonBit: CLOCK_EVENT_REASON_BITS[reason],
});

/** Every `--query-gpu` field this project reads, and where its value goes. */
export const SMI_FIELDS: readonly SmiField[] = [
  { name: "timestamp", aliases: [], unit: null, kind: "timestamp" },
  { name: "index", aliases: [], unit: null, kind: "number", identity: "index" },
  { name: "uuid", aliases: ["gpu_uuid"], unit: null, kind: "text", identity: "uuid" },
  { name: "name", aliases: ["gpu_name"], unit: null, kind: "text", infoKey: "name" },
  { name: "driver_version", aliases: [], unit: null, kind: "text", infoKey: "driverVersion" },
  { name: "memory.total", aliases: [], unit: "MiB", kind: "number", infoKey: "memoryTotalMib", metricKey: "memoryTotalMib" },
  { name: "memory.used", aliases: [], unit: "MiB", kind: "number", metricKey: "memoryUsedMib" },
  { name: "memory.reserved", aliases: [], unit: "MiB", kind: "number", extraKey: "memoryReservedMib" },
  { name: "pci.bus_id", aliases: ["gpu_bus_id"], unit: null, kind: "text", extraKey: "pciBusId" },
  {
    name: "enforced.power.limit",
    aliases: ["gpu.power.current_limit"],
    unit: "W",
    kind: "number",
    infoKey: "powerLimitW",
    metricKey: "powerLimitW",
  },
  {
    name: "power.limit",
    aliases: ["gpu.power.requested_limit"],
    unit: "W",
    kind: "number",
    infoKey: "powerLimitW",
    metricKey: "powerLimitW",
    isFallback: true,
  },
  { name: "power.draw", aliases: [], unit: "W", kind: "number", metricKey: "powerDrawW" },
  { name: "temperature.gpu", aliases: [], unit: null, kind: "number", metricKey: "temperatureC" },
  { name: "temperature.memory", aliases: [], unit: null, kind: "number", metricKey: "memoryTemperatureC" },
  { name: "fan.speed", aliases: [], unit: "%", kind: "number", metricKey: "fanSpeedPct" },
  { name: "clocks.current.graphics", aliases: ["clocks.gr"], unit: "MHz", kind: "number", metricKey: "graphicsClockMhz" },
  { name: "clocks.current.sm", aliases: ["clocks.sm"], unit: "MHz", kind: "number", metricKey: "smClockMhz" },
  { name: "clocks.current.memory", aliases: ["clocks.mem"], unit: "MHz", kind: "number", metricKey: "memoryClockMhz" },
  { name: "clocks.current.video", aliases: ["clocks.video"], unit: "MHz", kind: "number", metricKey: "videoClockMhz" },
  {
    name: "clocks.default_applications.graphics",
    aliases: ["clocks.default_applications.gr"],
    unit: "MHz",
    kind: "number",
    infoKey: "baseClockMhz",
    metricKey: "baseClockMhz",
  },
  {
    name: "clocks.applications.graphics",
    aliases: ["clocks.applications.gr"],
    unit: "MHz",
    kind: "number",
    infoKey: "applicationsGraphicsClockMhz",
  },
  {
    name: "clocks.applications.memory",
    aliases: ["clocks.applications.mem"],
    unit: "MHz",
    kind: "number",
    infoKey: "applicationsMemoryClockMhz",
  },
  {
    name: "clocks.max.graphics",
    aliases: ["clocks.max.gr"],
    unit: "MHz",
    kind: "number",
    infoKey: "maxGraphicsClockMhz",
    metricKey: "maxGraphicsClockMhz",
  },
  {
    name: "clocks.max.memory",
    aliases: ["clocks.max.mem"],
    unit: "MHz",
    kind: "number",
    infoKey: "maxMemoryClockMhz",
    metricKey: "maxMemoryClockMhz",
  },
  {
    name: "clocks_event_reasons.active",
    aliases: ["clocks_throttle_reasons.active"],
    unit: null,
    kind: "hexMask",
    metricKey: "clockEventReasons",
  },
  reasonFlag("idle", "gpu_idle"),
  reasonFlag("applicationsClocksSetting", "applications_clocks_setting"),
  reasonFlag("swPowerCap", "sw_power_cap"),
  reasonFlag("hwSlowdown", "hw_slowdown"),
  reasonFlag("syncBoost", "sync_boost"),
  reasonFlag("swThermalSlowdown", "sw_thermal_slowdown"),
  reasonFlag("hwThermalSlowdown", "hw_thermal_slowdown"),
  reasonFlag("hwPowerBrakeSlowdown", "hw_power_brake_slowdown"),
  { name: "utilization.gpu", aliases: [], unit: "%", kind: "number", metricKey: "gpuUtilizationPct" },
  { name: "utilization.memory", aliases: [], unit: "%", kind: "number", metricKey: "memoryUtilizationPct" },
  { name: "utilization.encoder", aliases: [], unit: "%", kind: "number", extraKey: "encoderUtilizationPct" },
  { name: "utilization.decoder", aliases: [], unit: "%", kind: "number", extraKey: "decoderUtilizationPct" },
  { name: "pstate", aliases: [], unit: null, kind: "pstate", metricKey: "pstate" },
  {
    name: "compute_mode",
    aliases: [],
    unit: null,
    kind: "enum",
    values: { Default: 0, Exclusive_Thread: 1, Prohibited: 2, Exclusive_Process: 3 },
    extraKey: "computeMode",
  },
  {
    name: "gpu_recovery_action",
    aliases: [],
    unit: null,
    kind: "enum",
    // NVML's nvmlDeviceGpuRecoveryAction_t, as nvidia-smi spells it.
    values: { None: 0, Reset: 1, Reboot: 2, "Drain P2P": 3, "Drain and Reset": 4 },
    extraKey: "recoveryAction",
  },
];

const FIELDS_BY_NAME = new Map<string, SmiField>(
  SMI_FIELDS.flatMap((field) => [field.name, ...field.aliases].map((name) => [name, field] as const)),
);

/** The catalogue entry for a long name or alias; null for fields this project does not read. */
export function findSmiField(name: string): SmiField | null {
  return FIELDS_BY_NAME.get(name.trim()) ?? null;
}

/** Facts that do not change: queried once at start (and when a GPU appears). */
export const STATIC_QUERY_FIELDS: readonly string[] = [
  "index",
  "uuid",
  "name",
  "memory.total",
  "power.limit",
  "enforced.power.limit",
  "clocks.max.graphics",
  "clocks.max.memory",
  "clocks.default_applications.graphics",
  "clocks.applications.graphics",
  "clocks.applications.memory",
  "driver_version",
  "pci.bus_id",
  // Set by the driver at load or by an administrator: read with the facts, not every tick.
  "memory.reserved",
  "compute_mode",
];

/** Only what changes tick to tick: static fields are the expensive ones to read. */
export const LOOP_QUERY_FIELDS: readonly string[] = [
  "index",
  "uuid",
  "timestamp",
  "temperature.gpu",
  "temperature.memory",
  "fan.speed",
  "power.draw",
  "enforced.power.limit",
  "clocks.gr",
  "clocks.sm",
  "clocks.mem",
  "clocks.video",
  "clocks_event_reasons.active",
  "utilization.gpu",
  "utilization.memory",
  "memory.used",
  "pstate",
  "utilization.encoder",
  "utilization.decoder",
  // Changes when something goes wrong, which is when it matters.
  "gpu_recovery_action",
];

// ---------------------------------------------------------------------------
// Unknown fields (older drivers, other platforms)
// ---------------------------------------------------------------------------

const UNKNOWN_FIELD_MESSAGE = /Field "([^"]*)" is not a valid field to query\./;

/** The field named by `Field "x" is not a valid field to query.`, or null if the text is not that error. */
export function parseUnknownFieldError(output: string): string | null {
  return UNKNOWN_FIELD_MESSAGE.exec(output)?.[1] ?? null;
}

function olderNameOf(field: string): string | null {
  if (field.startsWith("clocks_event_reasons.")) {
    return `clocks_throttle_reasons.${field.slice("clocks_event_reasons.".length)}`;
  }
  if (field === "enforced.power.limit") return "power.limit";
  return null;
}

/**
 * The query to retry after nvidia-smi rejected `unknownField`: the field swapped for the
 * spelling older drivers use when there is one (and it is not queried already), otherwise
 * dropped. Null when the field is not in the list, so a retry loop cannot spin forever.
 */
export function fieldsWithoutUnknown(fields: readonly string[], unknownField: string): string[] | null {
  if (!fields.includes(unknownField)) return null;
  const older = olderNameOf(unknownField);
  const substitute = older !== null && !fields.includes(older) ? older : null;
  const result: string[] = [];
  for (const field of fields) {
    if (field !== unknownField) result.push(field);
    else if (substitute !== null && !result.includes(substitute)) result.push(substitute);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Header and columns
// ---------------------------------------------------------------------------

export interface CsvColumn {
  /** Field name as printed, without the ` [unit]` suffix. */
  name: string;
  /** Unit from the header's ` [unit]`, or the catalogue's for header-less output. */
  unit: string | null;
  /** Catalogue entry; null for columns this project reads past. */
  field: SmiField | null;
}

const HEADER_CELL = /^(.*?)\s*\[([^\]]*)\]$/;

/** Columns from a CSV header line such as `index, power.draw [W], clocks.current.graphics [MHz]`. */
export function parseCsvHeader(line: string): CsvColumn[] {
  return splitCsvLine(line.replace(/^\uFEFF/, "")).map((cell) => {
    const match = HEADER_CELL.exec(cell);
    const name = match?.[1] ?? cell;
    return { name, unit: match?.[2] ?? null, field: findSmiField(name) };
  });
}

/** Columns for `noheader` output: the order is the order the fields were queried in. */
export function columnsForQuery(fields: readonly string[]): CsvColumn[] {
  return fields.map((name) => {
    const field = findSmiField(name);
    return { name: name.trim(), unit: field?.unit ?? null, field };
  });
}

/** nvidia-smi separates values with ", "; no value of a queried field contains a comma. */
export function splitCsvLine(line: string): string[] {
  return line
    .replace(/\r$/, "")
    .split(",")
    .map((cell) => cell.trim());
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/**
 * `N/A`, `[N/A]`, `[Not Supported]`, `[Unknown Error]`, `[GPU is lost]`,
 * `[Requested functionality has been deprecated]` and any other bracketed message:
 * the card gave no value.
 */
export function isNotAvailable(raw: string): boolean {
  const text = raw.trim();
  return text === "N/A" || /^\[.*\]$/.test(text);
}

export type SmiValue = number | string | boolean | null;
export type ParsedValue<T extends SmiValue = SmiValue> = { ok: true; value: T | null } | { ok: false; error: string };

const NUMBER_WITH_UNIT = /^([-+]?\d+(?:\.\d+)?)(?:\s*([A-Za-z%]+))?$/;

function parseNumberCell(raw: string, expectedUnit: string | null): ParsedValue<number> {
  const match = NUMBER_WITH_UNIT.exec(raw);
  if (!match?.[1]) return { ok: false, error: `not a number: "${raw}"` };
  const unit = match[2];
  // A foreign unit means the columns are misaligned; reading it as this field would store nonsense.
  if (unit !== undefined && expectedUnit !== null && unit !== expectedUnit) {
    return { ok: false, error: `expected ${expectedUnit}, got "${raw}"` };
  }
  return { ok: true, value: Number(match[1]) };
}

function parseHexMaskCell(raw: string): ParsedValue<number> {
  if (!/^0x[0-9a-f]+$/i.test(raw)) return { ok: false, error: `not a hex bitmask: "${raw}"` };
  return { ok: true, value: Number.parseInt(raw.slice(2), 16) };
}

function parsePstateCell(raw: string): ParsedValue<number> {
  const match = /^P(\d{1,2})$/.exec(raw);
  const state = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  if (!(state >= 0 && state <= 15)) return { ok: false, error: `not a performance state P0..P15: "${raw}"` };
  return { ok: true, value: state };
}

function parseReasonFlagCell(raw: string): ParsedValue<boolean> {
  if (raw === "Active") return { ok: true, value: true };
  if (raw === "Not Active") return { ok: true, value: false };
  return { ok: false, error: `expected "Active" or "Not Active", got "${raw}"` };
}

function parseTimestampCell(raw: string): ParsedValue<number> {
  const value = parseSmiTimestamp(raw);
  return value === null ? { ok: false, error: `not a timestamp: "${raw}"` } : { ok: true, value };
}

/** One cell's value for `field`: null when the card reported none, an error for unreadable text. */
export function parseFieldValue(field: SmiField, rawCell: string): ParsedValue {
  const raw = rawCell.trim();
  if (isNotAvailable(raw)) return { ok: true, value: null };
  switch (field.kind) {
    case "text":
      return { ok: true, value: raw === "" ? null : raw };
    case "timestamp":
      return parseTimestampCell(raw);
    case "reasonFlag":
      return parseReasonFlagCell(raw);
    case "hexMask":
      return parseHexMaskCell(raw);
    case "pstate":
      return parsePstateCell(raw);
    case "enum":
      return { ok: true, value: field.values[raw] ?? null };
    case "number":
      return parseNumberCell(raw, field.unit);
  }
}

const SMI_TIMESTAMP = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

/**
 * `2026/11/26 02:27:36.520` to epoch ms. The string carries no zone: nvidia-smi prints the
 * host's local time, so it is read as local time. Null for anything else.
 */
export function parseSmiTimestamp(text: string): number | null {
  const match = SMI_TIMESTAMP.exec(text.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Number((match[7] ?? "0").padEnd(3, "0"));
  const date = new Date(year, month - 1, day, hour, minute, second, millis);
  // Date rolls 2026/13/40 over into a later valid date; reject instead of storing a wrong time.
  const sameFields = date.getFullYear() === year && date.getMonth() === month - 1 && date.getDate() === day && date.getMinutes() === minute;
  return sameFields && hour < 24 && second < 60 ? date.getTime() : null;
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/** The GpuInfo facts a row carried; a key is present only when its column was queried. */
export type SmiInfoFields = { [K in Exclude<keyof GpuInfo, "uuid" | "index">]?: GpuInfo[K] | null };

export interface SmiGpuRow {
  /** Null when not queried or N/A; the caller decides what to do (e.g. match the GPU by index). */
  uuid: string | null;
  index: number | null;
  /** Epoch ms from the host-local `timestamp` column; null when not queried or N/A. */
  timestamp: number | null;
  info: SmiInfoFields;
  /** A key is present only when its column was queried; null means the card did not report it. */
  metrics: Partial<GpuMetrics>;
  /** The same, for readings storage does not keep. */
  extras: Partial<GpuExtraReadings>;
}

export type SmiRowResult = { ok: true; row: SmiGpuRow } | { ok: false; error: string };

const preview = (line: string): string => (line.length > 80 ? `${line.slice(0, 77)}...` : line);

interface ReasonFlags {
  columns: number;
  reported: number;
  mask: number;
}

/** One GPU's line. Never throws: wrong column counts, garbage and partial lines give `ok: false`. */
export function parseCsvRow(columns: readonly CsvColumn[], line: string): SmiRowResult {
  const fail = (error: string): SmiRowResult => ({ ok: false, error });
  if (line.trim() === "") return fail("empty line");
  const cells = splitCsvLine(line);
  if (cells.length !== columns.length) {
    return fail(`expected ${columns.length} columns, got ${cells.length}: "${preview(line)}"`);
  }

  const row: SmiGpuRow = { uuid: null, index: null, timestamp: null, info: {}, metrics: {}, extras: {} };
  const flags: ReasonFlags = { columns: 0, reported: 0, mask: 0 };
  let hasReasonMask = false;

  // Fallback columns go last so they only fill what the preferred columns left empty.
  const order = columns
    .map((column, position) => ({ column, position }))
    .sort((a, b) => Number(isFallback(a.column.field)) - Number(isFallback(b.column.field)));

  for (const { column, position } of order) {
    const field = column.field;
    if (field === null) continue;
    const parsed = parseFieldValue(field, cells[position] ?? "");
    if (!parsed.ok) return fail(`column ${position + 1} (${column.name}): ${parsed.error}`);
    const value = parsed.value;
    if (field.kind === "number" && field.identity === "index" && value !== null && !Number.isInteger(value)) {
      return fail(`column ${position + 1} (${column.name}): not a GPU index: "${cells[position] ?? ""}"`);
    }
    switch (field.kind) {
      case "timestamp":
        row.timestamp = typeof value === "number" ? value : null;
        break;
      case "text": {
        const text = typeof value === "string" ? value : null;
        if (field.identity === "uuid") row.uuid = text;
        if (field.infoKey !== undefined) row.info[field.infoKey] = text;
        if (field.extraKey !== undefined) row.extras[field.extraKey] = text;
        break;
      }
      case "enum":
        row.extras[field.extraKey] = typeof value === "number" ? value : null;
        break;
      case "reasonFlag":
        flags.columns += 1;
        if (typeof value === "boolean") {
          flags.reported += 1;
          if (value) flags.mask |= field.reasonBit;
        }
        break;
      default:
        if (field.metricKey === "clockEventReasons") hasReasonMask = true;
        assignNumber(row, field, typeof value === "number" ? value : null);
    }
  }

  if (!hasReasonMask && flags.columns > 0) {
    row.metrics.clockEventReasons = flags.reported > 0 ? flags.mask : null;
  }
  if (row.uuid === null && row.index === null) {
    return fail(`row names no GPU (no uuid and no index): "${preview(line)}"`);
  }
  return { ok: true, row };
}

function isFallback(field: SmiField | null): boolean {
  return field !== null && "isFallback" in field && field.isFallback === true;
}

function assignNumber(row: SmiGpuRow, field: SmiNumberField, value: number | null): void {
  if (field.identity === "index") row.index = value;
  const { infoKey, metricKey } = field;
  if (infoKey !== undefined && !(field.isFallback && row.info[infoKey] != null)) {
    row.info[infoKey] = value;
  }
  if (metricKey !== undefined && !(field.isFallback && row.metrics[metricKey] != null)) {
    row.metrics[metricKey] = value;
  }
  if (field.extraKey !== undefined) row.extras[field.extraKey] = value;
}
