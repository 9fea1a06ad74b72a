import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";
import { seedDatabase } from "./seed-database";

/**
 * The light and dark themes: the system's preference picks one, the toggle in the top bar
 * overrides it and is remembered, and the charts follow without a reload.
 */

const dir = tempDir("nvoc-e2e-theme-");
let server: ServerProcess;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  const dbPath = path.join(dir, "telemetry.db");
  seedDatabase(dbPath);
  [server, browser] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "500", NVOC_DB_PATH: dbPath }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

type Scheme = "light" | "dark";

const newContext = (colorScheme: Scheme) => browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });

async function open(context: BrowserContext, pathAndQuery: string): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${pathAndQuery}: ${error.message}`));
  // React reports a server/browser mismatch on the console, not as a page error.
  page.on("console", (message) => {
    if (message.type() === "error" || /hydrat/i.test(message.text())) pageErrors.push(`${pathAndQuery}: ${message.text()}`);
  });
  // What <html> says as the body starts: set then, the first paint is already in the right colours.
  await page.addInitScript(() => {
    new MutationObserver((_records, observer) => {
      if (!document.body) return;
      document.documentElement.setAttribute("data-theme-at-body", document.documentElement.dataset.theme ?? "none");
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${server.url}${pathAndQuery}`);
  return page;
}

const LIVE_CHARTS = 4;
/** History's metric charts and the clock reason lanes under the clocks. */
const HISTORY_CHARTS = 6;

async function chartsDrawn(page: Page, count: number) {
  await page.waitForFunction((count) => {
    const canvases = [...document.querySelectorAll<HTMLCanvasElement>("[data-testid=chart] canvas")];
    return canvases.length === count && canvases.every((c) => Number(c.dataset.points ?? 0) > 0);
  }, count);
}

