import { describe, expect, it } from "vitest";
import { heldBackBy, reasonsSeen } from "../../src/lib/clock-reasons";
import type { HistoryRecord, LiveSnapshot, TelemetrySeries, TelemetryStats } from "../../src/lib/api-types";
import { connectionState, OFFLINE_AFTER_MS } from "../../src/lib/connection-state";
import { bytes, celsius, gibFromMib, megahertz, percent, watts } from "../../src/lib/format";
import { memoryErrorFlags, memoryErrorsLifetime, memoryErrorsState, memoryErrorsSummary } from "../../src/lib/memory-errors";
import { gpuLabel, shortUuid } from "../../src/lib/gpu-label";
import { RollingWindow } from "../../src/lib/rolling-window";
import { mergeExactStats, statsFromSeries } from "../../src/lib/series-stats";
import { exportHours, exportUrl, historySearch, parseHistoryParams, scaleWindow, windowOf } from "../../src/lib/time-range";
import { gpuAtIndex } from "../../src/telemetry/gpu-at-index";
import { simulatedGpuInfo } from "../../src/server/sources/simulated";
import { noMemoryHealth, type GpuMetrics } from "../../src/telemetry/types";

const HOUR = 3_600_000;
const params = (query: string) => new URLSearchParams(query);

describe("display units", () => {
  it("reads null as n/a, never 0, and keeps units readable", () => {
    for (const format of [watts, celsius, megahertz, percent, gibFromMib]) expect(format(null)).toBe("n/a");
    expect(watts(79.24)).toBe("79.2 W");
    expect(watts(0)).toBe("0 W");
    expect(watts(612.7)).toBe("613 W");
    expect(celsius(57.6)).toBe("58 °C");
    expect(megahertz(1455)).toBe("1455 MHz");
    expect(gibFromMib(143_771)).toBe("140.4 GiB");
    expect(percent(0)).toBe("0 %");
    expect(bytes(196_608)).toBe("192 KiB");
    expect(bytes(500 * 1024 * 1024)).toBe("500 MiB");
  });
});

describe("history URL state", () => {
  it("round-trips presets and custom ranges", () => {
    const preset = { gpu: { uuid: "GPU-5a4d0000-0000-4000-8000-000000000001" }, range: { kind: "preset", preset: "7d" } } as const;
    expect(historySearch(preset)).toBe("gpu=GPU-5a4d0000-0000-4000-8000-000000000001&range=7d");
    expect(parseHistoryParams(params(historySearch(preset)))).toEqual(preset);
    const custom = {
      gpu: { uuid: "GPU-5a4d0000-0000-4000-8000-000000000000" },
      range: { kind: "custom", from: 1_000_000, to: 1_000_000 + HOUR },
    } as const;
    expect(parseHistoryParams(params(historySearch(custom)))).toEqual(custom);
  });

  it("an index is the GPU reporting there now, else the one that held it last, never both", () => {
    const gpu = (uuid: string, index: number, lastSeen: number | null, online: boolean) => ({ uuid, index, lastSeen, online });
    const gpus = [
      gpu("old", 0, 5000, false),
      gpu("now", 0, 1000, true),
      gpu("gone-a", 3, 200, false),
      gpu("gone-b", 3, 900, false),
      gpu("gone-c", 3, null, false),
    ];
    expect(gpuAtIndex(gpus, 0)?.uuid).toBe("now");
    expect(gpuAtIndex(gpus, 3)?.uuid).toBe("gone-b");
    expect(gpuAtIndex(gpus, 1)).toBeUndefined();
  });

  it("still reads links that name the GPU by index", () => {
    expect(parseHistoryParams(params("gpu=0&range=1h"))).toEqual({ gpu: { index: 0 }, range: { kind: "preset", preset: "1h" } });
    expect(historySearch({ gpu: { index: 2 }, range: { kind: "preset", preset: "1h" } })).toBe("gpu=2&range=1h");
    expect(parseHistoryParams(params("gpu=GPU%20with%20spaces")).gpu).toBeNull();
  });

  it("falls back to the defaults on anything it cannot use", () => {
    expect(parseHistoryParams(params(""))).toEqual({ gpu: null, range: { kind: "preset", preset: "24h" } });
    expect(parseHistoryParams(params("gpu=-1&range=2y"))).toEqual({ gpu: null, range: { kind: "preset", preset: "24h" } });
    // Backwards and over-long custom ranges are refused the way the server would.
    expect(parseHistoryParams(params("gpu=0&range=custom&from=5000&to=4000")).range).toEqual({ kind: "preset", preset: "24h" });
    expect(parseHistoryParams(params(`gpu=0&from=0&to=${91 * 24 * HOUR}`)).range).toEqual({ kind: "preset", preset: "24h" });
  });

  it("covers a custom range with whole hours back from now for export", () => {
    const now = 100 * HOUR;
    expect(windowOf({ kind: "preset", preset: "6h" }, now)).toEqual({ from: 94 * HOUR, to: now });
    expect(exportHours({ kind: "preset", preset: "30d" }, now)).toBe(720);
    expect(exportHours({ kind: "custom", from: now - 2.5 * HOUR, to: now - HOUR }, now)).toBe(3);
    expect(exportHours({ kind: "custom", from: now - 10 * 60_000, to: now }, now)).toBe(1);
    expect(exportUrl("csv", { index: 2 }, 3)).toBe("/api/telemetry/export?format=csv&gpu_index=2&hours=3");
    expect(exportUrl("json", { uuid: "GPU-5a4d0000-0000-4000-8000-000000000002" }, 3)).toBe(
      "/api/telemetry/export?format=json&gpu_uuid=GPU-5a4d0000-0000-4000-8000-000000000002&hours=3",
    );
  });

  it("zooms around the middle and stays inside the range", () => {
    const bounds = { from: 0, to: 10 * HOUR };
    expect(scaleWindow(bounds, 0.5, bounds)).toEqual({ from: 2.5 * HOUR, to: 7.5 * HOUR });
    expect(scaleWindow({ from: 0, to: HOUR }, 2, bounds)).toEqual({ from: 0, to: 2 * HOUR });
    expect(scaleWindow({ from: 8 * HOUR, to: 10 * HOUR }, 8, bounds)).toEqual(bounds);
  });
});

