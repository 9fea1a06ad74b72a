import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";
import { screenshot } from "./artifacts";
import { launchBrowser } from "./browser";

const dir = tempDir("nvoc-e2e-sign-in-");
const TOKEN = randomBytes(24).toString("hex");
let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServerProcess({
      NVOC_TOKEN: TOKEN,
      NVOC_SOURCE: "simulated",
      NVOC_SIM_GPUS: "1",
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: path.join(dir, "telemetry.db"),
    }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("a dashboard started with NVOC_TOKEN", () => {
  it("sends a browser to sign in, keeps the token out of page scripts, streams live once signed in, and signs out", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));

    await page.goto(`${server.url}/history`);
    await page.waitForURL(/\/signin\?next=%2Fhistory$/);
    await page.fill("#token", "certainly-not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByTestId("sign-in-problem").innerText()).toMatch(/not the one this server was started with/);
    await screenshot(page, "sign-in-refused.png");

    await page.fill("#token", TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/history$/);
    await page.getByRole("link", { name: "Live", exact: true }).click();
    // The live stream (SSE) is allowed by the cookie alone.
    await page.waitForSelector("[data-testid=connection][data-state=live]");
    await page.waitForSelector("[data-testid=gpu-card][data-gpu='0']");
    // HttpOnly: nothing running in the page can read the session.
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect((await context.cookies()).map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([["nvoc_session", true, "Strict"]]);

    await page.getByTestId("sign-out").click();
    await page.waitForURL(/\/signin$/);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${server.url}/database`);
    await page.waitForURL(/\/signin\?next=%2Fdatabase$/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("opens light or dark as the dashboard would: the system's preference, then the remembered choice", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 800 }, colorScheme: "light" });
    const page = await context.newPage();
    const themeAndBackground = () =>
      page.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor]);

    await page.goto(`${server.url}/signin`);
    expect(await themeAndBackground()).toEqual(["light", "rgb(246, 247, 249)"]);
    await screenshot(page, "sign-in-light.png");

    await page.evaluate(() => window.localStorage.setItem("nvoc-theme", "dark"));
    await page.reload();
    expect(await themeAndBackground()).toEqual(["dark", "rgb(13, 17, 23)"]);
    await context.close();
  });
});
