import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOnFakeSmi, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

const dir = tempDir("nvoc-e2e-stale-");
let lostGpu: ServerProcess;
let goneGpu: ServerProcess;
let neverGpu: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  [lostGpu, goneGpu, neverGpu, browser] = await Promise.all([
    startOnFakeSmi(path.join(dir, "lost", "telemetry.db"), { FAKE_SMI_LOST_GPU: "1" }),
    // GPU 1 drops out of nvidia-smi's output after five ticks; GPU 0 goes on.
    startOnFakeSmi(path.join(dir, "gone", "telemetry.db"), { FAKE_SMI_GONE_GPU: "1", FAKE_SMI_GONE_AFTER: "5" }),
    // GPU 1 is listed by nvidia-smi's query of the facts but never appears in its readings.
    startOnFakeSmi(path.join(dir, "never", "telemetry.db"), { FAKE_SMI_GONE_GPU: "1", FAKE_SMI_GONE_AFTER: "0" }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([lostGpu?.stop(), goneGpu?.stop(), neverGpu?.stop()]);
});

const card = (index: number) => `[data-testid=gpu-card][data-gpu='${index}']`;

async function openLive(server: ServerProcess): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${server.url}/`);
  await page.waitForSelector("[data-testid=connection][data-state=live]");
  return { page, errors, close: () => context.close() };
}

describe("a GPU that stops reporting, on the live page", () => {
  it("is marked lost since the time the driver first said so, while the other card stays as it is", async () => {
    const { page, errors, close } = await openLive(lostGpu);
    await page.waitForSelector(`${card(1)}[data-stale=lost]`);
    expect(await page.locator(`${card(1)} [data-testid=gpu-not-reporting]`).innerText()).toMatch(/^lost since \d\d:\d\d:\d\d$/);
    expect(await page.locator(`${card(1)} [data-metric=temperature]`).innerText()).toBe("n/a");
    expect(await page.locator(card(0)).getAttribute("data-stale")).toBeNull();
    expect(await page.locator(`${card(0)} [data-testid=gpu-not-reporting]`).count()).toBe(0);
    expect(await page.locator(`${card(0)} [data-metric=temperature]`).innerText()).toBe("33 °C");
    // What runs on each GPU: the capture's python3 on GPU 0, nothing on the lost one.
    const job = page.locator(`${card(0)} [data-testid=gpu-process][data-pid='1586']`);
    await job.waitFor();
    expect((await job.locator("td").allInnerTexts()).map((t) => t.trim())).toEqual(["1586", "python3", expect.any(String), "1.1 GiB"]);
    expect(await page.locator(`${card(1)} [data-testid=no-processes]`).count()).toBe(1);
    await screenshot(page, "live-gpu-lost.png");
    expect(errors).toEqual([]);
    await close();
  });

  it("keeps the card of a GPU that dropped out of the readings, with its last values and how long it has been silent", async () => {
    const { page, errors, close } = await openLive(goneGpu);
    await page.waitForSelector(`${card(1)}[data-stale=stale]`);
    const badge = page.locator(`${card(1)} [data-testid=gpu-not-reporting]`);
    expect(await badge.innerText()).toMatch(/^no reading for \d+ s$/);
    // The count goes up while it stays silent.
    const first = Number(/\d+/.exec(await badge.innerText())![0]);
    await page.waitForFunction(
      ({ selector, first }) => Number(/\d+/.exec(document.querySelector<HTMLElement>(selector)?.innerText ?? "")?.[0]) > first,
      { selector: `${card(1)} [data-testid=gpu-not-reporting]`, first },
    );
    expect(await page.locator(`${card(1)} [data-metric=temperature]`).innerText()).toBe("34 °C");
    expect(await page.locator(card(0)).getAttribute("data-stale")).toBeNull();
    await screenshot(page, "live-gpu-stale.png");
    expect(errors).toEqual([]);
    await close();
  });

  it("shows a card for a GPU the driver names but that never gave a reading", async () => {
    const { page, errors, close } = await openLive(neverGpu);
    await page.waitForSelector(`${card(1)}[data-stale=stale]`);
    expect(await page.locator(`${card(1)} [data-testid=gpu-not-reporting]`).innerText()).toBe("no reading yet");
    expect(await page.locator(`${card(1)} [data-metric=temperature]`).innerText()).toBe("n/a");
    expect(await page.locator(card(0)).getAttribute("data-stale")).toBeNull();
    expect(errors).toEqual([]);
    await close();
  });
});