describe("connection state", () => {
  const base = { status: "connecting", everConnected: false, troubleSince: 0, browserOnline: true, now: 1000 } as const;
  it("is connecting at first, live when connected, reconnecting after a drop, offline when it lasts", () => {
    expect(connectionState(base)).toBe("connecting");
    expect(connectionState({ ...base, status: "pending", troubleSince: null, everConnected: true })).toBe("live");
    expect(connectionState({ ...base, everConnected: true })).toBe("reconnecting");
    expect(connectionState({ ...base, status: "error", everConnected: true })).toBe("reconnecting");
    expect(connectionState({ ...base, everConnected: true, now: OFFLINE_AFTER_MS })).toBe("offline");
    expect(connectionState({ ...base, now: OFFLINE_AFTER_MS + 1 })).toBe("offline");
    expect(connectionState({ ...base, everConnected: true, browserOnline: false })).toBe("offline");
  });
});

const metrics = (temperatureC: number): GpuMetrics => ({
  temperatureC,
  memoryTemperatureC: null,
  fanSpeedPct: null,
  powerDrawW: 100,
  powerLimitW: 700,
  graphicsClockMhz: 1400,
  smClockMhz: null,
  memoryClockMhz: 3201,
  videoClockMhz: null,
  baseClockMhz: null,
  maxGraphicsClockMhz: 1980,
  maxMemoryClockMhz: 3201,
  clockEventReasons: 0,
  gpuUtilizationPct: 50,
  memoryUtilizationPct: null,
  memoryUsedMib: 1024,
  memoryTotalMib: 143_771,
  pstate: 0,
});

const snapshot = (id: number, timestamp: number, temperatureC: number): LiveSnapshot => {
  const info = simulatedGpuInfo(0);
  return { id, timestamp, samples: [{ uuid: info.uuid, index: 0, timestamp, ...metrics(temperatureC) }] };
};

const record = (timestamp: number, temperatureC: number): HistoryRecord => {
  const info = simulatedGpuInfo(0);
  return { gpuIndex: 0, gpuUuid: info.uuid, gpuName: info.name, timestamp, ...metrics(temperatureC) };
};

