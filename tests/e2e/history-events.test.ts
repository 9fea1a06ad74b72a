import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventRecorder } from "../../src/server/collector/event-recorder";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { CLOCK_EVENT_REASON_BITS } from "../../src/telemetry/clock-event-reasons";
import type { GpuSample } from "../../src/telemetry/types";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

/**
 * A recorded afternoon that explains itself: two runs of the recorder with ten minutes
 * stopped between them, a thermal slowdown, a power limit lowered and an Xid, all written
 * by the real store and event recorder, then served by the real server to real Chromium.
 */

const dir = tempDir("nvoc-e2e-events-");
const MINUTE = 60_000;
const STEP_MS = 5000;
/** Buckets round where a span starts and ends; the history here spans 47 minutes in about 600 of them. */
const BUCKET_SLACK_MS = 90_000;

const start = Math.floor((Date.now() - 50 * MINUTE) / 1000) * 1000;
const xidAt = start + 5 * MINUTE;
const thermal = { from: start + 8 * MINUTE, to: start + 12 * MINUTE };
const powerLimitAt = start + 15 * MINUTE;
const stoppedAt = start + 20 * MINUTE;
const restartedAt = start + 30 * MINUTE;
const historyEnd = start + 45 * MINUTE;
const THERMAL_BITS = CLOCK_EVENT_REASON_BITS.hwThermalSlowdown | CLOCK_EVENT_REASON_BITS.swThermalSlowdown;

let server: ServerProcess;
let browser: Browser;
let gpuUuid = "";

/** GPU 0 runs hot between the thermal times and at the lower power limit from its change on. */
function scripted(samples: GpuSample[]): GpuSample[] {
  return samples.map((sample) => {
    if (sample.index !== 0) return sample;
    const hot = sample.timestamp >= thermal.from && sample.timestamp < thermal.to;
    return {
      ...sample,
      clockEventReasons: hot ? THERMAL_BITS : sample.clockEventReasons,
      powerLimitW: sample.timestamp >= powerLimitAt ? 450 : sample.powerLimitW,
    };
  });
}

/** Writes the two runs as the collector would: each run's start, its samples and what they changed, the first run's stop. */
function recordTwoRuns(dbPath: string) {
  const first = simulatedSamples({ gpus: 2, count: (stoppedAt - start) / STEP_MS, start, stepMs: STEP_MS });
  const second = simulatedSamples({ gpus: 2, count: (historyEnd - restartedAt) / STEP_MS, start: restartedAt, stepMs: STEP_MS });
  const infoFor = infoLookup(first.infos);
  const { store } = TelemetryStore.open(dbPath);
  try {
    store.registerGpus(first.infos, start);
    const runs: Array<{ at: number; samples: GpuSample[]; xids: boolean; stopAt: number | null }> = [
      { at: start, samples: scripted(first.samples), xids: true, stopAt: stoppedAt },
      { at: restartedAt, samples: scripted(second.samples), xids: false, stopAt: null },
    ];
    for (const run of runs) {
      const recorder = new EventRecorder(run.at);
      recorder.write(store, infoFor);
      for (const sample of run.samples) recorder.sampled(sample, store);
      if (run.xids) recorder.xidErrors([{ gpuUuid: first.infos[0].uuid, xid: 79, at: xidAt }]);
      store.writeSamples(run.samples, infoFor);
      if (run.stopAt !== null) recorder.stopped(run.stopAt);
      recorder.write(store, infoFor);
    }
  } finally {
    store.close();
  }
  return first.infos[0].uuid;
}

