import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { clockEventReasonWords, decodeClockEventReasons } from "../../src/telemetry/clock-event-reasons";
import { parseComputeAppsCsv } from "../../src/server/sources/nvidia-smi-apps";
import {
  columnsForQuery,
  type CsvColumn,
  fieldsWithoutUnknown,
  findSmiField,
  isNotAvailable,
  LOOP_QUERY_FIELDS,
  parseCsvHeader,
  parseCsvRow,
  parseFieldValue,
  parseSmiTimestamp,
  parseUnknownFieldError,
  SMI_FIELDS,
  type SmiGpuRow,
  splitCsvLine,
  STATIC_QUERY_FIELDS,
} from "../../src/server/sources/nvidia-smi-csv";
import { type GpuMetrics, METRIC_KEYS } from "../../src/telemetry/types";
import { fixtureLines, fixturePath, readFixture } from "../helpers/fixtures";

const H200_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
/** Written independently of the parser: what the fixtures README calls "not reported". */
const NA_LIKE = /^(N\/A|\[[^\]]*\])$/;

/** The `<F>` list of the fixtures README: the column order of q-units-idle.csv and loop-1hz.csv. */
function readmeFieldList(): string[] {
  const readme = readFixture("nvidia-smi", "README.md");
  const match = /`<F>` = ([\s\S]*?)\n\n/.exec(readme);
  if (!match?.[1]) throw new Error("README has no `<F>` list");
  return match[1].split(",").map((field) => field.trim());
}

/** The fields of the loop-100ms.csv command, as the README's table gives it. */
function loop100msFieldList(): string[] {
  const readme = readFixture("nvidia-smi", "README.md");
  const row = readme.split("\n").find((line) => line.includes("`h200/loop-100ms.csv`"));
  const match = /--query-gpu=([^ ]+)/.exec(row ?? "");
  if (!match?.[1]) throw new Error("README has no loop-100ms query");
  return match[1].split(",");
}

/** `"name"` / `"name" or "alias"` lines of --help-query-gpu: every accepted spelling to its long name. */
function helpQueryGpuNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of readFixture("nvidia-smi", "h200", "help-query-gpu.txt").split("\n")) {
    const match = /^"([^"]+)"(?: or "([^"]+)")?\s*$/.exec(line);
    if (!match?.[1]) continue;
    names.set(match[1], match[1]);
    if (match[2]) names.set(match[2], match[1]);
  }
  return names;
}

function parseOk(columns: readonly CsvColumn[], line: string): SmiGpuRow {
  const result = parseCsvRow(columns, line);
  if (!result.ok) throw new Error(`row rejected: ${result.error}`);
  return result.row;
}

/** Parsed on first use inside a test, so a parser fault fails that test rather than the whole file. */
function lazy<T>(compute: () => T): () => T {
  let value: { result: T } | null = null;
  return () => (value ??= { result: compute() }).result;
}

function expectRejected(columns: readonly CsvColumn[], line: string, messagePart: string | RegExp): void {
  const result = parseCsvRow(columns, line);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error).toMatch(messagePart);
}

/** Metrics in METRIC_KEYS order, so each expectation reads as one line. */
function metricsInKeyOrder(...values: (number | null)[]): GpuMetrics {
  expect(values).toHaveLength(METRIC_KEYS.length);
  return Object.fromEntries(METRIC_KEYS.map((key, i) => [key, values[i] ?? null])) as unknown as GpuMetrics;
}

const localTime = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number =>
  new Date(y, mo - 1, d, h, mi, s, ms).getTime();

describe("field catalogue", () => {
  const help = helpQueryGpuNames();

  it("uses only names and aliases the real nvidia-smi accepts, each alias for the same field", () => {
    expect(help.size).toBeGreaterThan(200);
    for (const field of SMI_FIELDS) {
      expect(help.get(field.name), field.name).toBe(field.name);
      for (const alias of field.aliases) expect(help.get(alias), alias).toBe(field.name);
    }
  });

  it("queries only valid, catalogued fields, and static + loop cover every metric", () => {
    expect(LOOP_QUERY_FIELDS.slice(0, 3)).toEqual(["index", "uuid", "timestamp"]);
    const covered = new Set<string>();
    for (const name of [...STATIC_QUERY_FIELDS, ...LOOP_QUERY_FIELDS]) {
      expect(help.has(name), name).toBe(true);
      const field = findSmiField(name);
      expect(field, name).not.toBeNull();
      if (field && "metricKey" in field && field.metricKey) covered.add(field.metricKey);
    }
    expect([...covered].sort()).toEqual([...METRIC_KEYS].sort());
    // The loop must not carry the expensive facts that never change.
    for (const staticOnly of ["name", "driver_version", "clocks.max.graphics", "memory.total"]) {
      expect(LOOP_QUERY_FIELDS).not.toContain(staticOnly);
    }
  });

  it("finds a field by its long name, short alias and pre-530 name alike", () => {
    expect(findSmiField("clocks.gr")).toBe(findSmiField("clocks.current.graphics"));
    expect(findSmiField("clocks_throttle_reasons.active")).toBe(findSmiField("clocks_event_reasons.active"));
    expect(findSmiField("power.draw.instant")).toBeNull();
  });
});

