import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulatedGpuInfo } from "../../src/server/sources/simulated";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { RETIRED_GPU, seedSwappedGpu, type SwappedGpuHistory } from "../helpers/swapped-gpu";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

/** The History page when two GPUs held index 0: a retired card, then the simulated GPU 0. */

const dir = tempDir("nvoc-e2e-uuid-");
const CURRENT = simulatedGpuInfo(0);
let server: ServerProcess;
let browser: Browser;
let seeded: SwappedGpuHistory;
const pageErrors: string[] = [];

beforeAll(async () => {
  const dbPath = path.join(dir, "swapped.db");
  seeded = seedSwappedGpu(dbPath);
  [server, browser] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "2", NVOC_INTERVAL_MS: "500", NVOC_DB_PATH: dbPath }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(pathAndQuery: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => pageErrors.push(`${pathAndQuery}: ${error.message}`));
  await page.goto(`${server.url}${pathAndQuery}`);
  return page;
}

const selectedText = (page: Page) => page.locator("[data-testid=gpu-picker] option:checked").innerText();
const samplesShown = (page: Page) => page.getByTestId("stats-samples").innerText();

describe("History with two GPUs that held index 0", () => {
  it("an old ?gpu=0 link shows the GPU at index 0 now; the picker selects the retired GPU by its own name and keeps its uuid in the URL", async () => {
    const page = await open("/history?gpu=0&range=24h");
    await page.waitForSelector("[data-testid=stats-samples]");
    expect(await page.inputValue("[data-testid=gpu-picker]")).toBe(CURRENT.uuid);
    expect(await selectedText(page)).toBe(`GPU 0 · ${CURRENT.name} · GPU-…00000000`);

    const options = await page.locator("[data-testid=gpu-picker] option").allInnerTexts();
    expect(options).toContain(`GPU 0 · ${RETIRED_GPU.name} · GPU-…0000beef (offline)`);

    const currentSamples = await samplesShown(page);
    await page.selectOption("[data-testid=gpu-picker]", RETIRED_GPU.uuid);
    await page.waitForURL((url) => url.searchParams.get("gpu") === RETIRED_GPU.uuid && url.searchParams.get("range") === "24h");
    await page.waitForFunction(({ before }) => document.querySelector<HTMLElement>("[data-testid=stats-samples]")?.innerText !== before, {
      before: currentSamples,
    });
    expect(await page.inputValue("[data-testid=gpu-picker]")).toBe(RETIRED_GPU.uuid);
    expect(await selectedText(page)).toContain(RETIRED_GPU.name);
    expect(await samplesShown(page)).toBe(String(seeded.retired.length));
    expect(await page.locator("[data-metric=temperatureC] td").allInnerTexts()).toEqual(["99 °C", "99 °C", "99 °C"]);
    expect(await page.getByTestId("export-csv").getAttribute("href")).toContain(`gpu_uuid=${RETIRED_GPU.uuid}`);
    await screenshot(page, "history-retired-gpu.png");
    await page.close();

    // The link as the page wrote it opens the retired GPU again.
    const shared = await open(`/history?gpu=${RETIRED_GPU.uuid}&range=24h`);
    await shared.waitForFunction(
      (expected) => document.querySelector<HTMLElement>("[data-testid=stats-samples]")?.innerText === expected,
      String(seeded.retired.length),
    );
    expect(await selectedText(shared)).toContain(RETIRED_GPU.name);
    await shared.close();
    expect(pageErrors).toEqual([]);
  });
});
