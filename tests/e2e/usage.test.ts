import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import type { SessionFigures } from "../../src/server/storage/process-sessions";
import { gibFromMib, integer } from "../../src/lib/format";
import { durationText, energyText, hoursText } from "../../src/components/usage/usage-figures";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

/**
 * The usage page in Chromium on a real server of simulated GPUs, whose jobs
 * (alice, bob, carol, dave) come and go as it runs. Sessions of two more users
 * are written beforehand, ended, so their figures stay put while the page is read.
 */

const dir = tempDir("nvoc-e2e-usage-");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const GPUS = 2;
const now = Date.now();
let server: ServerProcess;
let browser: Browser;
let client: ReturnType<typeof trpcClient>;
const pageErrors: string[] = [];

function ended(
  gpuId: number,
  user: string,
  pid: number,
  startedAt: number,
  minutes: number,
  extra: Partial<SessionFigures> = {},
): SessionFigures {
  const seconds = minutes * 60;
  return {
    gpuId,
    pid,
    processName: "python3",
    command: "python3 train.py",
    user,
    container: null,
    startedAt,
    lastSeen: startedAt + minutes * MINUTE,
    endedAt: startedAt + minutes * MINUTE,
    peakMemoryMib: 8192,
    memoryMibSum: 8192 * seconds,
    memoryReadings: seconds,
    gpuSeconds: seconds,
    busySeconds: seconds / 2,
    smUtilSum: 50 * seconds,
    smUtilReadings: seconds,
    energyJ: 300 * seconds,
    longestIdleMs: 0,
    longestIdleFrom: null,
    idleMemoryMib: null,
    ...extra,
  };
}