describe("parseCsvHeader", () => {
  it("strips units, canonicalises aliases and keeps unknown columns as ignored", () => {
    const columns = parseCsvHeader(fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[0] ?? "");
    expect(columns.map((c) => c.name)).toEqual(readmeFieldList().map((f) => findSmiField(f)?.name ?? f));
    const byName = new Map(columns.map((c) => [c.name, c]));
    expect(byName.get("clocks.current.graphics")).toMatchObject({ unit: "MHz", field: findSmiField("clocks.gr") });
    expect(byName.get("fan.speed")?.unit).toBe("%");
    expect(byName.get("temperature.gpu")?.unit).toBeNull();
    expect(byName.get("power.draw.instant")).toMatchObject({ unit: "W", field: null });
    expect(byName.get("pcie.link.gen.current")?.field).toBeNull();
  });

  it("reads older driver spellings, a BOM and CRLF line ends", () => {
    const columns = parseCsvHeader("\uFEFFindex, clocks_throttle_reasons.active, clocks.gr [MHz]\r");
    expect(columns.map((c) => [c.name, c.unit, c.field?.name ?? null])).toEqual([
      ["index", null, "index"],
      ["clocks_throttle_reasons.active", null, "clocks_event_reasons.active"],
      ["clocks.gr", "MHz", "clocks.current.graphics"],
    ]);
  });
});

describe("H200 q-units-idle.csv (header with units)", () => {
  const [header, line] = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv");
  const row = lazy(() => parseOk(parseCsvHeader(header ?? ""), line ?? ""));

  it("reads identity and the host-local timestamp", () => {
    expect(row().uuid).toBe(H200_UUID);
    expect(row().index).toBe(0);
    expect(row().timestamp).toBe(localTime(2026, 11, 26, 2, 27, 36, 520));
  });

  it("reads the static facts", () => {
    expect(row().info).toEqual({
      name: "NVIDIA H200",
      driverVersion: "580.159.04",
      memoryTotalMib: 143771,
      powerLimitW: 700,
      maxGraphicsClockMhz: 1980,
      maxMemoryClockMhz: 3201,
      baseClockMhz: 1980,
      applicationsGraphicsClockMhz: 1980,
    });
  });

  it("reads every metric: idle at 33 C, 78.88 W of 700 W, 345 MHz, reasons 0x1, fan [N/A] as null", () => {
    // temp, memTemp, fan, power, limit, gr, sm, mem, video, base, maxGr, maxMem, reasons, util, memUtil, used, total, pstate
    expect(row().metrics).toEqual(
      metricsInKeyOrder(33, 34, null, 78.88, 700, 345, 345, 3201, 765, 1980, 1980, 3201, 1, 0, 0, 0, 143771, 0),
    );
    expect(decodeClockEventReasons(row().metrics.clockEventReasons ?? null)?.idle).toBe(true);
    expect(clockEventReasonWords(row().metrics.clockEventReasons ?? null)).toEqual(["idle"]);
  });
});

