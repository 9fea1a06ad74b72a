import { execFileSync, spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRIC_CATALOGUE, type MetricDefinition, type MetricKey } from "../src/telemetry/metric-catalogue";
import { RECORD_JSON_BYTES_KEPT } from "../src/server/rest/records-json";
import { DECODED_BYTES_KEPT, DECODED_COLUMN_BYTES_KEPT, SERIES_BUCKET_BYTES_KEPT } from "../src/server/storage/telemetry-store";
import { ROOT, startOnFakeSmi, startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";
import { WORN_NVML_KNOBS } from "./helpers/worn-memory";

const dir = tempDir("nvoc-metrics-");
let server: ServerProcess;

let onNvml: ServerProcess;

beforeAll(async () => {
  // The in-process NVML source on the fake library (tests/fake-nvml), which can read the energy counter.
  const library = path.join(dir, "libnvidia-ml.so.1");
  execFileSync("gcc", ["-shared", "-fPIC", "-o", library, path.join(ROOT, "tests", "fake-nvml", "fake-nvml.c")]);
  onNvml = await startServerProcess({
    NVOC_SOURCE: "nvml",
    NVOC_NVML_LIBRARY: library,
    NVOC_INTERVAL_MS: "200",
    NVOC_DB_PATH: path.join(dir, "nvml", "telemetry.db"),
    FAKE_NVML_GPUS: "2",
    // A worn card: ECC errors, remapped rows, one remap waiting for a reset.
    FAKE_NVML_MEMORY_ERRORS: WORN_NVML_KNOBS.FAKE_NVML_MEMORY_ERRORS,
    // GPU 1 reports a double-bit ECC error, then falls off the bus.
    FAKE_NVML_XIDS: "1:48:2,1:79:3",
  });

  // Two H200s from the real capture: GPU 1 is lost, and the driver does not know memory temperature.
  server = await startOnFakeSmi(path.join(dir, "telemetry.db"), { FAKE_SMI_LOST_GPU: "1", FAKE_SMI_REJECT_FIELDS: "temperature.memory" });
  const client = trpcClient(server.url);
  await waitFor(
    async () => {
      const status = await client.collector.status.query();
      return status.stored > 0 && status.gpus.some((g) => g.state === "lost") ? true : undefined;
    },
    30_000,
    "samples stored and GPU 1 reported lost",
  );
});

afterAll(async () => {
  await Promise.all([server?.stop(), onNvml?.stop()]);
});

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (labels without escapes, as ours are). */
function parseExposition(text: string): Series[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not an exposition line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

const scrape = async (from: ServerProcess = server) => {
  const res = await fetch(`${from.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};

/**
 * A scrape with GPU 0's reading of that moment: the fake replays a capture whose values change
 * from tick to tick, so a scrape is compared with a reading only when no tick came between them.
 */
async function scrapeBetweenTicks() {
  const client = trpcClient(server.url);
  return waitFor(
    async () => {
      const before = (await client.health.status.query()).latest.find((s) => s.index === 0);
      const series = parseExposition(await scrape());
      const after = (await client.health.status.query()).latest.find((s) => s.index === 0);
      return before && after && before.timestamp === after.timestamp ? { series, reading: after } : undefined;
    },
    20_000,
    "a scrape between two ticks",
  );
}

describe("GET /metrics", () => {
  it.each([
    ["nvidia-smi", () => server],
    ["NVML", () => onNvml],
  ])("passes promtool's check (%s source)", async (_kind, target) => {
    const text = await scrape(target());
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error, "promtool is installed by .ci/run (Debian's prometheus package)").toBeUndefined();
    const output = `${check.stdout}${check.stderr}`;
    // 1 would be a format error. 3 is lint advice: the one kind allowed is dcgm-exporter's own camelCase
    // labels (UUID, modelName, Hostname), which dashboards and alert rules match on.
    expect([0, 3], output).toContain(check.status);
    const advice = output.split("\n").filter((line) => line.trim() !== "");
    // dcgm-exporter's counters (energy, ECC errors, remapped rows, retired pages) have no lower-case _total suffix either.
    // prom-client's standard nodejs_active_*_total gauges keep the names every Node.js dashboard uses.
    // nvidia_gpu_exporter's ECC totals are gauges, as it exports every nvidia-smi field.
    const dcgmOnly =
      /^(nodejs_active_\w+|nvidia_smi_ecc_errors_\w+)_total non-counter metrics should not have "_total" suffix$|^(DCGM_FI_DEV_\w+|nvoc_gpu_up) label names should be written in 'snake_case' not 'camelCase'$|^DCGM_FI_DEV_(TOTAL_ENERGY_CONSUMPTION|ECC_[SD]BE_(VOL|AGG)_TOTAL|(UN)?CORRECTABLE_REMAPPED_ROWS|RETIRED_[SD]BE|RETIRED_PENDING|PCIE_REPLAY_COUNTER) counter metrics should have "_total" suffix$|^DCGM_FI_DEV_PCIE_REPLAY_COUNTER metric name should not include type 'counter'$/;
    for (const line of advice) expect(line).toMatch(dcgmOnly);
  });

  it("exports dcgm-exporter's names and labels with the GPU's readings", async () => {
    const { series, reading } = await scrapeBetweenTicks();
    const gpu0 = (name: string) => series.filter((s) => s.name === name && s.labels.gpu === "0");
    for (const [name, value] of [
      ["DCGM_FI_DEV_GPU_TEMP", reading.temperatureC],
      ["DCGM_FI_DEV_POWER_USAGE", reading.powerDrawW],
      ["DCGM_FI_DEV_SM_CLOCK", reading.smClockMhz],
      ["DCGM_FI_DEV_MEM_CLOCK", reading.memoryClockMhz],
      ["DCGM_FI_DEV_GPU_UTIL", reading.gpuUtilizationPct],
      ["DCGM_FI_DEV_MEM_COPY_UTIL", reading.memoryUtilizationPct],
      ["DCGM_FI_DEV_FB_USED", reading.memoryUsedMib],
      ["DCGM_FI_DEV_FB_TOTAL", reading.memoryTotalMib],
      ["DCGM_FI_DEV_PSTATE", reading.pstate],
      ["DCGM_FI_DEV_VIDEO_CLOCK", reading.videoClockMhz],
    ] as const) {
      const [one] = gpu0(name);
      expect(one, name).toBeDefined();
      expect(one.labels).toEqual({
        gpu: "0",
        UUID: reading.uuid,
        pci_bus_id: "00000000:00:06.0",
        device: "nvidia0",
        modelName: "NVIDIA H200",
        Hostname: os.hostname(),
        DCGM_FI_DRIVER_VERSION: "580.159.04",
      });
      expect(one.value, name).toBe(value);
    }
    // The H200 has no fan: [N/A], left out.
    expect(reading.fanSpeedPct).toBeNull();
    expect(gpu0("DCGM_FI_DEV_FAN_SPEED")).toEqual([]);
    // The driver's reserve (memory.reserved, 616 MiB on this H200) is neither used nor free: used + free + reserved = total.
    const one = (name: string) => gpu0(name).map((s) => s.value);
    expect(one("DCGM_FI_DEV_FB_RESERVED")).toEqual([616]);
    expect(one("DCGM_FI_DEV_FB_FREE")).toEqual([reading.memoryTotalMib! - reading.memoryUsedMib! - 616]);
    expect(one("DCGM_FI_DEV_ENC_UTIL")).toEqual([0]);
    expect(one("DCGM_FI_DEV_DEC_UTIL")).toEqual([0]);
    // Every catalogue metric that names a dcgm-exporter field, as read; left out where not reported.
    for (const { key, prometheus } of METRIC_CATALOGUE as readonly MetricDefinition[]) {
      if (!prometheus) continue;
      const value = reading[key as MetricKey];
      expect(
        gpu0(prometheus.name).map((s) => s.value),
        prometheus.name,
      ).toEqual(value === null ? [] : [value]);
    }
  });

  it("exports nvidia_gpu_exporter's nvidia_smi_* families with its names, units and labels", async () => {
    const { series, reading } = await scrapeBetweenTicks();
    const uuid = reading.uuid.toLowerCase().replace(/^gpu-/, "");
    const gpu0 = (name: string) => series.filter((s) => s.name === `nvidia_smi_${name}` && s.labels.uuid === uuid).map((s) => s.value);
    expect(series.filter((s) => s.name === "nvidia_smi_gpu_info").map((s) => s.labels)).toEqual([
      { uuid, name: "NVIDIA H200", index: "0", driver_version: "580.159.04" },
    ]);
    const mib = 1024 * 1024;
    for (const [name, value] of [
      ["index", 0],
      ["temperature_gpu", reading.temperatureC],
      ["power_draw_watts", reading.powerDrawW],
      ["enforced_power_limit_watts", reading.powerLimitW],
      ["clocks_current_graphics_clock_hz", reading.graphicsClockMhz! * 1e6],
      ["clocks_current_video_clock_hz", reading.videoClockMhz! * 1e6],
      ["clocks_max_memory_clock_hz", reading.maxMemoryClockMhz! * 1e6],
      ["utilization_gpu_ratio", reading.gpuUtilizationPct! / 100],
      ["utilization_memory_ratio", reading.memoryUtilizationPct! / 100],
      ["memory_used_bytes", reading.memoryUsedMib! * mib],
      ["memory_total_bytes", reading.memoryTotalMib! * mib],
      ["pstate", reading.pstate],
      ["clocks_event_reasons_active", reading.clockEventReasons],
      // The capture's mask is 0x1: idle, nothing else.
      ["clocks_event_reasons_gpu_idle", reading.clockEventReasons! & 1],
      ["clocks_event_reasons_sw_power_cap", 0],
      ["ecc_errors_uncorrected_aggregate_total", 0],
      ["memory_reserved_bytes", 616 * mib],
      ["memory_free_bytes", (reading.memoryTotalMib! - reading.memoryUsedMib! - 616) * mib],
      ["utilization_encoder_ratio", 0],
      ["utilization_decoder_ratio", 0],
      // "Default" and "None" in the capture.
      ["compute_mode", 0],
      ["gpu_recovery_action", 0],
    ] as const)
      expect(gpu0(name), name).toEqual([value]);
    expect(reading.clockEventReasons).toBe(1);
    // Not reported: the fan ([N/A]) and the memory temperature (a field this driver rejects); and GPU 1 is lost.
    expect(gpu0("fan_speed_ratio")).toEqual([]);
    expect(gpu0("temperature_memory")).toEqual([]);
    const smiSeries = series.filter((s) => s.name.startsWith("nvidia_smi_") && s.labels.uuid !== undefined);
    expect(new Set(smiSeries.map((s) => s.labels.uuid))).toEqual(new Set([uuid]));
  });

  it("exports the energy counter in joules and the Xid errors by GPU and Xid, nvidia_gpu_exporter's way (NVML)", async () => {
    const client = trpcClient(onNvml.url);
    await waitFor(async () => ((await client.gpus.xidErrors.query()).events.length >= 2 ? true : undefined), 20_000, "two Xid errors");
    const series = parseExposition(await scrape(onNvml));
    const gpus = await client.gpus.list.query();
    const uuidOf = (index: number) =>
      gpus
        .find((g) => g.index === index)!
        .uuid.toLowerCase()
        .replace(/^gpu-/, "");
    const values = (name: string) => series.filter((s) => s.name === name).map((s) => [s.labels.uuid, s.labels.xid, s.value]);
    expect(values("nvidia_smi_energy_joules_total")).toEqual([
      [uuidOf(0), undefined, 4122.825],
      [uuidOf(1), undefined, 4123.825],
    ]);
    expect(values("nvidia_smi_xid_errors_total")).toEqual([
      [uuidOf(1), "48", 1],
      [uuidOf(1), "79", 1],
    ]);
    expect(values("nvidia_smi_xid_last_timestamp_seconds").map(([uuid, xid]) => [uuid, xid])).toEqual([
      [uuidOf(1), "48"],
      [uuidOf(1), "79"],
    ]);
  });

  it("leaves out what is not reported instead of exporting 0: an unknown field, and every reading of a lost GPU", async () => {
    const series = parseExposition(await scrape());
    expect(series.filter((s) => s.name === "DCGM_FI_DEV_MEMORY_TEMP")).toEqual([]);
    expect(series.filter((s) => s.name.startsWith("DCGM_FI_") && s.labels.gpu === "1")).toEqual([]);
    const up = series.filter((s) => s.name === "nvoc_gpu_up");
    expect(up.map((s) => [s.labels.gpu, s.labels.state, s.value])).toEqual([
      ["0", "reporting", 1],
      ["1", "lost", 0],
    ]);
  });

  it("exports the recorder's own health", async () => {
    const series = parseExposition(await scrape());
    const one = (name: string) => series.find((s) => s.name === name);
    const status = await trpcClient(server.url).collector.status.query();
    expect(one("nvoc_samples_total")!.value).toBeGreaterThan(0);
    expect(one("nvoc_samples_total")!.value).toBeLessThanOrEqual(status.collected);
    expect(one("nvoc_write_failures_total")!.value).toBe(0);
    expect(one("nvoc_source_up")).toMatchObject({ labels: { source: "nvidia-smi", synthetic: "false" }, value: 1 });
    expect(one("nvoc_db_up")!.value).toBe(1);
    expect(one("nvoc_values_rejected_total")!.value).toBe(0);
    expect(one("nvoc_db_quarantined_rows")!.value).toBe(0);
    expect(one("nvoc_db_size_bytes")!.labels.path).toBe(path.join(dir, "telemetry.db"));
    expect(one("nvoc_db_size_bytes")!.value).toBeGreaterThan(0);
    expect(one("nvoc_process_resident_memory_bytes")!.value).toBeGreaterThan(0);
    // prom-client's standard families, for generic process dashboards.
    expect(one("process_resident_memory_bytes")!.value).toBeGreaterThan(0);
    expect(one("process_start_time_seconds")!.value).toBeGreaterThan(0);
    expect(one("nodejs_heap_size_used_bytes")!.value).toBeGreaterThan(0);
  });

  it("exports what each in-memory cache holds, within its budget", async () => {
    const history = await fetch(`${server.url}/api/telemetry/history?limit=1000`);
    expect(history.status).toBe(200);
    expect(((await history.json()) as unknown[]).length).toBeGreaterThan(0);
    const caches = new Map(
      parseExposition(await scrape())
        .filter((s) => s.name === "nvoc_cache_bytes")
        .map((s) => [s.labels.cache, s.value]),
    );
    expect([...caches.keys()].sort()).toEqual(["answer_buffers", "decoded_chunks", "decoded_columns", "record_json", "series_buckets"]);
    expect(caches.get("record_json")).toBeGreaterThan(0);
    expect(caches.get("record_json")).toBeLessThanOrEqual(RECORD_JSON_BYTES_KEPT);
    expect(caches.get("decoded_chunks")).toBeLessThanOrEqual(DECODED_BYTES_KEPT);
    expect(caches.get("decoded_columns")).toBeLessThanOrEqual(DECODED_COLUMN_BYTES_KEPT);
    expect(caches.get("series_buckets")).toBeLessThanOrEqual(SERIES_BUCKET_BYTES_KEPT);
    expect(caches.get("answer_buffers")).toBeLessThanOrEqual(2 * 4 * 2 ** 20);
  });

  it("reads the reserve, the video engines, the PCIe replays and the bus id from NVML", async () => {
    const series = parseExposition(await scrape(onNvml)).filter((s) => s.labels.gpu === "0");
    const one = (name: string) => series.filter((s) => s.name === name).map((s) => s.value);
    // The fake's reserve: 644,939,776 bytes, 615 whole MiB; the _v2 memory call tells it apart from used.
    expect(one("DCGM_FI_DEV_FB_RESERVED")).toEqual([615]);
    expect(one("DCGM_FI_DEV_FB_FREE")).toEqual([one("DCGM_FI_DEV_FB_TOTAL")[0] - one("DCGM_FI_DEV_FB_USED")[0] - 615]);
    expect(one("DCGM_FI_DEV_ENC_UTIL")).toEqual([0]);
    expect(one("DCGM_FI_DEV_DEC_UTIL")).toEqual([0]);
    expect(one("DCGM_FI_DEV_PCIE_REPLAY_COUNTER")).toEqual([1]);
    expect(await scrape(onNvml)).toMatch(/^# TYPE DCGM_FI_DEV_PCIE_REPLAY_COUNTER counter$/m);
    expect(series.find((s) => s.name === "DCGM_FI_DEV_GPU_TEMP")?.labels.pci_bus_id).toBe("00000000:06:00.0");
    // nvidia-smi has no PCIe replay field to query: left out there.
    expect(parseExposition(await scrape()).filter((s) => s.name === "DCGM_FI_DEV_PCIE_REPLAY_COUNTER")).toEqual([]);
  });

  it("exports the energy counter where the source reads one (NVML), and leaves it out where it cannot (nvidia-smi)", async () => {
    const energy = parseExposition(await scrape(onNvml)).filter((s) => s.name === "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
    expect(energy.map((s) => [s.labels.gpu, s.labels.device, s.value])).toEqual([
      ["0", "nvidia0", 4_122_825],
      ["1", "nvidia1", 4_123_825],
    ]);
    expect(await scrape(onNvml)).toMatch(/^# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter$/m);
    expect(parseExposition(await scrape()).filter((s) => s.name === "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")).toEqual([]);
  });

  it("exports the memory error counters under dcgm-exporter's names, each GPU's as its source reads them", async () => {
    const worn = parseExposition(await scrape(onNvml));
    const of = (series: Series[], gpu: string) =>
      Object.fromEntries(
        series.filter((s) => /^DCGM_FI_DEV_(ECC|.*REMAP|RETIRED)/.test(s.name) && s.labels.gpu === gpu).map((s) => [s.name, s.value]),
      );
    const wornCounters = {
      DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: 12,
      DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: 1,
      DCGM_FI_DEV_ECC_SBE_AGG_TOTAL: 340,
      DCGM_FI_DEV_ECC_DBE_AGG_TOTAL: 2,
      DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: 5,
      DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: 1,
      DCGM_FI_DEV_ROW_REMAP_PENDING: 1,
      DCGM_FI_DEV_ROW_REMAP_FAILURE: 0,
    };
    // Page retirement is not kept on this card (NOT_SUPPORTED): left out, not 0.
    expect(of(worn, "0")).toEqual(wornCounters);
    expect(of(worn, "1")).toEqual(wornCounters);
    const text = await scrape(onNvml);
    expect(text).toMatch(/^# TYPE DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS counter$/m);
    expect(text).toMatch(/^# TYPE DCGM_FI_DEV_ROW_REMAP_FAILURE gauge$/m);

    // nvidia-smi on the healthy H200 capture: all zero; the lost GPU 1 says nothing.
    const healthy = parseExposition(await scrape());
    expect(of(healthy, "0")).toEqual(Object.fromEntries(Object.keys(wornCounters).map((name) => [name, 0])));
    expect(of(healthy, "1")).toEqual({});
  });

  it("exports each GPU's last Xid error where the source sees them (NVML), and lists them over tRPC and REST", async () => {
    const client = trpcClient(onNvml.url);
    const listing = await waitFor(
      async () => {
        const answer = await client.gpus.xidErrors.query();
        return answer.events.length >= 2 ? answer : undefined;
      },
      20_000,
      "two Xid errors",
    );
    expect(listing.supported).toBe(true);
    expect(listing.events.map((e) => [e.gpuIndex, e.xid, e.meaning])).toEqual([
      [1, 79, "GPU has fallen off the bus"],
      [1, 48, "double-bit ECC error"],
    ]);
    expect((await client.gpus.xidErrors.query({ gpuIndex: 0 })).events).toEqual([]);
    const rest = (await (await fetch(`${onNvml.url}/api/telemetry/xid-errors?gpu_index=1`)).json()) as {
      supported: boolean;
      events: Array<Record<string, unknown>>;
    };
    expect(rest.events[0]).toEqual({
      at: new Date(listing.events[0].at).toISOString(),
      gpu_index: 1,
      gpu_uuid: listing.events[0].gpuUuid,
      xid: 79,
      meaning: "GPU has fallen off the bus",
    });

    const xid = parseExposition(await scrape(onNvml)).filter((s) => s.name === "DCGM_FI_DEV_XID_ERRORS");
    expect(xid.map((s) => [s.labels.gpu, s.labels.err_code, s.labels.err_msg, s.value])).toEqual([
      ["1", "79", "GPU has fallen off the bus", 79],
    ]);
    // nvidia-smi cannot see them: unsupported, and nothing exported.
    expect(await trpcClient(server.url).gpus.xidErrors.query()).toEqual({ supported: false, events: [] });
    expect(parseExposition(await scrape()).filter((s) => s.name === "DCGM_FI_DEV_XID_ERRORS")).toEqual([]);
  });

  it("answers only GET and HEAD", async () => {
    expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${server.url}/metrics`, { method: "HEAD" })).status).toBe(200);
  });
});
