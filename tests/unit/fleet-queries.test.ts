import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/server/config";
import { gpuState } from "../../src/server/fleet/fleet-gpus";
import { fleetSeriesInput } from "../../src/server/fleet/fleet-inputs";
import { stepFor } from "../../src/server/fleet/fleet-series";
import { labelValue, matchers, promString } from "../../src/server/fleet/promql";
import { durationMs } from "../../src/server/fleet/scrape-intervals";
import type { FleetGpuRow } from "../../src/lib/api-types";
import { filterGpus, NO_FILTER, sortGpus } from "../../src/lib/fleet-rows";

describe("PromQL built from label values", () => {
  it("writes each value as one string literal, whatever it holds", () => {
    expect(promString('x"} or vector(1) #')).toBe('"x\\"} or vector(1) #"');
    expect(promString("a\\b\nc")).toBe('"a\\\\b\\nc"');
    expect(matchers({ instance: "host-7:9400", UUID: "GPU-1" })).toBe('{instance="host-7:9400",UUID="GPU-1"}');
    expect(matchers({})).toBe("");
    expect(() => matchers({ "a}": "x" })).toThrow(/not a label name/);
  });

  it("accepts the values exporters use and refuses quotes, braces, backslashes and line breaks", () => {
    const instance = labelValue("instance");
    for (const ok of ["gpu-07.example.org:9400", "NVIDIA H200 (simulated)", "GPU-5a4d0000-0000-4000-8000-000000000001", "[::1]:8000"])
      expect(instance.safeParse(ok).success).toBe(true);
    for (const bad of ['a"b', "a{b}", "a\\b", "a\nb", "", "x".repeat(201)]) {
      const result = instance.safeParse(bad);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0].message).toMatch(/^instance may hold only/);
    }
  });
});

describe("fleet.series input and steps", () => {
  const hour = 3_600_000;
  it("steps in whole seconds, never under one, about maxPoints per range", () => {
    expect(stepFor({ from: 0, to: hour, maxPoints: 300 })).toBe(12_000);
    expect(stepFor({ from: 0, to: 90 * 24 * hour, maxPoints: 300 })).toBe(25_920_000);
    expect(stepFor({ from: 0, to: 60_000, maxPoints: 1000 })).toBe(1000);
  });

  it("names the field of a range that is backwards, too short or too long", () => {
    const problem = (input: object) => fleetSeriesInput.safeParse({ group: { kind: "all" }, ...input }).error?.issues[0];
    expect(problem({ from: 10, to: 5 })).toMatchObject({ path: ["to"], message: "to must be after from" });
    expect(problem({ from: 0, to: 1000 })?.message).toBe("the range must span at least a minute");
    expect(problem({ from: 0, to: 91 * 24 * hour })?.message).toBe("the range may span at most 90 days");
    expect(problem({ from: 0, to: hour, maxPoints: 5000 })?.path).toEqual(["maxPoints"]);
  });
});

describe("a fleet GPU's state", () => {
  const now = 1_000_000;
  it("is stale once its newest sample is older than three scrape intervals, or when none is left", () => {
    expect(gpuState({ newestSampleAt: now - 3000, now, scrapeIntervalMs: 1000 })).toBe("reporting");
    expect(gpuState({ newestSampleAt: now - 3001, now, scrapeIntervalMs: 1000 })).toBe("stale");
    expect(gpuState({ newestSampleAt: now - 40_000, now, scrapeIntervalMs: 15_000 })).toBe("reporting");
    expect(gpuState({ newestSampleAt: null, now, scrapeIntervalMs: 1000 })).toBe("stale");
  });

  it("follows its recorder when that says the GPU went silent or was lost", () => {
    expect(gpuState({ newestSampleAt: now, now, scrapeIntervalMs: 1000, recorderSays: "stale" })).toBe("stale");
    expect(gpuState({ newestSampleAt: null, now, scrapeIntervalMs: 1000, recorderSays: "lost" })).toBe("lost");
    expect(gpuState({ newestSampleAt: now, now, scrapeIntervalMs: 1000, recorderSays: "reporting" })).toBe("reporting");
  });
});