describe("H200 loop-1hz.csv (noheader, nounits, the README's <F> columns)", () => {
  const columns = columnsForQuery(readmeFieldList());
  const rows = lazy(() => fixtureLines("nvidia-smi", "h200", "loop-1hz.csv").map((line) => parseOk(columns, line)));

  it("reads all 20 ticks with every metric", () => {
    expect(rows()).toHaveLength(20);
    for (const row of rows()) {
      expect(row.uuid).toBe(H200_UUID);
      expect(Object.keys(row.metrics).sort()).toEqual([...METRIC_KEYS].sort());
      expect(row.metrics).toMatchObject({ temperatureC: 33, fanSpeedPct: null, powerLimitW: 700, pstate: 0 });
      expect(row.metrics.powerDrawW).toBeGreaterThan(78.7);
      expect(row.metrics.powerDrawW).toBeLessThan(79);
      expect(row.metrics.clockEventReasons).toBe(1);
    }
    expect(rows()[0]?.metrics.powerDrawW).toBe(78.93);
  });

  it("has timestamps one second apart", () => {
    expect(rows()[0]?.timestamp).toBe(localTime(2026, 11, 26, 2, 27, 37, 389));
    for (let i = 1; i < rows().length; i += 1) {
      const step = (rows()[i]?.timestamp ?? 0) - (rows()[i - 1]?.timestamp ?? 0);
      expect(step).toBeGreaterThan(950);
      expect(step).toBeLessThan(1050);
    }
  });

  it("gives the same values as the same capture with units and a header", () => {
    const [header, line] = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv");
    const withUnits = parseOk(parseCsvHeader(header ?? ""), line ?? "");
    const firstNoUnits = parseOk(columns, (line ?? "").replace(/ (W|MHz|%|MiB)(?=,|$)/g, ""));
    expect(firstNoUnits).toEqual(withUnits);
  });
});

describe("H200 loop-100ms.csv (7 changing fields only)", () => {
  const fields = loop100msFieldList();
  const rows = lazy(() => fixtureLines("nvidia-smi", "h200", "loop-100ms.csv").map((line) => parseOk(columnsForQuery(fields), line)));

  it("reads 100 ticks without a uuid column, identified by index", () => {
    expect(fields).toEqual(["index", "timestamp", "temperature.gpu", "power.draw", "power.draw.instant", "utilization.gpu", "clocks.gr"]);
    expect(rows()).toHaveLength(100);
    for (const row of rows()) {
      expect(row.uuid).toBeNull();
      expect(row.index).toBe(0);
      expect(row.info).toEqual({});
      expect(Object.keys(row.metrics).sort()).toEqual(["gpuUtilizationPct", "graphicsClockMhz", "powerDrawW", "temperatureC"]);
    }
    expect(rows()[0]?.metrics).toEqual({ temperatureC: 31, powerDrawW: 82.03, gpuUtilizationPct: 0, graphicsClockMhz: 885 });
  });

  it("has timestamps about 100 ms apart over 10 s", () => {
    const times = rows().map((row) => row.timestamp ?? Number.NaN);
    for (let i = 1; i < times.length; i += 1) {
      const step = (times[i] ?? 0) - (times[i - 1] ?? 0);
      expect(step).toBeGreaterThanOrEqual(50);
      expect(step).toBeLessThanOrEqual(150);
    }
    const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
    expect(span).toBeGreaterThan(9_000);
    expect(span).toBeLessThan(11_000);
  });
});

describe("H200 fields-values.tsv (every field queried alone)", () => {
  const entries = fixtureLines("nvidia-smi", "h200", "fields-values.tsv").map((line) => {
    const [field = "", value = ""] = line.split("\t");
    return { field, value };
  });
  const valueOf = (name: string): string => entries.find((e) => e.field === name)?.value ?? "<missing>";

  it("parses each catalogued field to its type, and to null exactly when not reported", () => {
    const expectedType = {
      number: "number",
      hexMask: "number",
      pstate: "number",
      text: "string",
      timestamp: "number",
      reasonFlag: "boolean",
      enum: "number",
    };
    let checked = 0;
    for (const { field: name, value } of entries) {
      const field = findSmiField(name);
      if (field === null) continue;
      checked += 1;
      const parsed = parseFieldValue(field, value);
      expect(parsed.ok, `${name}=${value}`).toBe(true);
      if (!parsed.ok) continue;
      if (NA_LIKE.test(value)) expect(parsed.value, name).toBeNull();
      else expect(typeof parsed.value, `${name}=${value}`).toBe(expectedType[field.kind]);
    }
    // Every catalogued long name appears in the capture.
    expect(checked).toBe(SMI_FIELDS.length);
  });

  it("reads the values with their units", () => {
    const value = (name: string) => {
      const field = findSmiField(name);
      if (!field) throw new Error(name);
      const parsed = parseFieldValue(field, valueOf(name));
      return parsed.ok ? parsed.value : parsed.error;
    };
    expect(value("fan.speed")).toBeNull();
    expect(value("enforced.power.limit")).toBe(700);
    expect(value("power.draw")).toBe(78.93);
    expect(value("memory.total")).toBe(143771);
    expect(value("clocks.current.graphics")).toBe(405);
    expect(value("clocks_event_reasons.active")).toBe(1);
    expect(value("clocks_event_reasons.gpu_idle")).toBe(true);
    expect(value("clocks_event_reasons.sw_power_cap")).toBe(false);
    expect(value("pstate")).toBe(0);
    expect(value("timestamp")).toBe(localTime(2026, 11, 26, 2, 27, 36, 125));
    expect(value("uuid")).toBe(H200_UUID);
  });

  it("reads all 214 fields as one row, deriving the reasons mask from the flags when .active is absent", () => {
    const header = entries.map((e) => e.field).join(", ");
    const line = entries.map((e) => e.value).join(", ");
    const row = parseOk(parseCsvHeader(header), line);
    expect(row.metrics).toMatchObject({ graphicsClockMhz: 405, powerLimitW: 700, clockEventReasons: 1, fanSpeedPct: null });
    expect(row.info).toMatchObject({ name: "NVIDIA H200", driverVersion: "580.159.04" });

    const withoutMask = entries.filter((e) => e.field !== "clocks_event_reasons.active");
    const derived = parseOk(parseCsvHeader(withoutMask.map((e) => e.field).join(", ")), withoutMask.map((e) => e.value).join(", "));
    expect(derived.metrics.clockEventReasons).toBe(1);
  });
});

