import { execFileSync } from "node:child_process";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startOnFakeSmi, startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { WORN_NVML_KNOBS } from "../helpers/worn-memory";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

const dir = tempDir("nvoc-e2e-memory-");
let worn: ServerProcess;
let geforce: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  const library = path.join(dir, "libnvidia-ml.so.1");
  execFileSync("gcc", ["-shared", "-fPIC", "-o", library, path.join(ROOT, "tests", "fake-nvml", "fake-nvml.c")]);
  [worn, geforce, browser] = await Promise.all([
    // Two H200s through NVML, both worn: ECC errors, remapped rows, a remap waiting for a reset.
    startServerProcess({
      NVOC_SOURCE: "nvml",
      NVOC_NVML_LIBRARY: library,
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: path.join(dir, "worn", "telemetry.db"),
      FAKE_NVML_GPUS: "2",
      // GPU 1 also reports Xid 63 twice (rows remapped), then Xid 94 (a contained ECC error).
      FAKE_NVML_XIDS: "1:63:2,1:63:3,1:94:4",
      ...WORN_NVML_KNOBS,
    }),
    // A card whose driver refuses every memory error field, as a GeForce's nvidia-smi answers [N/A].
    startOnFakeSmi(path.join(dir, "geforce", "telemetry.db"), {
      FAKE_SMI_GPUS: "1",
      FAKE_SMI_REJECT_FIELDS:
        "ecc.mode.current,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,ecc.errors.corrected.aggregate.total,ecc.errors.uncorrected.aggregate.total,remapped_rows.correctable,remapped_rows.uncorrectable,remapped_rows.pending,remapped_rows.failure,retired_pages.single_bit_ecc.count,retired_pages.double_bit.count,retired_pages.pending",
    }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([worn?.stop(), geforce?.stop()]);
});

const card = (index: number) => `[data-testid=gpu-card][data-gpu='${index}']`;

describe("memory errors on the live page", () => {
  it("show a worn card's ECC errors and remapped rows in red, and the reset and reboot its memory waits for", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${worn.url}/`);
    await page.waitForSelector(`${card(1)}[data-memory-errors=bad]`);
    const row = page.locator(`${card(1)} [data-metric=memory-errors]`);
    expect(await row.innerText()).toBe("1 uncorrected · 12 corrected · 6 rows remapped");
    expect(await row.getAttribute("class")).toContain("tone-bad");
    expect(await row.getAttribute("title")).toMatch(
      /Over the card's life: 2 uncorrected, 340 corrected ECC errors\. Rows remapped to spares: 1 for uncorrectable, 5 for correctable errors\./,
    );
    expect(await page.locator(`${card(1)} [data-testid=memory-error-flag]`).allInnerTexts()).toEqual([
      "GPU reset pending",
      "page retirement pending",
    ]);
    // Nothing wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    // The newest Xid, what it means and when, with the earlier ones counted.
    const xid = page.locator(`${card(1)} [data-testid=xid-error]`);
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.textContent === "Xid 94",
      `${card(1)} [data-testid=xid-error]`,
    );
    expect(await xid.getAttribute("title")).toMatch(/^contained ECC error, at \d\d:\d\d:\d\d \(and 2 earlier\)$/);
    expect(await page.locator(`${card(0)} [data-testid=xid-error]`).count()).toBe(0);
    await screenshot(page, "live-memory-errors.png");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("show nothing for a card that keeps no memory error counters, rather than a health it cannot know", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${geforce.url}/`);
    await page.waitForSelector(`${card(0)}[data-memory-errors=not-kept]`);
    expect(await page.locator(`${card(0)} [data-metric=memory-errors]`).count()).toBe(0);
    await context.close();
  });
});
