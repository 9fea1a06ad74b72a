import fs from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { ROOT, startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

/**
 * What a new user meets: a fresh recorder with a few minutes of data, looked
 * at over a day, on a desktop and on a phone, and a recorder that goes away.
 */

const dir = tempDir("nvoc-e2e-ux-");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Off a whole second, so a bucket's start never reads as the first sample's time. */
const firstSample = Math.floor((Date.now() - 5 * MINUTE) / 1000) * 1000 + 669;
let server: ServerProcess;
let browser: Browser;
let desktop: BrowserContext;
const pageErrors: string[] = [];

beforeAll(async () => {
  const dbPath = path.join(dir, "telemetry.db");
  const recent = simulatedSamples({ gpus: 2, count: (5 * MINUTE) / 1000, start: firstSample, stepMs: 1000 });
  const { store } = TelemetryStore.open(dbPath);
  try {
    store.registerGpus(recent.infos, firstSample);
    store.writeSamples(recent.samples, infoLookup(recent.infos));
  } finally {
    store.close();
  }
  [server, browser] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "1000", NVOC_DB_PATH: dbPath }),
    launchBrowser(),
  ]);
  desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(pathAndQuery: string, on: BrowserContext = desktop): Promise<Page> {
  const page = await on.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${pathAndQuery}: ${error.message}`));
  await page.goto(`${server.url}${pathAndQuery}`);
  return page;
}

const CANVASES = "[data-testid=chart] canvas";
/** History's metric charts and the clock reason lanes under the clocks. */
const HISTORY_CHARTS = 6;

/** Every chart has drawn at least `min` points inside the window it shows (the chart writes data-in-view after each draw). */
async function chartsShowData(page: Page, count: number, min: number) {
  await page.waitForFunction(
    ({ selector, count, min }) => {
      const canvases = [...document.querySelectorAll<HTMLCanvasElement>(selector)];
      return canvases.length === count && canvases.every((c) => Number(c.dataset.inView ?? 0) >= min);
    },
    { selector: CANVASES, count, min },
  );
}

/** Each chart's y tick labels, as drawn (data-y-ticks, one per line). */
const tickLabels = (page: Page) =>
  page.$$eval(CANVASES, (canvases) =>
    canvases.map((c) => ({ chart: c.closest("[data-chart]")?.getAttribute("data-chart"), ticks: (c.dataset.yTicks ?? "").split("\n") })),
  );

async function expectDistinctTicks(page: Page) {
  for (const { chart, ticks } of await tickLabels(page)) {
    expect(ticks.length, `${chart} has tick labels`).toBeGreaterThan(1);
    expect(new Set(ticks).size, `${chart} ticks ${ticks.join(", ")}`).toBe(ticks.length);
  }
}

const shownSpan = (page: Page) =>
  page.$eval(
    "[data-chart=temperature] canvas",
    (c) => Number((c as HTMLCanvasElement).dataset.xMax) - Number((c as HTMLCanvasElement).dataset.xMin),
  );

/** The local wall-clock time the page shows for an instant (the browser's zone, not the test's). */
const localTime = (page: Page, epochMs: number) =>
  page.evaluate((ms) => {
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, "0");
    return {
      date: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`,
      minute: `${p(d.getHours())}:${p(d.getMinutes())}`,
      second: `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`,
    };
  }, epochMs);