const PEER_FILES = readdirSync(dirname(fixturePath("peers", "README.md")))
  .filter((name) => name.endsWith(".csv"))
  .sort();

interface PeerExpectation {
  name: string;
  driverVersion: string;
  timestamps: [number, number];
  idle: GpuMetrics;
  load: GpuMetrics;
}

// Columns: temp, memTemp, fan, power, limit, gr, sm, mem, video, base, maxGr, maxMem, reasons, util, memUtil, used, total, pstate
const PEERS: Record<string, PeerExpectation> = {
  "linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.csv": {
    name: "NVIDIA GeForce RTX 4080 SUPER",
    driverVersion: "595.71.05",
    timestamps: [localTime(2026, 6, 26, 11, 59, 44, 226), localTime(2026, 6, 26, 11, 59, 58, 761)],
    idle: metricsInKeyOrder(43, null, 0, 26.2, 320, 210, 210, 405, 1185, null, 3165, 11501, 1, 0, 23, 596, 16376, 8),
    load: metricsInKeyOrder(46, null, 0, 84.24, 320, 2805, 2805, 11251, 2145, null, 3165, 11501, 0, 7, 2, 1474, 16376, 2),
  },
  "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.csv": {
    name: "NVIDIA H100 80GB HBM3",
    driverVersion: "590.48.01",
    timestamps: [localTime(2026, 7, 14, 8, 12, 38, 696), localTime(2026, 7, 14, 8, 12, 53, 353)],
    idle: metricsInKeyOrder(41, 48, null, 69.85, 700, 345, 345, 2619, 765, null, 1980, 2619, 1, 0, 0, 0, 81559, 0),
    load: metricsInKeyOrder(59, 54, null, 631.95, 700, 1980, 1980, 2619, 1545, null, 1980, 2619, 0, 100, 11, 19818, 81559, 0),
  },
  "linux-x86_64__nvidia-h100-mig__590.48.01.csv": {
    name: "NVIDIA H100 80GB HBM3",
    driverVersion: "590.48.01",
    timestamps: [localTime(2026, 7, 14, 9, 0, 27, 792), localTime(2026, 7, 14, 9, 0, 44, 579)],
    idle: metricsInKeyOrder(42, 48, null, 71.15, 700, 345, 345, 2619, 765, null, 1980, 2619, 1, null, null, 59, 81559, 0),
    load: metricsInKeyOrder(53, 59, null, 433.78, 700, 1980, 1980, 2619, 1545, null, 1980, 2619, 0, null, null, 11125, 81559, 0),
  },
  "windows-x86_64__nvidia-geforce-rtx-2080-super__591.86.csv": {
    name: "NVIDIA GeForce RTX 2080 SUPER",
    driverVersion: "591.86",
    timestamps: [localTime(2026, 6, 22, 23, 4, 18, 311), localTime(2026, 6, 22, 23, 4, 33, 297)],
    idle: metricsInKeyOrder(40, null, 37, 38.92, 250, 300, 300, 405, 540, null, 2145, 7751, 1, 0, 0, 702, 8192, 8),
    load: metricsInKeyOrder(45, null, 38, 97.43, 250, 2055, 2055, 7500, 1905, null, 2145, 7751, 1, 7, 3, 1296, 8192, 2),
  },
};

