import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fleet, instanceOf, LARGE_GPUS, LARGE_PUBLIC_URL, SMALL_GPUS, startFleet } from "../helpers/fleet-setup";
import type { ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

const dir = tempDir("nvoc-e2e-fleet-");
let fleet: Fleet;
let browser: Browser;

beforeAll(async () => {
  [fleet, browser] = await Promise.all([startFleet(dir), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
});

async function open(server: ServerProcess, path: string): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${server.url}${path}`);
  return { page, errors, close: () => context.close() };
}

const rows = "[data-testid=fleet-gpu]";
const rowsOf = (server: ServerProcess) => `${rows}[data-instance='${instanceOf(server)}']`;

/** Waits until the chart's canvas says it drew points inside the window shown. */
async function waitForDrawn(page: Page, chart: string) {
  await page.waitForFunction(
    (id) => Number(document.querySelector<HTMLCanvasElement>(`[data-chart='${id}'] canvas`)?.dataset.inView ?? 0) > 0,
    chart,
    { timeout: 30_000 },
  );
}

describe("the Fleet page", () => {
  it("lists every GPU of both recorders, links each host to its recorder, filters and sorts", async () => {
    const { page, errors, close } = await open(fleet.viewer, "/");
    await page.getByRole("link", { name: "Fleet" }).click();
    await page.waitForURL(/\/fleet$/);
    await page
      .locator(rows)
      .nth(SMALL_GPUS + LARGE_GPUS - 1)
      .waitFor();
    expect(await page.locator(rows).count()).toBe(SMALL_GPUS + LARGE_GPUS);
    expect(await page.locator(rowsOf(fleet.small)).count()).toBe(SMALL_GPUS);
    expect(await page.locator(rowsOf(fleet.large)).count()).toBe(LARGE_GPUS);
    expect(await page.locator(`${rows}[data-state=reporting]`).count()).toBe(SMALL_GPUS + LARGE_GPUS);
    const linkOf = (server: ServerProcess) =>
      page
        .locator(`${rowsOf(server)} [data-testid=recorder-link]`)
        .first()
        .getAttribute("href");
    expect(await linkOf(fleet.large)).toBe(LARGE_PUBLIC_URL);
    expect(await linkOf(fleet.small)).toBe(fleet.small.url);
    expect(await page.locator(`${rows} [data-metric=temperature]`).first().innerText()).toMatch(/^\d+ °C$/);
    expect(await page.locator("[data-total=reporting]").innerText()).toBe(`${SMALL_GPUS + LARGE_GPUS} of ${SMALL_GPUS + LARGE_GPUS}`);

    await page.getByTestId("filter-host").fill(instanceOf(fleet.small));
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=fleet-gpu]").length === n, SMALL_GPUS);
    expect(await page.locator(rowsOf(fleet.large)).count()).toBe(0);
    await page.getByTestId("filter-host").fill("");
    await page.getByTestId("filter-state").selectOption("stale");
    await page.getByTestId("empty").waitFor();
    await page.getByTestId("filter-state").selectOption("");

    await page.locator("[data-sort=temperature]").click();
    await page.locator("th[aria-sort=ascending] [data-sort=temperature]").waitFor();
    const temperatures = (await page.locator(`${rows} [data-metric=temperature]`).allInnerTexts()).map((t) => Number.parseInt(t, 10));
    expect(temperatures).toEqual([...temperatures].sort((a, b) => a - b));
    expect(errors).toEqual([]);
    await close();
  });

  it("draws the history of a chosen host, with the fleet totals", async () => {
    const { page, errors, close } = await open(fleet.viewer, "/fleet");
    await page.locator(rows).first().waitFor();
    const hostOption = await page
      .locator("[data-testid=fleet-group] option")
      .filter({ hasText: `Host ` })
      .filter({ hasText: instanceOf(fleet.large) })
      .getAttribute("value");
    if (hostOption === null) throw new Error("the GPUs picker has no entry for the large recorder's host");
    await page.getByTestId("fleet-group").selectOption(hostOption);
    for (const chart of ["temperature", "power", "utilization", "memory", "busy-gpus", "power-drawn", "hottest-gpu"])
      await waitForDrawn(page, chart);
    await screenshot(page, "fleet.png");
    expect(errors).toEqual([]);
    await close();
  });

  it("has no Fleet entry on a recorder without NVOC_PROMETHEUS_URL, and says what to set on its page", async () => {
    const { page, close } = await open(fleet.small, "/fleet");
    await page.getByTestId("empty").waitFor();
    expect(await page.getByTestId("empty").innerText()).toMatch(/NVOC_PROMETHEUS_URL/);
    await page.getByRole("link", { name: "History" }).waitFor();
    expect(await page.getByRole("link", { name: "Fleet" }).count()).toBe(0);
    await close();
  });

  it("marks a stopped recorder's GPUs stale, and says Prometheus is down when it is", async () => {
    const { page, errors, close } = await open(fleet.viewer, "/fleet");
    await page.locator(rows).first().waitFor();
    await fleet.large.stop();
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=fleet-gpu][data-state=stale]").length === n, LARGE_GPUS, {
      timeout: 30_000,
    });
    expect(await page.locator(`${rowsOf(fleet.small)}[data-state=reporting]`).count()).toBe(SMALL_GPUS);
    await screenshot(page, "fleet-stale.png");

    await fleet.prometheus.stop();
    await page.reload();
    const message = page.getByTestId("query-error").first();
    await message.waitFor({ timeout: 30_000 });
    expect(await message.innerText()).toContain(`Prometheus at ${fleet.prometheus.url} cannot be reached`);
    expect(errors).toEqual([]);
    await close();
  });
});