describe("rolling window", () => {
  it("keeps the last span of readings, seeds older ones underneath and skips repeats", () => {
    const window = new RollingWindow(60_000);
    window.add(snapshot(1, 100_000, 40));
    window.add(snapshot(2, 101_000, 41));
    window.add(snapshot(2, 101_000, 41));
    window.seed([record(101_000, 99), record(90_000, 39), record(10_000, 1), record(95_000, 38)]);
    const uuid = simulatedGpuInfo(0).uuid;
    expect(window.points(uuid).map((p) => [p.t, p.temperatureC])).toEqual([
      [90_000, 39],
      [95_000, 38],
      [100_000, 40],
      [101_000, 41],
    ]);
    window.add(snapshot(3, 155_000, 42));
    expect(window.points(uuid).map((p) => p.t)).toEqual([95_000, 100_000, 101_000, 155_000]);
    expect(window.end()).toBe(155_000);
    expect(window.gpus()).toEqual([{ uuid, index: 0 }]);
  });

  it("keeps two GPUs that held the same index apart", () => {
    const window = new RollingWindow(60_000);
    const current = simulatedGpuInfo(0);
    const swapped = { ...current, uuid: "GPU-0ld0ca4d-0000-4000-8000-00000000beef", name: "NVIDIA A100-SXM4-80GB" };
    window.seed([{ ...record(90_000, 70), gpuUuid: swapped.uuid, gpuName: swapped.name }]);
    window.add(snapshot(1, 100_000, 40));
    expect(window.gpus()).toEqual(
      [
        { uuid: current.uuid, index: 0 },
        { uuid: swapped.uuid, index: 0 },
      ].sort((a, b) => a.uuid.localeCompare(b.uuid)),
    );
    expect(window.points(swapped.uuid).map((p) => p.temperatureC)).toEqual([70]);
    expect(window.points(current.uuid).map((p) => p.temperatureC)).toEqual([40]);
    expect(gpuLabel(swapped, [current, swapped])).toBe("GPU 0 · NVIDIA A100-SXM4-80GB · GPU-…0000beef");
    expect(gpuLabel(current, [current])).toBe("GPU 0 · NVIDIA H200 (simulated)");
    expect(shortUuid("abc")).toBe("abc");
  });
});

describe("range statistics from the series", () => {
  const series: TelemetrySeries = {
    gpuIndex: 0,
    gpuUuid: "GPU-00000000-0000-4000-8000-000000000000",
    from: 0,
    to: 300,
    bucketMs: 100,
    t: [0, 100],
    count: [1, 3],
    metrics: {
      temperatureC: { min: [30, 40], max: [35, 50], avg: [30, 46] },
      powerDrawW: { min: [null, 10], max: [null, 20], avg: [null, 15] },
    },
    gaps: [],
  };
  it("takes true extremes and a sample-weighted average", () => {
    const stats = statsFromSeries(series);
    expect(stats.samples).toBe(4);
    expect(stats.first).toBe(0);
    expect(stats.metrics.temperatureC).toEqual({ min: 30, avg: (30 + 46 * 3) / 4, max: 50 });
    expect(stats.metrics.powerDrawW).toEqual({ min: 10, avg: 15, max: 20 });
    expect(stats.metrics.gpuUtilizationPct).toEqual({ min: null, avg: null, max: null });
  });

  it("prefers the server's exact figures where it has them", () => {
    const exact: TelemetryStats = {
      gpuIndex: 0,
      gpuUuid: "GPU-00000000-0000-4000-8000-000000000000",
      hours: 1,
      recordCount: 5,
      firstTimestamp: 1,
      lastTimestamp: 299,
      temperature: { min: 29, max: 51, avg: 44 },
      powerDraw: { min: 9, max: 21, avg: 14 },
      utilizationAvg: null,
      graphicsClockAvg: 1400,
      memoryClockAvg: null,
      clockReasons: {
        idle: 0.1,
        applicationsClocksSetting: 0,
        swPowerCap: 0.62,
        hwSlowdown: 0,
        syncBoost: 0,
        swThermalSlowdown: 0.03,
        hwThermalSlowdown: 0,
        hwPowerBrakeSlowdown: 0,
        displayClockSetting: null,
      },
    };
    const merged = mergeExactStats(statsFromSeries(series), exact);
    expect(merged.samples).toBe(5);
    expect(merged.metrics.temperatureC).toEqual({ min: 29, max: 51, avg: 44 });
    expect(merged.metrics.graphicsClockMhz.avg).toBe(1400);
  });
});

