import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

const dir = tempDir("nvoc-e2e-down-");
let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  // A file where the database folder should be: the database can never open.
  const blocker = path.join(dir, "not-a-folder");
  fs.writeFileSync(blocker, "in the way");
  [server, browser] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "200", NVOC_DB_PATH: path.join(blocker, "telemetry.db") }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const DOWN = /^The database is unavailable: .+\. Live data still works\.$/;

async function liveValuesMove(page: Page) {
  await page.waitForSelector("[data-testid=connection][data-state=live]");
  const card = "[data-testid=gpu-card][data-gpu='0'] .headline";
  await page.waitForSelector(card);
  const before = await page.locator(card).innerText();
  await page.waitForFunction(({ card, before }) => document.querySelector<HTMLElement>(card)?.innerText !== before, { card, before });
}

describe("the dashboard while the database is down", () => {
  it("says so plainly on /history and /database, while / keeps showing live values", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));

    await page.goto(`${server.url}/`);
    await liveValuesMove(page);
    expect(await page.getByTestId("source-banner").innerText()).toMatch(/Simulated data/);

    // Client-side navigation, as a person clicks through the tabs.
    await page.getByRole("link", { name: "History", exact: true }).click();
    await page.waitForURL(/\/history/);
    const history = page.getByTestId("database-down");
    await history.waitFor();
    expect(await history.innerText()).toMatch(DOWN);
    expect(await history.innerText()).toMatch(/ENOTDIR|EEXIST/);
    // The GPU picker still knows the GPUs (from the collector), and the stream is still live.
    expect(await page.locator("[data-testid=gpu-picker] option").count()).toBe(2);
    expect(await page.getByTestId("connection").getAttribute("data-state")).toBe("live");
    await screenshot(page, "history-database-down.png");

    await page.getByRole("link", { name: "Database", exact: true }).click();
    await page.waitForURL(/\/database/);
    const database = page.getByTestId("database-down");
    await database.waitFor();
    expect(await database.innerText()).toMatch(DOWN);
    await screenshot(page, "database-down.png");

    await page.getByRole("link", { name: "Live", exact: true }).click();
    await page.waitForURL((url) => url.pathname === "/");
    await liveValuesMove(page);
    // With no history to seed from, the rolling charts fill from the stream alone.
    await page.waitForFunction(() => {
      const canvases = [...document.querySelectorAll<HTMLCanvasElement>("[data-testid=chart] canvas")];
      return canvases.length === 4 && canvases.every((c) => Number(c.dataset.points ?? 0) > 0);
    });

    // Loaded directly too, not only through client-side navigation.
    await page.goto(`${server.url}/database`);
    expect(await page.getByTestId("database-down").innerText()).toMatch(DOWN);
    expect(errors).toEqual([]);
    await context.close();
  });
});