const boxes = (page: Page, selectors: string[]) =>
  Promise.all(
    selectors.map(async (s) => {
      const box = (await page.locator(s).first().boundingBox())!;
      return { s, x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
    }),
  );

/** The pages this test knows, with what shows each is loaded; on these nothing may scroll sideways. */
const KNOWN_PAGES: Record<string, { at: string; ready: string }> = {
  "/": { at: "/", ready: "[data-testid=gpu-card]" },
  "/history": { at: "/history?gpu=0&range=24h", ready: "[data-testid=stats-table]" },
  "/database": { at: "/database", ready: "[data-testid=per-gpu] tbody tr" },
};

/** Every page in src/app, so a new one is checked on a phone from the start; one this test does not know may scroll a wide table in its frame. */
function phonePages(): { at: string; ready: string | null; tablesMayScroll: boolean }[] {
  const app = path.join(ROOT, "src", "app");
  const routes = fs
    .readdirSync(app, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^[\w-]+$/.test(entry.name) && fs.existsSync(path.join(app, entry.name, "page.tsx")))
    .map((entry) => `/${entry.name}`);
  return ["/", ...routes].map((route) => {
    const known = KNOWN_PAGES[route];
    return known ? { ...known, tablesMayScroll: false } : { at: route, ready: null, tablesMayScroll: true };
  });
}

/** In the page: its main content is there and nothing in it is still loading. */
function pageSettled(): boolean {
  const main = document.querySelector("main");
  return (main?.textContent ?? "").trim() !== "" && main?.querySelector(".spinner, [aria-busy=true]") === null;
}

describe("history for a recorder with a few minutes of data", () => {
  it("a day's range opens on the data, says where it starts, zooms around it, and never repeats a tick label", async () => {
    const page = await open("/history?gpu=0&range=24h");
    await chartsShowData(page, HISTORY_CHARTS, 10);
    const note = await page.getByTestId("data-from").innerText();
    expect(note).toContain(`data from ${(await localTime(page, firstSample)).minute}`);
    // The view is the data, not 24 hours of which the data is a sliver at the edge.
    expect(await shownSpan(page)).toBeLessThan(HOUR);
    await page.waitForSelector("[aria-busy=false]");
    await expectDistinctTicks(page);
    await screenshot(page, "history-few-minutes.png");

    for (let press = 0; press < 2; press++) {
      const before = await shownSpan(page);
      await page.getByRole("button", { name: "Zoom in" }).click();
      await page.waitForFunction(
        ({ before }) => {
          const c = document.querySelector<HTMLCanvasElement>("[data-chart=temperature] canvas")!;
          return Number(c.dataset.xMax) - Number(c.dataset.xMin) < before;
        },
        { before },
      );
      await page.waitForSelector("[aria-busy=false]");
      await chartsShowData(page, HISTORY_CHARTS, 1);
      await expectDistinctTicks(page);
    }
    expect(await page.getByTestId("no-samples-in-view").count()).toBe(0);
    await page.close();
  });

  it("range statistics start at the first sample, not at its bucket", async () => {
    const page = await open("/history?gpu=0&range=24h");
    const first = await localTime(page, firstSample);
    await page.waitForFunction(
      (second) => document.querySelector<HTMLElement>("[data-testid=stats-range]")?.innerText.includes(second) ?? false,
      `${first.date} ${first.second}`,
    );
    // A custom range has no exact figures from the server: the first sample is looked up.
    const to = await localTime(page, Date.now() + 2 * MINUTE);
    const from = await localTime(page, firstSample - 2 * HOUR);
    await page.goto(
      `${server.url}/history?gpu=0&range=custom&from=${new Date(`${from.date}T${from.minute}`).getTime()}&to=${new Date(`${to.date}T${to.minute}`).getTime()}`,
    );
    await page.waitForSelector("text=from the chart buckets");
    await page.waitForFunction(
      (second) => document.querySelector<HTMLElement>("[data-testid=stats-range]")?.innerText.includes(second) ?? false,
      `${first.date} ${first.second}`,
    );
    await page.close();
  });

  it("the custom range form opens without moving anything, in 24-hour time", async () => {
    const page = await open("/history?gpu=0&range=24h");
    await chartsShowData(page, HISTORY_CHARTS, 1);
    const fixed = [
      "[role=group][aria-label='Time range']",
      "[data-testid=gpu-picker]",
      "[data-testid=export-csv]",
      "[data-chart=temperature]",
    ];
    const before = await boxes(page, fixed);
    await page.getByRole("button", { name: "Custom…" }).click();
    await page.waitForSelector("[data-testid=custom-from]");
    expect(await boxes(page, fixed)).toEqual(before);
    await screenshot(page, "history-custom-open.png");

    // Filled in from the view, in the page's own 24-hour format whatever the browser's locale.
    const shown = await page.inputValue("[data-testid=custom-from]");
    expect(shown).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    expect(await page.getAttribute("[data-testid=custom-from]", "type")).toBe("text");

    const start = await localTime(page, firstSample - HOUR);
    const afternoon = `${start.date} 15:45`;
    await page.fill("[data-testid=custom-from]", afternoon);
    await page.fill("[data-testid=custom-to]", `${start.date} 25:10`);
    await page.getByRole("button", { name: "Show" }).click();
    expect(await page.locator(".custom-range [role=alert]").innerText()).toMatch(/^To: .*24-hour/);

    const end = await localTime(page, Date.now() + MINUTE);
    await page.fill("[data-testid=custom-from]", `${start.date} ${start.minute}`);
    await page.fill("[data-testid=custom-to]", `${end.date} ${end.minute}`);
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/range=custom&from=\d+&to=\d+/);
    const url = new URL(page.url());
    expect(Number(url.searchParams.get("from"))).toBe(await page.evaluate((t) => new Date(t).getTime(), `${start.date}T${start.minute}`));
    await chartsShowData(page, HISTORY_CHARTS, 1);
    await page.close();
  });

  it("nothing on any page reaches past a 390 px phone's screen, tables included", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      for (const { at, ready, tablesMayScroll } of phonePages()) {
        const page = await open(at, phone);
        if (ready) await page.waitForSelector(ready);
        else await page.waitForFunction(pageSettled);
        if (at.startsWith("/history")) await page.getByRole("button", { name: "Custom…" }).click();
        const clipped = await page.evaluate((tablesMayScroll) => {
          const doc = document.documentElement;
          const problems: string[] = [];
          if (doc.scrollWidth > doc.clientWidth) problems.push(`the page is ${doc.scrollWidth} px wide`);
          // A box that scrolls sideways hides what is past its edge as surely as one that clips: on a phone
          // nothing says it is there. Everything must be on the screen as it opens; only a page that has a
          // wide table of its own may let that table scroll inside its frame (.table-scroll).
          const scrollsSideways = (el: Element) => /auto|scroll/.test(getComputedStyle(el).overflowX);
          const tableFrame = (el: Element) => tablesMayScroll && el.matches(".table-scroll") && el.querySelector("table") !== null;
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            const name = `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(" ")[0]}` : ""} "${(el.textContent ?? "").slice(0, 30)}"`;
            const inFrame = el.parentElement?.closest(".table-scroll") ?? null;
            if (box.width > 0 && !(inFrame && tableFrame(inFrame)) && (box.left < -0.5 || box.right > doc.clientWidth + 0.5))
              problems.push(`${name} spans ${Math.round(box.left)}..${Math.round(box.right)} px`);
            if (scrollsSideways(el) && el.scrollWidth > el.clientWidth + 1 && !tableFrame(el))
              problems.push(`${name} hides ${el.scrollWidth - el.clientWidth} px to the side`);
          }
          return problems;
        }, tablesMayScroll);
        expect(clipped, at).toEqual([]);
        await screenshot(page, `phone${at.split("?")[0].replace(/\//g, "-") || "-live"}.png`);
        await page.close();
      }
    } finally {
      await phone.close();
    }
  });

  it("when the recorder goes away, the page backs off and says since when it cannot reach it", async () => {
    const page = await open("/");
    await page.waitForSelector("[data-testid=connection][data-state=live]");
    // A page that has loaded (its charts drawn), not one still fetching its own code when the recorder goes.
    await page.waitForFunction(
      (selector) =>
        [...document.querySelectorAll<HTMLCanvasElement>(selector)].filter((c) => Number(c.dataset.points ?? 0) > 0).length === 4,
      CANVASES,
    );
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`${message.text()} (${message.location().url})`);
    });
    const stoppedAt = Date.now();
    await server.stop();
    await page.waitForSelector("[data-testid=connection][data-state=offline]", { timeout: 20_000 });
    // Eight seconds without the stream: a page that retries at once has logged a storm by now.
    expect(errors.length, errors.join("\n")).toBeLessThanOrEqual(6);
    const badge = page.getByTestId("connection");
    await page.waitForFunction(
      () => /tried 4 times/.test(document.querySelector("[data-testid=connection]")?.getAttribute("title") ?? ""),
      null,
      {
        timeout: 30_000,
      },
    );
    const title = (await badge.getAttribute("title")) ?? "";
    expect(title).not.toMatch(/Unknown error/);
    expect(title).toMatch(/^Cannot reach the recorder since \d{2}:\d{2}:\d{2}/);
    // The moment the stream dropped: the stop, give or take the moment the page noticed.
    const around = await Promise.all([-1, 0, 1, 2, 3].map(async (s) => (await localTime(page, stoppedAt + s * 1000)).second));
    expect(around).toContain(title.match(/since (\S+)/)![1]);
    // One failed request per try, and a little slack for what the page was loading when it went.
    expect(errors.length, errors.join("\n")).toBeLessThanOrEqual(4 + 2);
    await page.close();
  }, 90_000);

  it("raised no errors in any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