describe("memory errors in words", () => {
  const healthy = {
    ...noMemoryHealth("GPU-a"),
    eccEnabled: true,
    eccCorrectedVolatile: 0,
    eccUncorrectedVolatile: 0,
    eccCorrectedAggregate: 7,
    eccUncorrectedAggregate: 0,
    remappedRowsCorrectable: 0,
    remappedRowsUncorrectable: 0,
    rowRemapPending: false,
    rowRemapFailure: false,
  };

  it("say a healthy card is ok, with the card's lifetime counts apart", () => {
    expect(memoryErrorsState(healthy)).toBe("ok");
    expect(memoryErrorsSummary(healthy)).toBe("0 uncorrected · 0 corrected");
    expect(memoryErrorFlags(healthy)).toEqual([]);
    expect(memoryErrorsLifetime(healthy)).toBe(
      "Over the card's life: 0 uncorrected, 7 corrected ECC errors. Rows remapped to spares: 0 for uncorrectable, 0 for correctable errors.",
    );
  });

  it("rank what needs the owner: corrected errors and a pending reset warn, uncorrected errors and a failed remap are bad", () => {
    expect(memoryErrorsState({ ...healthy, eccCorrectedVolatile: 3 })).toBe("warn");
    expect(memoryErrorsState({ ...healthy, rowRemapPending: true })).toBe("warn");
    expect(memoryErrorsState({ ...healthy, eccUncorrectedVolatile: 1 })).toBe("bad");
    const failed = { ...healthy, rowRemapFailure: true, remappedRowsUncorrectable: 1200, remappedRowsCorrectable: 34 };
    expect(memoryErrorsState(failed)).toBe("bad");
    expect(memoryErrorsSummary(failed)).toBe("0 uncorrected · 0 corrected · 1,234 rows remapped");
    expect(memoryErrorFlags(failed).map((f) => [f.text, f.tone])).toEqual([["row remap failed", "bad"]]);
    const pages = { ...healthy, retiredPagesSingleBit: 2, retiredPagesDoubleBit: 0, retiredPagesPending: true };
    expect(memoryErrorFlags(pages).map((f) => f.text)).toEqual(["page retirement pending"]);
    expect(memoryErrorsLifetime(pages)).toMatch(/Retired pages: 0 double-bit, 2 single-bit\.$/);
  });

  it("say ECC off, and claim nothing of a card that keeps no counters or was not read yet", () => {
    expect(memoryErrorsSummary({ ...healthy, eccEnabled: false })).toBe("ECC off");
    expect(memoryErrorsState(noMemoryHealth("GPU-b"))).toBe("not-kept");
    expect(memoryErrorsState(undefined)).toBe("unknown");
  });
});

describe("clock event reasons of a range", () => {
  const none = {
    idle: 0,
    applicationsClocksSetting: 0,
    swPowerCap: 0,
    hwSlowdown: 0,
    syncBoost: 0,
    swThermalSlowdown: 0,
    hwThermalSlowdown: 0,
    hwPowerBrakeSlowdown: 0,
    displayClockSetting: null,
  };

  it("are named largest share first, a small share never as 0 %", () => {
    expect(heldBackBy({ ...none, swPowerCap: 0.6234, hwThermalSlowdown: 0.03, idle: 0.001 })).toBe(
      "SW power cap 62 %, HW thermal 3 %, Idle < 1 %",
    );
    expect(heldBackBy(none)).toBeNull();
  });

  it("get a lane only when they held the clocks back in some bucket", () => {
    const shares = Object.fromEntries(Object.entries(none).map(([reason]) => [reason, [null, 0, 0]])) as Parameters<typeof reasonsSeen>[0];
    expect(reasonsSeen(shares)).toEqual([]);
    expect(reasonsSeen({ ...shares, hwThermalSlowdown: [0, 0.5, null], idle: [1, null, 0] })).toEqual(["idle", "hwThermalSlowdown"]);
  });
});