describe("peer captures", () => {
  it("are all covered here", () => {
    expect(PEER_FILES).toEqual(Object.keys(PEERS).sort());
  });

  describe.each(PEER_FILES)("%s", (file) => {
    const [header = "", ...lines] = fixtureLines("peers", file);
    const columns = parseCsvHeader(header);
    const rows = lazy(() => lines.map((line) => parseOk(columns, line)));
    const expected = PEERS[file];
    if (!expected) throw new Error(`no expectations for ${file}`);

    it("has 200+ columns, an idle line and a load line", () => {
      expect(columns.length).toBeGreaterThan(200);
      expect(rows()).toHaveLength(2);
    });

    it("reads the concrete idle and load values", () => {
      expect(rows().map((row) => row.metrics)).toEqual([expected.idle, expected.load]);
      expect(rows().map((row) => row.timestamp)).toEqual(expected.timestamps);
      for (const row of rows()) {
        expect(row.uuid).toBe("GPU-00000000-0000-0000-0000-000000000000");
        expect(row.index).toBe(0);
        expect(row.info).toEqual({
          name: expected.name,
          driverVersion: expected.driverVersion,
          memoryTotalMib: expected.idle.memoryTotalMib,
          powerLimitW: expected.idle.powerLimitW,
          maxGraphicsClockMhz: expected.idle.maxGraphicsClockMhz,
          maxMemoryClockMhz: expected.idle.maxMemoryClockMhz,
          baseClockMhz: null,
          // These cards report no applications clocks ([N/A]).
          applicationsGraphicsClockMhz: null,
          applicationsMemoryClockMhz: null,
        });
      }
    });

    it("stores every reported value, and null exactly where the card reported none", () => {
      const mapped = columns.flatMap((column, position) => (column.field ? [{ field: column.field, position }] : []));
      expect(mapped).toHaveLength(SMI_FIELDS.length);
      lines.forEach((line, lineNo) => {
        const cells = splitCsvLine(line);
        const row = rows()[lineNo];
        for (const { field, position } of mapped) {
          const raw = cells[position] ?? "";
          const parsed = parseFieldValue(field, raw);
          expect(parsed.ok, `${field.name}=${raw}`).toBe(true);
          if (!parsed.ok || !row) continue;
          expect(parsed.value === null, `${field.name}=${raw}`).toBe(NA_LIKE.test(raw));
          if (field.kind === "reasonFlag" || field.kind === "timestamp") continue;
          if (field.kind === "enum") {
            expect(row.extras[field.extraKey], field.name).toBe(parsed.value);
            continue;
          }
          if (field.kind === "text") {
            if (field.identity === "uuid") expect(row.uuid).toBe(parsed.value);
            if (field.infoKey) expect(row.info[field.infoKey]).toBe(parsed.value);
            continue;
          }
          if (field.isFallback) continue; // enforced.power.limit is present in every peer file
          if (field.identity === "index") expect(row.index).toBe(parsed.value);
          if (field.metricKey) expect(row.metrics[field.metricKey], field.name).toBe(parsed.value);
          if (field.infoKey) expect(row.info[field.infoKey], field.name).toBe(parsed.value);
        }
      });
    });

    it("derives the same reasons mask from the Active/Not Active columns when .active is missing", () => {
      const maskAt = columns.findIndex((c) => c.name === "clocks_event_reasons.active");
      expect(maskAt).toBeGreaterThanOrEqual(0);
      const drop = (cells: string[]) => cells.filter((_, i) => i !== maskAt).join(", ");
      const flagColumns = parseCsvHeader(drop(splitCsvLine(header)));
      lines.forEach((line, lineNo) => {
        const derived = parseOk(flagColumns, drop(splitCsvLine(line)));
        expect(derived.metrics.clockEventReasons).toBe(rows()[lineNo]?.metrics.clockEventReasons);
      });
    });
  });

  it("4080: memory temperature `N/A` is null while fan 0 % stays 0", () => {
    const [header = "", idle = ""] = fixtureLines("peers", "linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.csv");
    const row = parseOk(parseCsvHeader(header), idle);
    expect(row.metrics.memoryTemperatureC).toBeNull();
    expect(row.metrics.fanSpeedPct).toBe(0);
  });

  it("MIG: utilization `[N/A]` is null, not 0", () => {
    const [header = "", , load = ""] = fixtureLines("peers", "linux-x86_64__nvidia-h100-mig__590.48.01.csv");
    const row = parseOk(parseCsvHeader(header), load);
    expect(row.metrics.gpuUtilizationPct).toBeNull();
    expect(row.metrics.memoryUtilizationPct).toBeNull();
    expect(row.metrics.powerDrawW).toBe(433.78);
  });
});