/** Relative luminance (0 black .. 1 white) of a computed rgb()/rgba() colour. */
function luminance(rgb: string): number {
  const [r, g, b] = (rgb.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** What the page is painted in now, and what each chart last drew with, beside the theme's own values. */
const themeState = (page: Page) =>
  page.evaluate(() => {
    const root = document.documentElement;
    const styles = getComputedStyle(root);
    const token = (name: string) => styles.getPropertyValue(`--${name}`).trim();
    return {
      theme: root.dataset.theme,
      themeAtBody: root.getAttribute("data-theme-at-body"),
      colorScheme: styles.colorScheme,
      background: getComputedStyle(document.body).backgroundColor,
      text: getComputedStyle(document.body).color,
      tokens: { tick: token("chart-tick"), grid: token("chart-grid"), series1: token("series-1"), series3: token("series-3") },
      charts: [...document.querySelectorAll<HTMLCanvasElement>("[data-testid=chart] canvas")].map((c) => ({
        chart: c.closest("[data-chart]")?.getAttribute("data-chart"),
        tick: c.dataset.tickColor,
        grid: c.dataset.gridColor,
        lines: c.dataset.lineColors ?? "",
      })),
    };
  });

type ThemeState = Awaited<ReturnType<typeof themeState>>;

function expectPaintedIn(state: ThemeState, scheme: Scheme) {
  expect(state.theme).toBe(scheme);
  expect(state.colorScheme).toBe(scheme);
  const [background, text] = [luminance(state.background), luminance(state.text)];
  if (scheme === "light") {
    expect(background, state.background).toBeGreaterThan(0.8);
    expect(text, state.text).toBeLessThan(0.1);
  } else {
    expect(background, state.background).toBeLessThan(0.05);
    expect(text, state.text).toBeGreaterThan(0.6);
  }
  expect(state.charts.length).toBeGreaterThan(0);
  for (const chart of state.charts) {
    expect(chart.tick, `${chart.chart} ticks`).toBe(state.tokens.tick);
    expect(chart.grid, `${chart.chart} grid`).toBe(state.tokens.grid);
  }
}

/** Waits until every chart has redrawn with the theme's tick colour. */
async function chartsRepainted(page: Page) {
  await page.waitForFunction(() => {
    const tick = getComputedStyle(document.documentElement).getPropertyValue("--chart-tick").trim();
    const canvases = [...document.querySelectorAll<HTMLCanvasElement>("[data-testid=chart] canvas")];
    return canvases.length > 0 && canvases.every((c) => c.dataset.tickColor === tick);
  });
}

describe("light and dark themes", () => {
  it("follow the system's preference on every page, charts included, from the first paint", async () => {
    const seen: Record<Scheme, ThemeState[]> = { light: [], dark: [] };
    for (const scheme of ["light", "dark"] as const) {
      const context = await newContext(scheme);
      try {
        for (const [at, charts] of [
          ["/", LIVE_CHARTS],
          ["/history?gpu=0&range=6h", HISTORY_CHARTS],
        ] as const) {
          const page = await open(context, at);
          await chartsDrawn(page, charts);
          await page.waitForSelector("[aria-busy=true]", { state: "detached" });
          const state = await themeState(page);
          expect(state.themeAtBody, at).toBe(scheme);
          expectPaintedIn(state, scheme);
          // The series are the theme's own: the live charts draw GPU 0 in the first colour, History's temperature in the third.
          const temperature = state.charts.find((chart) => chart.chart === "temperature")!;
          expect(temperature.lines.split(" ")).toContain(at === "/" ? state.tokens.series1 : state.tokens.series3);
          seen[scheme].push(state);
          await screenshot(page, `theme-${scheme}${at === "/" ? "-live" : "-history"}.png`);
          await page.close();
        }
        const database = await open(context, "/database");
        await database.waitForSelector("[data-testid=per-gpu] tbody tr");
        expect(await database.evaluate(() => document.documentElement.dataset.theme)).toBe(scheme);
        await screenshot(database, `theme-${scheme}-database.png`);
        await database.close();
      } finally {
        await context.close();
      }
    }
    // Two palettes, not one painted twice.
    expect(seen.light[0].tokens).not.toEqual(seen.dark[0].tokens);
    expect(seen.light[0].background).not.toBe(seen.dark[0].background);
  });

  it("the toggle overrides the system, is remembered across a reload, and repaints the charts in place", async () => {
    const context = await newContext("light");
    try {
      const page = await open(context, "/");
      await chartsDrawn(page, LIVE_CHARTS);
      const toggle = page.getByTestId("theme-toggle");
      await page.waitForSelector("[data-testid=theme-toggle][data-choice=system]");
      expectPaintedIn(await themeState(page), "light");
      const lightLines = (await themeState(page)).charts.map((chart) => chart.lines);

      // A mark on this page's window and canvases: still there after the switch, nothing was reloaded or rebuilt.
      await page.evaluate(() => {
        document.querySelectorAll("[data-testid=chart] canvas").forEach((c) => c.setAttribute("data-before-switch", ""));
      });
      while ((await toggle.getAttribute("data-choice")) !== "dark") await toggle.click();
      await chartsRepainted(page);
      const dark = await themeState(page);
      expectPaintedIn(dark, "dark");
      expect(dark.charts.map((chart) => chart.lines)).not.toEqual(lightLines);
      expect(await page.locator("[data-testid=chart] canvas[data-before-switch]").count()).toBe(LIVE_CHARTS);
      expect(await toggle.getAttribute("aria-label")).toBe("Colour theme: Dark");

      // Remembered: dark again after a reload, before React runs, on a light system.
      await page.reload();
      await chartsDrawn(page, LIVE_CHARTS);
      await page.waitForSelector("[data-testid=theme-toggle][data-choice=dark]");
      const reloaded = await themeState(page);
      expect(reloaded.themeAtBody).toBe("dark");
      expectPaintedIn(reloaded, "dark");

      // A page opened in another tab starts in the chosen theme, and follows when the choice changes in the first.
      const history = await open(context, "/history?gpu=0&range=1h");
      await chartsDrawn(history, HISTORY_CHARTS);
      expectPaintedIn(await themeState(history), "dark");

      // Light by choice on a dark system.
      await page.emulateMedia({ colorScheme: "dark" });
      while ((await toggle.getAttribute("data-choice")) !== "light") await toggle.click();
      await chartsRepainted(page);
      expectPaintedIn(await themeState(page), "light");
      await history.waitForSelector("[data-testid=theme-toggle][data-choice=light]");
      await chartsRepainted(history);
      expectPaintedIn(await themeState(history), "light");

      // Back to the system's preference, and following it as it changes.
      while ((await toggle.getAttribute("data-choice")) !== "system") await toggle.click();
      await chartsRepainted(page);
      expectPaintedIn(await themeState(page), "dark");
      await page.emulateMedia({ colorScheme: "light" });
      await page.waitForFunction(() => document.documentElement.dataset.theme === "light");
      await chartsRepainted(page);
      expectPaintedIn(await themeState(page), "light");
      await page.reload();
      await chartsDrawn(page, LIVE_CHARTS);
      expect((await themeState(page)).themeAtBody).toBe("light");
      await history.close();
      await page.close();
    } finally {
      await context.close();
    }
  });

  it("raised no errors in any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
