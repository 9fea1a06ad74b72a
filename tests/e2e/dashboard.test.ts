import fs from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatedGpuInfo } from "../../src/server/sources/simulated";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";
import { seedDatabase, type SeededHistory } from "./seed-database";

const dir = tempDir("nvoc-e2e-");
/** The picker and the URL name a GPU by its UUID. */
const GPU1_UUID = simulatedGpuInfo(1).uuid;
let server: ServerProcess;
let browser: Browser;
let context: BrowserContext;
let seeded: SeededHistory;
let serverEnv: Record<string, string>;
const pageErrors: string[] = [];

beforeAll(async () => {
  const dbPath = path.join(dir, "telemetry.db");
  seeded = seedDatabase(dbPath);
  serverEnv = {
    NVOC_SOURCE: "simulated",
    NVOC_INTERVAL_MS: "200",
    NVOC_DB_PATH: dbPath,
    NVOC_RETENTION_DAYS: "1",
    // Only the prune button may prune: the test knows what it must delete.
    NVOC_PRUNE_INTERVAL_S: "86400",
  };
  [server, browser] = await Promise.all([startServerProcess(serverEnv), launchBrowser()]);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(pathAndQuery: string, on: BrowserContext = context): Promise<Page> {
  const page = await on.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${pathAndQuery}: ${error.message}`));
  await page.goto(`${server.url}${pathAndQuery}`);
  return page;
}

/** History's metric charts and the clock reason lanes under the clocks. */
const HISTORY_CHARTS = 6;

/** Every chart canvas on the page has drawn at least `min` points (the chart sets data-points after each draw). */
async function chartsDrawn(page: Page, count: number, min = 1) {
  await page.waitForFunction(
    ({ count, min }) => {
      const canvases = [...document.querySelectorAll<HTMLCanvasElement>("[data-testid=chart] canvas")];
      return canvases.length === count && canvases.every((c) => Number(c.dataset.points ?? 0) >= min);
    },
    { count, min },
  );
}

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
const toNumber = (shown: string) => Number(shown.replace(/,/g, ""));

/** Waits until the element's text is no longer `before`, and returns the new text. */
/** The element's text once it differs from `before`, as seen at that moment (a live value may change again right after). */
async function changedText(page: Page, selector: string, before: string, timeout?: number): Promise<string> {
  const changed = await page.waitForFunction(
    ({ selector, before }) => {
      const now = document.querySelector<HTMLElement>(selector)?.innerText;
      return now !== undefined && now !== before ? now : null;
    },
    { selector, before },
    { timeout },
  );
  return (await changed.jsonValue()) as string;
}

/** Presses Tab until the focused element matches, as a keyboard user would. */
async function tabTo(page: Page, selector: string, maxPresses = 40) {
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${selector} was not reached with ${maxPresses} presses of Tab`);
}

describe("the dashboard in a browser", () => {
  it("live page: cards update from the stream, the connection is live, the data is marked simulated, charts draw", async () => {
    const page = await open("/");
    await page.waitForSelector("[data-testid=connection][data-state=live]");
    expect(await text(page, "[data-testid=connection]")).toBe("live");
    expect(await text(page, "[data-testid=source-banner]")).toMatch(/Simulated data/);
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=gpu-card]").length === 2);

    const card = "[data-testid=gpu-card][data-gpu='0'] .headline";
    const first = await text(page, card);
    expect(first).toMatch(/\d+ °C/);
    expect(first).toMatch(/\d+(\.\d)? W/);
    const second = await changedText(page, card, first);
    expect(second).not.toBe(first);
    // The simulated cards report no fan: it reads n/a, never 0.
    expect(await text(page, "[data-testid=gpu-card][data-gpu='0'] [data-metric=fan]")).toBe("n/a");
    expect(await text(page, "[data-testid=gpu-card][data-gpu='0'] .chips")).toMatch(/idle|boost|SW power cap/);
    // A simulated H200 keeps ECC on and has no memory errors.
    await page.waitForSelector("[data-testid=gpu-card][data-gpu='0'] [data-metric=memory-errors]");
    expect(await text(page, "[data-testid=gpu-card][data-gpu='0'] [data-metric=memory-errors]")).toBe("0 uncorrected · 0 corrected");

    await chartsDrawn(page, 4);
    await screenshot(page, "live-desktop.png");

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      const small = await open("/", phone);
      await small.waitForSelector("[data-testid=connection][data-state=live]");
      await chartsDrawn(small, 4);
      // Nothing wider than the screen: no sideways scrolling on a phone.
      expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(small, "live-phone.png");
    } finally {
      await phone.close();
    }
    await page.close();
  });

  it("history page: range and GPU live in the URL and change the data; charts draw; zoom; keyboard; custom range", async () => {
    const page = await open("/history?gpu=0&range=24h");
    await chartsDrawn(page, HISTORY_CHARTS, 10);
    // Under the clocks, a lane for each clock event reason the simulated GPUs hit (idle, then at the power cap under load),
    // and the statistics say for what share of the samples each held the clocks back.
    expect(await page.locator("[data-chart=clock-reasons] [data-lanes]").getAttribute("data-lanes")).toBe("idle swPowerCap");
    // What happened, beside the charts: at least this recorder's own start.
    const started = page.locator("[data-events] [data-event=recorder_started]");
    await started.first().waitFor();
    expect(await started.first().innerText()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} .*start/i);
    expect(await text(page, "[data-testid=stats-clock-reasons]")).toMatch(
      /^Clocks held back by: (Idle|SW power cap) \d+ %, (Idle|SW power cap) \d+ %$/,
    );
    const count24h = await text(page, "[data-testid=stats-samples]");
    const samples24h = toNumber(count24h);
    // 12 h of seeded history for GPU 0, plus what the live source added since.
    expect(samples24h).toBeGreaterThanOrEqual(seeded.recentSamples / seeded.gpus);

    await page.getByRole("button", { name: "1 h", exact: true }).click();
    await page.waitForURL(/range=1h/);
    const samples1h = toNumber(await changedText(page, "[data-testid=stats-samples]", count24h));
    expect(samples1h).toBeLessThan(samples24h);
    expect(samples1h).toBeGreaterThan(0);
    await chartsDrawn(page, HISTORY_CHARTS);

    const gpu0Table = await text(page, "[data-testid=stats-table]");
    await page.selectOption("[data-testid=gpu-picker]", GPU1_UUID);
    await page.waitForURL((url) => url.searchParams.get("gpu") === GPU1_UUID);
    expect(page.url()).toMatch(/range=1h/);
    const gpu1Table = await changedText(page, "[data-testid=stats-table]", gpu0Table);
    expect(gpu1Table).not.toBe(gpu0Table);

    // Keyboard: from the GPU picker, Tab reaches the range presets and Enter picks one.
    await page.focus("[data-testid=gpu-picker]");
    await tabTo(page, "[data-range='6h']");
    await page.keyboard.press("Enter");
    await page.waitForURL(/range=6h/);
    expect(await page.getAttribute("[data-range='6h']", "aria-pressed")).toBe("true");
    await chartsDrawn(page, HISTORY_CHARTS, 10);
    await page.waitForSelector("[aria-busy=false]");

    // Wheel zoom on a chart narrows the window for every chart; reset brings the whole range back.
    const reset = page.getByTestId("reset-zoom");
    expect(await reset.isDisabled()).toBe(true);
    const canvas = page.locator("[data-chart=temperature] canvas");
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -600);
    await page.waitForFunction(() => !(document.querySelector("[data-testid=reset-zoom]") as HTMLButtonElement).disabled);
    await chartsDrawn(page, HISTORY_CHARTS);
    await reset.click();
    await page.waitForFunction(() => (document.querySelector("[data-testid=reset-zoom]") as HTMLButtonElement).disabled);

    // A custom range goes into the URL as from/to.
    await page.getByRole("button", { name: "Custom…" }).click();
    const to = Date.now();
    const from = to - 2 * 3_600_000;
    const local = (ms: number) => {
      const d = new Date(ms);
      const p = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    await page.fill("[data-testid=custom-from]", local(from));
    await page.fill("[data-testid=custom-to]", local(to));
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/range=custom&from=\d+&to=\d+/);
    await page.waitForSelector("text=from the chart buckets");
    await chartsDrawn(page, HISTORY_CHARTS);

    // A bookmarked link opens the same view.
    const shared = await open(new URL(page.url()).pathname + new URL(page.url()).search);
    await chartsDrawn(shared, HISTORY_CHARTS);
    expect(await shared.getAttribute("[data-range=custom]", "aria-pressed")).toBe("true");
    expect(await shared.inputValue("[data-testid=gpu-picker]")).toBe(GPU1_UUID);
    await shared.close();

    await page.getByRole("button", { name: "24 h", exact: true }).click();
    await page.waitForURL(/range=24h/);
    await chartsDrawn(page, HISTORY_CHARTS, 10);
    await screenshot(page, "history-desktop.png");
    await page.close();

    // A range with nothing recorded says so instead of drawing empty charts.
    const tenDaysAgo = Date.now() - 10 * 24 * 3_600_000;
    const empty = await open(`/history?gpu=0&range=custom&from=${tenDaysAgo - 3_600_000}&to=${tenDaysAgo}`);
    expect(await empty.getByTestId("empty").innerText()).toMatch(/No samples yet/);
    expect(await empty.locator("[data-testid=chart]").count()).toBe(0);
    await empty.close();

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      const small = await open("/history?gpu=0&range=6h", phone);
      await chartsDrawn(small, HISTORY_CHARTS, 10);
      expect(await small.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(small, "history-phone.png");
    } finally {
      await phone.close();
    }
  });

  it("history page: CSV and JSON export download the range", async () => {
    const page = await open("/history?gpu=0&range=1h");
    await chartsDrawn(page, HISTORY_CHARTS);
    for (const format of ["csv", "json"] as const) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId(`export-${format}`).click()]);
      const file = await download.path();
      const content = fs.readFileSync(file, "utf8");
      const lines = content.split("\n").filter((line) => line.trim() !== "");
      if (format === "csv") {
        expect(lines.length).toBeGreaterThan(1);
        expect(lines[0]).toMatch(/timestamp/i);
      } else {
        expect(content.length).toBeGreaterThan(2);
        expect(content).toMatch(/temperature/i);
      }
    }
    await page.close();
  });

  it("database page: size against the cap, records per GPU; prune asks first, then says what it deleted", async () => {
    const page = await open("/database");
    await page.waitForSelector("[data-testid=per-gpu] tbody tr");
    expect(await page.locator("[data-testid=per-gpu] tbody tr").count()).toBe(2);
    expect(await text(page, "[data-testid=retention]")).toBe("1 day");
    expect(await text(page, "[data-testid=db-size]")).toMatch(/\d+(\.\d)? (KiB|MiB)/);
    const totalBefore = toNumber(await text(page, "[data-testid=total-records]"));
    expect(totalBefore).toBeGreaterThanOrEqual(seeded.oldSamples + seeded.recentSamples);

    // Keyboard only: Tab to the button, Enter opens the confirmation, Tab past Cancel, Enter confirms.
    await page.focus("body");
    await tabTo(page, "[data-testid=prune-open]");
    await page.keyboard.press("Enter");
    await page.waitForSelector("[data-testid=prune-dialog][open]");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await screenshot(page, "database-confirm.png");
    await tabTo(page, "[data-testid=prune-confirm]", 3);
    await page.keyboard.press("Enter");
    await page.waitForSelector("[data-testid=prune-result]");
    expect(await text(page, "[data-testid=prune-result]")).toMatch(
      new RegExp(`Deleted ${seeded.oldSamples.toLocaleString("en-US")} samples`),
    );
    await page.waitForSelector("[data-testid=last-prune]");
    expect(await text(page, "[data-testid=last-prune]")).toMatch(new RegExp(`${seeded.oldSamples.toLocaleString("en-US")} samples`));
    await screenshot(page, "database-desktop.png");
    await page.close();
  });

  it("live page: says reconnecting, then offline, when the recorder goes away, and goes live again by itself when it is back", async () => {
    const page = await open("/");
    await page.waitForSelector("[data-testid=connection][data-state=live]");
    // Connected is not yet a reading: the note below needs one to point back to.
    await page.waitForSelector("[data-testid=gpu-card]");
    const port = new URL(server.url).port;
    await server.stop();
    await page.waitForSelector("[data-testid=connection][data-state=reconnecting]");
    await page.waitForSelector("[data-testid=connection][data-state=offline]", { timeout: 20_000 });
    expect(await page.locator(".note").innerText()).toMatch(/cannot be reached/);

    server = await startServerProcess({ ...serverEnv, PORT: port });
    await page.waitForSelector("[data-testid=connection][data-state=live]", { timeout: 45_000 });
    const card = "[data-testid=gpu-card][data-gpu='0'] .headline";
    const before = await text(page, card);
    // Readings resume at once: ids from the old run must not hold the new stream back.
    await changedText(page, card, before, 15_000);
    await chartsDrawn(page, 4);
    await page.close();
  }, 150_000);

  it("raised no errors in any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
