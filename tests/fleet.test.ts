import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import { type Fleet, instanceOf, LARGE_GPUS, LARGE_PUBLIC_URL, SMALL_GPUS, startFleet } from "./helpers/fleet-setup";
import { DCGM_GPU } from "./helpers/dcgm-exporter-stand-in";
import { ROOT, trpcClient, waitFor } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir("nvoc-fleet-");
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet(dir, { dcgmExporter: true });
});

afterAll(async () => {
  await fleet?.stop();
});

const HOUR_MS = 3_600_000;

/** The error a call failed with, as a client sees it. */
async function failureOf(call: Promise<unknown>) {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof TRPCClientError)) throw new Error(`expected a tRPC error, got ${String(error)}`);
  return { message: error.message, data: error.data as { code: string; httpStatus: number } };
}

/** The two recorders' GPUs and the dcgm-exporter host's one. */
const ALL_GPUS = SMALL_GPUS + LARGE_GPUS + 1;

describe("fleet.gpus over a real Prometheus scraping two recorders and a dcgm-exporter", () => {
  it("lists every GPU of both recorders, reporting, with readings and each host's recorder URL", async () => {
    const api = trpcClient(fleet.viewer.url);
    const { gpus, hosts, totals } = await api.fleet.gpus.query();
    expect(gpus).toHaveLength(ALL_GPUS);
    const ofSmall = gpus.filter((g) => g.instance === instanceOf(fleet.small));
    const ofLarge = gpus.filter((g) => g.instance === instanceOf(fleet.large));
    expect([ofSmall.length, ofLarge.length]).toEqual([SMALL_GPUS, LARGE_GPUS]);
    for (const gpu of [...ofSmall, ...ofLarge]) {
      expect(gpu.state).toBe("reporting");
      expect(gpu.model).toBe("NVIDIA H200 (simulated)");
      expect(gpu.exporter).toBe("nvidia-oc");
      expect(gpu.scrapeIntervalMs).toBe(1000);
      expect(gpu.readings.temperatureC).toBeGreaterThan(0);
      expect(gpu.readings.powerLimitW).toBeGreaterThan(0);
      expect(gpu.readings.memoryFreeMib).not.toBeNull();
      expect(Array.isArray(gpu.clockReasons)).toBe(true);
    }
    expect(new Set(gpus.map((g) => g.key)).size).toBe(gpus.length);
    expect(Object.fromEntries(hosts.map((h) => [h.instance, [h.gpus, h.recorderUrl]]))).toEqual({
      [instanceOf(fleet.small)]: [SMALL_GPUS, fleet.small.url],
      [instanceOf(fleet.large)]: [LARGE_GPUS, LARGE_PUBLIC_URL],
      [fleet.dcgmExporter!]: [1, null],
    });
    expect(totals.gpus).toBe(ALL_GPUS);
    expect(totals.reporting).toBe(ALL_GPUS);
    // The simulated GPUs idle; the A100 is at 97 %.
    expect(totals.busy).toBe(1);
    expect(totals.powerDrawW).toBeCloseTo(
      gpus.reduce((sum, g) => sum + (g.readings.powerDrawW ?? 0), 0),
      6,
    );
    expect(totals.hottest?.temperatureC).toBe(Math.max(...gpus.map((g) => g.readings.temperatureC ?? -Infinity)));
  });

  it("lists a dcgm-exporter's GPU by its labels, with the newer clock reasons name and no recorder to link to", async () => {
    const { gpus } = await trpcClient(fleet.viewer.url).fleet.gpus.query();
    expect(gpus.find((g) => g.instance === fleet.dcgmExporter)).toMatchObject({
      uuid: DCGM_GPU.uuid,
      host: DCGM_GPU.hostname,
      model: DCGM_GPU.model,
      index: "0",
      exporter: "dcgm-exporter",
      recorderUrl: null,
      state: "reporting",
      clockReasons: ["SW power cap"],
      readings: {
        temperatureC: DCGM_GPU.temperatureC,
        gpuUtilizationPct: DCGM_GPU.utilizationPct,
        powerDrawW: DCGM_GPU.powerW,
        powerLimitW: null,
        memoryUsedMib: 80_000,
        memoryFreeMib: 1024,
      },
    });
  });

  it("exports nvoc_info with the recorder's URL, version and host name", async () => {
    const text = await (await fetch(`${fleet.small.url}/metrics`)).text();
    const { version } = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, "utf8")) as { version: string };
    expect(text).toContain(`nvoc_info{url="${fleet.small.url}",version="${version}",hostname="${os.hostname()}"} 1\n`);
  });

  it("says Fleet is on, and which Prometheus it reads", async () => {
    const status = await trpcClient(fleet.viewer.url).fleet.status.query();
    expect(status).toMatchObject({ configured: true, prometheusUrl: fleet.prometheus.url });
  });

  it("tells a recorder without NVOC_PROMETHEUS_URL what to set, as a 412, not a 500", async () => {
    const api = trpcClient(fleet.small.url);
    expect(await api.fleet.status.query()).toMatchObject({ configured: false, prometheusUrl: null });
    const failure = await failureOf(api.fleet.gpus.query());
    expect(failure.data.code).toBe("PRECONDITION_FAILED");
    expect(failure.message).toMatch(/NVOC_PROMETHEUS_URL/);
  });
});