describe("parseCsvRow robustness", () => {
  const columns = columnsForQuery(LOOP_QUERY_FIELDS);
  const idleCells = [
    "0",
    H200_UUID,
    "2026/11/26 02:27:36.520",
    "33",
    "34",
    "[N/A]",
    "78.88 W",
    "700.00 W",
    "345 MHz",
    "345 MHz",
    "3201 MHz",
    "765 MHz",
    "0x0000000000000001",
    "0 %",
    "0 %",
    "0 MiB",
    "P0",
    // Encoder and decoder, the recovery action.
    "0 %",
    "0 %",
    "None",
  ];
  const lineWith = (overrides: Record<number, string>) => idleCells.map((cell, i) => overrides[i] ?? cell).join(", ");

  it("reads a loop line with units the same as without", () => {
    const withUnits = parseOk(columns, lineWith({}));
    const withoutUnits = parseOk(
      columns,
      lineWith({ 6: "78.88", 7: "700.00", 8: "345", 9: "345", 10: "3201", 11: "765", 13: "0", 14: "0", 15: "0", 17: "0", 18: "0" }),
    );
    expect(withoutUnits).toEqual(withUnits);
    expect(withUnits.metrics).toMatchObject({ powerDrawW: 78.88, memoryClockMhz: 3201, memoryUsedMib: 0, pstate: 0 });
  });

  it.each([
    "[N/A]",
    "N/A",
    "[Not Supported]",
    "[Requested functionality has been deprecated]",
    "[Unknown Error]",
    "[GPU is lost]",
    "[Insufficient Permissions]",
  ])("reads %s as null in every kind of column, never as 0", (marker) => {
    const row = parseOk(columns, lineWith({ 2: marker, 3: marker, 6: marker, 12: marker, 13: marker, 16: marker }));
    expect(row.timestamp).toBeNull();
    expect(row.metrics).toMatchObject({
      temperatureC: null,
      powerDrawW: null,
      clockEventReasons: null,
      gpuUtilizationPct: null,
      pstate: null,
    });
    expect(row.metrics.memoryTemperatureC).toBe(34);
  });

  it("reads hex masks, P-states and flags", () => {
    expect(parseOk(columns, lineWith({ 12: "0x0000000000000004" })).metrics.clockEventReasons).toBe(4);
    expect(parseOk(columns, lineWith({ 12: "0x00000000000001FF" })).metrics.clockEventReasons).toBe(0x1ff);
    expect(parseOk(columns, lineWith({ 16: "P15" })).metrics.pstate).toBe(15);
    expect(parseOk(columns, lineWith({ 16: "P8" })).metrics.pstate).toBe(8);
    expectRejected(columns, lineWith({ 16: "P16" }), /P0\.\.P15/);
    expectRejected(columns, lineWith({ 12: "4" }), /hex/);
  });

  it("reads the recovery action as its number, and a word it does not know as not reported rather than a bad line", () => {
    expect(parseOk(columns, lineWith({})).extras.recoveryAction).toBe(0);
    expect(parseOk(columns, lineWith({ 19: "Drain and Reset" })).extras.recoveryAction).toBe(4);
    const unknown = parseOk(columns, lineWith({ 19: "Reset Later" }));
    expect(unknown.extras.recoveryAction).toBeNull();
    expect(unknown.metrics.temperatureC).toBe(33);
    expect(parseOk(columns, lineWith({ 17: "12 %", 18: "3 %" })).extras).toMatchObject({
      encoderUtilizationPct: 12,
      decoderUtilizationPct: 3,
    });
  });

  it("rejects empty, garbage, partial and over-long lines with a clear error, never throwing", () => {
    expectRejected(columns, "", /empty/);
    expectRejected(columns, "   \r", /empty/);
    expectRejected(columns, "#%& not csv at all", /expected 20 columns, got 1/);
    expectRejected(columns, lineWith({}).slice(0, 60), /expected 20 columns, got 3/);
    expectRejected(columns, `${lineWith({})}, extra`, /expected 20 columns, got 21/);
    expectRejected(columns, lineWith({ 3: "hot" }), /column 4 \(temperature\.gpu\): not a number/);
    expectRejected(columns, lineWith({ 6: "345 MHz" }), /column 7 \(power\.draw\): expected W/);
    expectRejected(columns, lineWith({ 2: "yesterday" }), /timestamp/);
    expectRejected(columns, lineWith({ 0: "0.5" }), /index/);
    expectRejected(columns, lineWith({ 0: "[N/A]", 1: "[N/A]" }), /no uuid and no index/);
  });

  it("survives every truncation of a real line", () => {
    const [header = "", line = ""] = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv");
    const headerColumns = parseCsvHeader(header);
    for (let end = 0; end < line.length; end += 1) {
      const prefix = line.slice(0, end);
      const result = parseCsvRow(headerColumns, prefix);
      if (splitCsvLine(prefix).length < headerColumns.length) expect(result.ok, prefix).toBe(false);
    }
  });

  it("keeps a row whose uuid is unknown but index is given", () => {
    const row = parseOk(columns, lineWith({ 1: "[Unknown Error]" }));
    expect(row.uuid).toBeNull();
    expect(row.index).toBe(0);
  });

  it("prefers enforced.power.limit and falls back to power.limit, in any column order", () => {
    const limits = columnsForQuery(["index", "power.limit", "enforced.power.limit"]);
    expect(parseOk(limits, "0, 700.00 W, 650.00 W").metrics.powerLimitW).toBe(650);
    expect(parseOk(limits, "0, 700.00 W, [N/A]").metrics.powerLimitW).toBe(700);
    expect(parseOk(limits, "0, [N/A], [N/A]").info.powerLimitW).toBeNull();
    const reversed = columnsForQuery(["index", "enforced.power.limit", "power.limit"]);
    expect(parseOk(reversed, "0, 650.00 W, 700.00 W").info.powerLimitW).toBe(650);
    expect(parseOk(columnsForQuery(["index", "power.limit"]), "0, 700.00").metrics.powerLimitW).toBe(700);
  });

  it("derives the reasons mask from flag columns, null only when every flag is unreported", () => {
    const flags = columnsForQuery([
      "index",
      "clocks_throttle_reasons.gpu_idle",
      "clocks_event_reasons.sw_power_cap",
      "clocks_event_reasons.hw_thermal_slowdown",
    ]);
    expect(parseOk(flags, "0, Not Active, Active, Not Active").metrics.clockEventReasons).toBe(0x4);
    expect(parseOk(flags, "0, Active, [N/A], Active").metrics.clockEventReasons).toBe(0x41);
    expect(parseOk(flags, "0, Not Active, Not Active, Not Active").metrics.clockEventReasons).toBe(0);
    expect(parseOk(flags, "0, [N/A], [Not Supported], N/A").metrics.clockEventReasons).toBeNull();
    expectRejected(flags, "0, Maybe, Active, Active", /"Active" or "Not Active"/);
  });

  it("treats every bracketed message as not reported", () => {
    expect(isNotAvailable("[Some future message]")).toBe(true);
    expect(isNotAvailable("N/A")).toBe(true);
    expect(isNotAvailable("0")).toBe(false);
    expect(isNotAvailable("NVIDIA H200")).toBe(false);
  });
});