/** Two hours of both GPUs, and sessions of erin and frank: erin's notebook held 4 GiB idle for 45 minutes three hours ago. */
const SEEDED_USERS = ["erin", "frank"];
const SEEDED_SESSIONS = 4;
const SIMULATED_USERS = ["alice", "bob", "carol", "dave"];
function seed(dbPath: string) {
  const history = simulatedSamples({ gpus: GPUS, count: (4 * HOUR) / 10_000, start: now - 4 * HOUR, stepMs: 10_000 });
  const { store } = TelemetryStore.open(dbPath);
  try {
    const [gpu0, gpu1] = store.registerGpus(history.infos, now - 4 * HOUR);
    store.writeSamples(history.samples, infoLookup(history.infos));
    store.sessions.insert(
      ended(gpu0, "erin", 4001, now - 3 * HOUR, 60, {
        processName: "python3",
        busySeconds: 600,
        longestIdleMs: 45 * MINUTE,
        longestIdleFrom: now - 3 * HOUR + 10 * MINUTE,
        idleMemoryMib: 4096,
      }),
    );
    store.sessions.insert(ended(gpu1, "erin", 4002, now - 2 * HOUR, 30));
    store.sessions.insert(ended(gpu0, "frank", 4003, now - 90 * MINUTE, 40, { peakMemoryMib: 20_480 }));
    store.sessions.insert(ended(gpu1, "frank", 4004, now - 60 * MINUTE, 20));
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  const dbPath = path.join(dir, "telemetry.db");
  seed(dbPath);
  [server, browser] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: String(GPUS), NVOC_INTERVAL_MS: "1000", NVOC_DB_PATH: dbPath }),
    launchBrowser(),
  ]);
  client = trpcClient(server.url);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(pathAndQuery: string, viewport = { width: 1280, height: 900 }, colorScheme: "light" | "dark" = "light"): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${pathAndQuery}: ${error.message}`));
  await page.goto(`${server.url}${pathAndQuery}`);
  return page;
}

/** What the totals table and the bar chart show, read together. */
function totalsOnPage(page: Page) {
  return page.evaluate(() => {
    const table = document.querySelector<HTMLTableElement>("[data-table=usage-totals]");
    const canvas = document.querySelector<HTMLCanvasElement>("[data-chart=usage-totals] canvas");
    const rows = [...(table?.querySelectorAll<HTMLTableRowElement>("tbody tr") ?? [])].map((tr) => {
      const cells: Record<string, string> = {};
      for (const td of tr.querySelectorAll<HTMLElement>("[data-field]")) cells[td.dataset.field ?? ""] = td.textContent ?? "";
      return { key: tr.dataset.key ?? "", cells };
    });
    return { by: table?.dataset.by, rows, bars: canvas?.dataset.bars ?? null, labels: canvas?.dataset.labels ?? null };
  });
}

describe("usage page", () => {
  it("is in the top navigation", async () => {
    const page = await open("/");
    const link = page.locator("header nav a", { hasText: "Usage" });
    await link.waitFor();
    expect(await link.getAttribute("href")).toBe("/usage");
    await link.click();
    await page.waitForURL(/\/usage/);
    await page.locator("h1", { hasText: "Usage" }).waitFor();
    await page.context().close();
  });

  it("lists each user's totals as usage.summary counts them, one bar per row", async () => {
    const page = await open("/usage?range=24h");
    await page.locator("[data-table=usage-totals] tbody tr").first().waitFor();
    const summary = await client.usage.summary.query({ hours: 24, by: "user" });
    const shown = await waitFor(
      async () => {
        const totals = await totalsOnPage(page);
        return totals.bars !== null ? totals : undefined;
      },
      20_000,
      "the totals bar chart drawn",
    );
    for (const user of SEEDED_USERS) {
      const row = summary.rows.find((r) => r.key === user)!;
      expect(row, user).toBeDefined();
      expect(shown.rows.find((r) => r.key === user)?.cells).toEqual({
        sessions: integer(row.sessions),
        gpuHours: hoursText(row.gpuHours),
        busyGpuHours: hoursText(row.busyGpuHours),
        peakMemoryMib: gibFromMib(row.peakMemoryMib),
        energyWh: energyText(row.energyWh),
      });
    }
    // erin: 60 + 30 minutes on the GPUs; frank's peak is his 20 GiB session.
    expect(shown.rows.find((r) => r.key === "erin")?.cells.gpuHours).toBe("1.50");
    expect(shown.rows.find((r) => r.key === "frank")?.cells.peakMemoryMib).toBe("20.0 GiB");
    expect(Number(shown.bars)).toBe(shown.rows.length);
    expect(shown.labels?.split("\n")).toEqual(shown.rows.map((r) => r.key));
    await screenshot(page, "usage-desktop.png");
    await page.context().close();
  });

  it("draws the totals in the theme in force, and again when it changes", async () => {
    const page = await open("/usage?range=24h", undefined, "dark");
    /** Waits until the bars carry the theme's tick and accent colours. */
    const paintedIn = (scheme: "light" | "dark") =>
      page.waitForFunction((want) => {
        const root = document.documentElement;
        const styles = getComputedStyle(root);
        const canvas = document.querySelector<HTMLCanvasElement>("[data-chart=usage-totals] canvas");
        return (
          root.dataset.theme === want &&
          canvas?.dataset.tickColor === styles.getPropertyValue("--chart-tick").trim() &&
          canvas.dataset.barColor === styles.getPropertyValue("--accent").trim()
        );
      }, scheme);
    await paintedIn("dark");
    const dark = await page.evaluate(
      () => document.querySelector<HTMLCanvasElement>("[data-chart=usage-totals] canvas")!.dataset.tickColor,
    );
    await page.emulateMedia({ colorScheme: "light" });
    await paintedIn("light");
    const light = await page.evaluate(
      () => document.querySelector<HTMLCanvasElement>("[data-chart=usage-totals] canvas")!.dataset.tickColor,
    );
    expect(light).not.toBe(dark);
    await page.context().close();
  });

  it("switches the totals to one row per GPU", async () => {
    const page = await open("/usage?range=24h");
    await page.locator("[data-table=usage-totals][data-by=user]").waitFor();
    await page.click("button[data-by=gpu]");
    await page.locator("[data-table=usage-totals][data-by=gpu]").waitFor();
    const byGpu = await client.usage.summary.query({ hours: 24, by: "gpu" });
    const shown = await waitFor(
      async () => {
        const totals = await totalsOnPage(page);
        return totals.by === "gpu" && totals.labels?.startsWith("GPU") ? totals : undefined;
      },
      20_000,
      "the bars by GPU",
    );
    expect(shown.rows.map((r) => r.key).sort()).toEqual(byGpu.rows.map((r) => r.key).sort());
    expect(shown.rows.map((r) => r.key).sort()).toEqual(["0", "1"]);
    expect(Number(shown.bars)).toBe(2);
    await page.context().close();
  });

  it("draws every session of the range on its GPU's timeline, over the GPU's utilization", async () => {
    const page = await open("/usage?range=24h");
    const timeline = page.locator("[data-chart=usage-timeline]");
    await timeline.waitFor();
    expect(Number(await timeline.getAttribute("data-sessions"))).toBeGreaterThanOrEqual(SEEDED_SESSIONS);
    const rows = timeline.locator("li[data-gpu-uuid]");
    expect(await rows.count()).toBe(GPUS);
    for (let i = 0; i < GPUS; i++) {
      expect(Number(await rows.nth(i).getAttribute("data-sessions"))).toBeGreaterThanOrEqual(SEEDED_SESSIONS / GPUS);
      await waitFor(
        async () => Number(await rows.nth(i).locator("canvas").getAttribute("data-utilization-points")) > 0 || undefined,
        20_000,
        "the utilization line",
      );
    }
    // Half way through erin's hour on GPU 0, which ended two hours ago, on the first lane.
    const canvas = rows.nth(0).locator("canvas");
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * ((24 - 2.5) / 24), box.y + 6);
    await waitFor(
      async () => (await canvas.getAttribute("title"))?.includes("erin · python3 (pid 4001)") || undefined,
      10_000,
      "erin's session on hover",
    );
    await page.context().close();
  });

  it("lists the sessions that held memory idle, and says so when none did", async () => {
    const page = await open("/usage?range=24h");
    const holders = page.locator("[data-idle-holders] tbody tr");
    await holders.first().waitFor();
    const erin = holders.filter({ hasText: "erin" });
    expect(await erin.count()).toBe(1);
    const text = await erin.textContent();
    expect(text).toContain("GPU 0");
    expect(text).toContain("4.0 GiB");
    expect(text).toContain(durationText(45 * 60));
    await page.goto(`${server.url}/usage?range=1h`);
    await page.locator("[data-testid=no-idle-holders]").waitFor();
    expect(await page.locator("[data-idle-holders]").getAttribute("data-idle-holders")).toBe("0");
    await page.context().close();
  });

  it("fits a phone without scrolling the page sideways", async () => {
    const page = await open("/usage?range=24h", { width: 390, height: 844 });
    await page.locator("[data-table=usage-totals] tbody tr").first().waitFor();
    await page.locator("[data-chart=usage-timeline]").waitFor();
    await page.locator("[data-chart=usage-totals] canvas[data-bars]").waitFor();
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    await screenshot(page, "usage-phone.png");
    await page.context().close();
  });

  it("shows the simulated jobs' sessions once the recorder has seen them", async () => {
    const simulated = await waitFor(
      async () =>
        (await client.usage.sessions.query({ hours: 1 })).sessions.find((session) => SIMULATED_USERS.includes(session.user ?? "")),
      60_000,
      "a session of a simulated job",
    );
    const page = await open("/usage?range=1h");
    await page.locator(`[data-table=usage-totals] tbody tr[data-key="${simulated.user}"]`).waitFor();
    const row = page.locator(`[data-chart=usage-timeline] li[data-gpu-uuid="${simulated.gpuUuid}"]`);
    expect(Number(await row.getAttribute("data-sessions"))).toBeGreaterThanOrEqual(1);
    await page.context().close();
  });

  it("raised no page errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