describe("fleet.series", () => {
  it("charts one host's GPUs over the last hour: min, max and average per step, and the host's totals", async () => {
    const api = trpcClient(fleet.viewer.url);
    const group = { kind: "host" as const, instance: instanceOf(fleet.large) };
    const series = await waitFor(
      async () => {
        const to = Date.now();
        const answer = await api.fleet.series.query({ group, from: to - HOUR_MS, to, maxPoints: 360 });
        return answer.t.length > 0 ? answer : undefined;
      },
      20_000,
      "a step with samples",
    );
    expect(series.bucketMs).toBe(10_000);
    const last = series.t.length - 1;
    const temperature = series.metrics.temperatureC;
    expect(temperature.avg[last]).toBeGreaterThan(0);
    expect(temperature.min[last]!).toBeLessThanOrEqual(temperature.avg[last]!);
    expect(temperature.max[last]!).toBeGreaterThanOrEqual(temperature.avg[last]!);
    expect(series.totals.gpus[last]).toBe(LARGE_GPUS);
    expect(series.totals.hottestC).toEqual(temperature.max);
    expect(series.totals.powerDrawW[last]).toBeGreaterThan(0);
  });

  it("covers the whole fleet, one model, or one GPU", async () => {
    const api = trpcClient(fleet.viewer.url);
    const to = Date.now();
    const all = await api.fleet.series.query({ group: { kind: "all" }, from: to - HOUR_MS, to });
    expect(Math.max(...all.totals.gpus.map((n) => n ?? 0))).toBe(ALL_GPUS);
    expect(Math.max(...all.totals.busy.map((n) => n ?? 0))).toBe(1);
    const a100 = await api.fleet.series.query({ group: { kind: "model", model: DCGM_GPU.model }, from: to - HOUR_MS, to });
    expect(Math.max(...a100.totals.gpus.map((n) => n ?? 0))).toBe(1);
    expect(a100.metrics.gpuUtilizationPct.avg.filter((v) => v !== null)).toEqual(a100.t.map(() => DCGM_GPU.utilizationPct));
    const { gpus } = await api.fleet.gpus.query();
    const one = gpus.find((g) => g.instance === instanceOf(fleet.small))!;
    const single = await api.fleet.series.query({ group: { kind: "gpu", instance: one.instance, uuid: one.uuid }, from: to - HOUR_MS, to });
    expect(Math.max(...single.totals.gpus.map((n) => n ?? 0))).toBe(1);
  });

  it("refuses label values that could change the query, naming the field", async () => {
    const api = trpcClient(fleet.viewer.url);
    const to = Date.now();
    for (const instance of ['x"} or vector(1) #', "a\\b", "a{b}", "a\nb", ""]) {
      const failure = await failureOf(api.fleet.series.query({ group: { kind: "host", instance }, from: to - HOUR_MS, to }));
      expect(failure.data.code).toBe("BAD_REQUEST");
      expect(failure.message).toMatch(/^group\.instance: /);
    }
    const tooLong = await failureOf(api.fleet.series.query({ group: { kind: "all" }, from: to - 91 * 24 * HOUR_MS, to }));
    expect(tooLong.message).toMatch(/^to: the range may span at most 90 days/);
  });
});

describe("a recorder that stops, and Prometheus going down", () => {
  it("shows the stopped recorder's GPUs as stale, keeping their last readings, and the other's as reporting", async () => {
    const api = trpcClient(fleet.viewer.url);
    await fleet.large.stop();
    const { gpus, hosts } = await waitFor(
      async () => {
        const answer = await api.fleet.gpus.query();
        return answer.gpus.filter((g) => g.state === "stale").length === LARGE_GPUS ? answer : undefined;
      },
      20_000,
      "the stopped recorder's GPUs to be stale",
    );
    for (const gpu of gpus) {
      expect(gpu.state).toBe(gpu.instance === instanceOf(fleet.large) ? "stale" : "reporting");
      expect(gpu.readings.temperatureC).toBeGreaterThan(0);
    }
    expect(hosts.find((h) => h.instance === instanceOf(fleet.large))?.stale).toBe(LARGE_GPUS);
  });

  it("answers 502 with the reason when Prometheus cannot be reached", async () => {
    await fleet.prometheus.stop();
    const failure = await failureOf(trpcClient(fleet.viewer.url).fleet.gpus.query());
    expect(failure.data.code).toBe("BAD_GATEWAY");
    expect(failure.message).toContain(`Prometheus at ${fleet.prometheus.url} cannot be reached`);
    const raw = await fetch(`${fleet.viewer.url}/api/trpc/fleet.gpus`);
    expect(raw.status).toBe(502);
    expect((await trpcClient(fleet.viewer.url).fleet.status.query()).failedQueries).toBeGreaterThan(0);
    await fleet.viewer.waitForLog((line) => line.msg === "Prometheus query failed" && line.reason === "unreachable");
  });
});