describe("parseSmiTimestamp", () => {
  it("reads the zone-less timestamp as host-local time", () => {
    expect(parseSmiTimestamp("2026/11/26 02:27:36.520")).toBe(localTime(2026, 11, 26, 2, 27, 36, 520));
    expect(parseSmiTimestamp("2026/01/02 23:59:59")).toBe(localTime(2026, 1, 2, 23, 59, 59, 0));
  });

  it("follows the host's zone, not UTC", () => {
    const savedZone = process.env.TZ;
    try {
      process.env.TZ = "Asia/Kolkata"; // UTC+05:30, no daylight saving
      expect(parseSmiTimestamp("2026/11/26 02:27:36.520")).toBe(Date.UTC(2026, 10, 25, 20, 57, 36, 520));
    } finally {
      if (savedZone === undefined) delete process.env.TZ;
      else process.env.TZ = savedZone;
    }
  });

  it.each([
    "",
    "garbage",
    "[N/A]",
    "2026-11-26 02:27:36.520",
    "2026/13/01 00:00:00.000",
    "2026/02/30 00:00:00.000",
    "2026/11/26 24:00:00.000",
    "2026/11/26 02:27:36.520 UTC",
  ])("rejects %j", (text) => {
    expect(parseSmiTimestamp(text)).toBeNull();
  });
});