describe("Prometheus durations", () => {
  it("reads the scrape intervals the targets API reports", () => {
    expect(durationMs("1s")).toBe(1000);
    expect(durationMs("1m30s")).toBe(90_000);
    expect(durationMs("500ms")).toBe(500);
    expect(durationMs("soon")).toBeNull();
    expect(durationMs("0s")).toBeNull();
  });
});

describe("the Fleet settings", () => {
  it("takes a Prometheus URL with optional credentials and a token, and a public URL", () => {
    const config = loadConfig({ NVOC_PROMETHEUS_URL: "https://u:p@prom.example.org/prometheus/", NVOC_PROMETHEUS_TOKEN: "t0k" });
    expect(config.prometheus).toEqual({ url: "https://u:p@prom.example.org/prometheus", token: "t0k" });
    expect(loadConfig({}).prometheus).toBeNull();
    expect(loadConfig({ NVOC_PUBLIC_URL: "https://gpu-07.example.org:8000" }).publicUrl).toBe("https://gpu-07.example.org:8000");
  });

  it("names the variable that is wrong", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return error instanceof ConfigError ? error.problems : [String(error)];
      }
    };
    expect(problems({ NVOC_PROMETHEUS_URL: "prom:9090" })[0]).toMatch(/^NVOC_PROMETHEUS_URL must be an http/);
    expect(problems({ NVOC_PROMETHEUS_URL: "http://prom:9090/?x=1" })[0]).toMatch(/^NVOC_PROMETHEUS_URL must be/);
    expect(problems({ NVOC_PUBLIC_URL: "ftp://x" })[0]).toMatch(/^NVOC_PUBLIC_URL must be/);
    expect(problems({ NVOC_PROMETHEUS_TOKEN: "t0k" })[0]).toMatch(/^NVOC_PROMETHEUS_TOKEN: set without NVOC_PROMETHEUS_URL/);
  });
});

describe("the Fleet table's filters and order", () => {
  const gpu = (instance: string, index: string, temperatureC: number | null, state: FleetGpuRow["state"] = "reporting"): FleetGpuRow => ({
    key: `${instance}/${index}`,
    instance,
    host: instance.split(":")[0],
    uuid: `GPU-${index}`,
    index,
    model: instance.startsWith("a") ? "A100" : "H200",
    exporter: "nvidia-oc",
    recorderUrl: null,
    state,
    newestSampleAt: null,
    scrapeIntervalMs: 1000,
    readings: {
      temperatureC,
      powerDrawW: null,
      powerLimitW: null,
      gpuUtilizationPct: null,
      memoryUsedMib: null,
      memoryFreeMib: null,
      graphicsClockMhz: null,
    },
    clockReasons: null,
  });
  const gpus = [gpu("a1:9400", "0", 50), gpu("b2:9400", "0", null, "stale"), gpu("b2:9400", "1", 70), gpu("a1:9400", "1", 30)];

  it("filters by part of the host, by model and by state", () => {
    expect(filterGpus(gpus, { ...NO_FILTER, host: "B2" }).map((g) => g.key)).toEqual(["b2:9400/0", "b2:9400/1"]);
    expect(filterGpus(gpus, { ...NO_FILTER, model: "A100" })).toHaveLength(2);
    expect(filterGpus(gpus, { ...NO_FILTER, state: "stale" }).map((g) => g.key)).toEqual(["b2:9400/0"]);
  });

  it("sorts either way with unknown readings last", () => {
    const keys = (descending: boolean) => sortGpus(gpus, { column: "temperature", descending }).map((g) => g.readings.temperatureC);
    expect(keys(false)).toEqual([30, 50, 70, null]);
    expect(keys(true)).toEqual([70, 50, 30, null]);
  });
});