beforeAll(async () => {
  const dbPath = path.join(dir, "telemetry.db");
  gpuUuid = recordTwoRuns(dbPath);
  [server, browser] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "1000", NVOC_DB_PATH: dbPath }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const CHARTS = ["temperature", "power", "clocks", "clock-reasons", "utilization", "memory"];

async function openHistory(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${server.url}/history?gpu=${gpuUuid}&range=custom&from=${start - MINUTE}&to=${historyEnd + MINUTE}`);
  await page.waitForFunction(
    (count) => document.querySelectorAll(".chart-markers li[data-event=xid]:not([hidden])").length === count,
    CHARTS.length,
  );
  expect(errors).toEqual([]);
  return page;
}

/** What each chart lays over its plot, by chart. */
const overlays = (page: Page) =>
  page.$$eval("[data-testid=chart]", (figures) =>
    figures.map((figure) => ({
      chart: figure.getAttribute("data-chart"),
      markers: [...figure.querySelectorAll(".chart-markers li")].map((li) => ({
        kind: li.getAttribute("data-event"),
        at: Number(li.getAttribute("data-at")),
        hidden: (li as HTMLElement).hidden,
      })),
      gaps: [...figure.querySelectorAll(".chart-gaps li")].map((li) => ({
        reason: li.getAttribute("data-reason"),
        from: Number(li.getAttribute("data-from")),
        to: Number(li.getAttribute("data-to")),
        label: li.textContent,
        hidden: (li as HTMLElement).hidden,
      })),
    })),
  );

describe("history with events and a stopped recorder", () => {
  it("marks the Xid and the power limit change on every chart, and names them on hover", async () => {
    const page = await openHistory();
    const charts = await overlays(page);
    expect(charts.map((c) => c.chart)).toEqual(CHARTS);
    for (const { chart, markers } of charts) {
      expect(
        markers.filter((m) => m.kind === "xid"),
        chart!,
      ).toEqual([{ kind: "xid", at: xidAt, hidden: false }]);
      expect(
        markers.filter((m) => m.kind === "power_limit_changed"),
        chart!,
      ).toEqual([{ kind: "power_limit_changed", at: powerLimitAt, hidden: false }]);
    }
    // The same events the list under the charts names.
    const listed = await page.$$eval("[data-events] li", (items) =>
      items.map((li) => `${li.getAttribute("data-event")} ${li.getAttribute("data-at")}`),
    );
    expect(listed).toEqual(expect.arrayContaining([`xid ${xidAt}`, `power_limit_changed ${powerLimitAt}`]));

    const power = page.locator("[data-chart=power] .chart-markers li[data-event=power_limit_changed]");
    await power.hover();
    await expect.poll(() => power.locator(".chart-marker-label").isVisible()).toBe(true);
    expect(await power.locator(".chart-marker-label").innerText()).toContain("power limit 700 W → 450 W");
    await screenshot(page, "history-event-marker.png");
    const xid = page.locator("[data-chart=temperature] .chart-markers li[data-event=xid]");
    await xid.hover();
    await expect.poll(() => xid.locator(".chart-marker-label").isVisible()).toBe(true);
    expect(await xid.locator(".chart-marker-label").innerText()).toContain("Xid 79 (GPU has fallen off the bus)");

    // Each marker stands where its time is on the chart's own axis: the power limit change two thirds
    // of the way from the Xid to the gap's start, as its time is.
    const placed = await page.$eval("[data-chart=clocks]", (figure) => {
      const middle = (selector: string) => {
        const box = figure.querySelector(selector)!.getBoundingClientRect();
        return box.left + box.width / 2;
      };
      const gap = figure.querySelector<HTMLElement>(".chart-gaps li")!;
      return {
        xid: middle(".chart-markers li[data-event=xid]"),
        power: middle(".chart-markers li[data-event=power_limit_changed]"),
        gapLeft: gap.getBoundingClientRect().left,
        gapFrom: Number(gap.dataset.from),
      };
    });
    const expected = (powerLimitAt - xidAt) / (placed.gapFrom - xidAt);
    expect((placed.power - placed.xid) / (placed.gapLeft - placed.xid)).toBeCloseTo(expected, 1);
    await page.context().close();
  });

  it("shows the recorder's stop as a gap with its reason on every chart", async () => {
    const page = await openHistory();
    for (const { chart, gaps } of await overlays(page)) {
      expect(gaps, chart!).toHaveLength(1);
      const [gap] = gaps;
      expect(gap, chart!).toMatchObject({ reason: "recorder_stopped", label: "recorder stopped", hidden: false });
      expect(gap.from).toBeGreaterThanOrEqual(stoppedAt - STEP_MS);
      expect(gap.from).toBeLessThan(stoppedAt + BUCKET_SLACK_MS);
      expect(gap.to).toBeGreaterThan(restartedAt - BUCKET_SLACK_MS);
      expect(gap.to).toBeLessThanOrEqual(restartedAt);
    }
    await page.context().close();
  });

  it("draws the thermal slowdown in the clock reason lanes over the time it held the clocks back", async () => {
    const page = await openHistory();
    const lanes = (await page.getAttribute("[data-chart=clock-reasons] [data-lanes]", "data-lanes"))!.split(" ");
    expect(lanes).toEqual(expect.arrayContaining(["hwThermalSlowdown", "swThermalSlowdown"]));
    const spans = await page.$$eval("[data-chart=clock-reasons] [data-held-spans] li", (items) =>
      items.map((li) => ({
        reason: li.getAttribute("data-reason"),
        from: Number(li.getAttribute("data-from")),
        to: Number(li.getAttribute("data-to")),
      })),
    );
    for (const reason of ["hwThermalSlowdown", "swThermalSlowdown"]) {
      const held = spans.filter((span) => span.reason === reason);
      expect(held, reason).toHaveLength(1);
      expect(held[0].from).toBeGreaterThan(thermal.from - BUCKET_SLACK_MS);
      expect(held[0].from).toBeLessThanOrEqual(thermal.from);
      expect(held[0].to).toBeGreaterThanOrEqual(thermal.to - STEP_MS);
      expect(held[0].to).toBeLessThan(thermal.to + BUCKET_SLACK_MS);
    }
    await page.context().close();
  });
});