describe("unknown fields", () => {
  it("reads the field name from the real error message", () => {
    expect(parseUnknownFieldError(readFixture("nvidia-smi", "h200", "smi-badfield.txt"))).toBe("no.such.field");
    expect(parseUnknownFieldError("0, GPU-..., 33")).toBeNull();
  });

  it("substitutes the older spelling, else drops the field, and refuses fields not queried", () => {
    const swapped = fieldsWithoutUnknown(LOOP_QUERY_FIELDS, "clocks_event_reasons.active");
    expect(swapped).toHaveLength(LOOP_QUERY_FIELDS.length);
    expect(swapped?.[LOOP_QUERY_FIELDS.indexOf("clocks_event_reasons.active")]).toBe("clocks_throttle_reasons.active");
    expect(swapped).not.toContain("clocks_event_reasons.active");

    const dropped = fieldsWithoutUnknown(LOOP_QUERY_FIELDS, "temperature.memory");
    expect(dropped).toEqual(LOOP_QUERY_FIELDS.filter((f) => f !== "temperature.memory"));

    expect(fieldsWithoutUnknown(["index", "clocks_throttle_reasons.active"], "clocks_throttle_reasons.active")).toEqual(["index"]);
    // The older name is already queried: just drop the new one.
    expect(fieldsWithoutUnknown(STATIC_QUERY_FIELDS, "enforced.power.limit")).toEqual(
      STATIC_QUERY_FIELDS.filter((f) => f !== "enforced.power.limit"),
    );
    expect(fieldsWithoutUnknown(["index"], "enforced.power.limit")).toBeNull();
  });
});

describe("clock event reasons", () => {
  it("decodes each bit and keeps unknown as null", () => {
    expect(decodeClockEventReasons(null)).toBeNull();
    expect(decodeClockEventReasons(0)).toMatchObject({ boostActive: true, idle: false, thermal: false, swPowerCap: false });
    expect(decodeClockEventReasons(0x4)).toMatchObject({ swPowerCap: true, boostActive: false, idle: false });
    expect(decodeClockEventReasons(0x20)?.thermal).toBe(true);
    expect(decodeClockEventReasons(0x40)?.thermal).toBe(true);
    expect(decodeClockEventReasons(0x8)?.thermal).toBe(false);
    expect(decodeClockEventReasons(0x1ff)).toEqual({
      idle: true,
      applicationsClocksSetting: true,
      swPowerCap: true,
      hwSlowdown: true,
      syncBoost: true,
      swThermalSlowdown: true,
      hwThermalSlowdown: true,
      hwPowerBrakeSlowdown: true,
      displayClockSetting: true,
      thermal: true,
      boostActive: false,
    });
  });

  it("names the active reasons in short words", () => {
    expect(clockEventReasonWords(0x1)).toEqual(["idle"]);
    expect(clockEventReasonWords(0x4)).toEqual(["SW power cap"]);
    expect(clockEventReasonWords(0)).toEqual(["boost"]);
    expect(clockEventReasonWords(0x44)).toEqual(["SW power cap", "HW thermal"]);
    expect(clockEventReasonWords(null)).toEqual([]);
  });
});

describe("parseComputeAppsCsv", () => {
  it("reads the real capture", () => {
    expect(parseComputeAppsCsv(readFixture("nvidia-smi", "h200", "apps-load.csv"))).toEqual([
      { pid: 1586, processName: "python3", usedMemoryMib: 1130, gpuUuid: H200_UUID },
    ]);
  });

  it("reads header-less, unit-less output, N/A memory and names with commas", () => {
    const text = [`1586, python3, 1130, ${H200_UUID}`, `42, /opt/app, v2/run, [N/A], ${H200_UUID}`, ""].join("\n");
    expect(parseComputeAppsCsv(text)).toEqual([
      { pid: 1586, processName: "python3", usedMemoryMib: 1130, gpuUuid: H200_UUID },
      { pid: 42, processName: "/opt/app, v2/run", usedMemoryMib: null, gpuUuid: H200_UUID },
    ]);
  });

  it("skips garbage and returns nothing for a header alone or empty output", () => {
    const header = "pid, process_name, used_gpu_memory [MiB], gpu_uuid";
    expect(parseComputeAppsCsv(`${header}\n`)).toEqual([]);
    expect(parseComputeAppsCsv("")).toEqual([]);
    expect(parseComputeAppsCsv(`${header}\nnot a process\nabc, x, 1 MiB, GPU-1\n7, x, lots, GPU-1\n`)).toEqual([]);
  });
});
