import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium; playwright's own browser downloads are never used (hosts may be offline). */
export const CHROMIUM_PATH = process.env.NVOC_CHROMIUM ?? "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the browser tests need it. Install it with \`apt-get install -y chromium\` (or set NVOC_CHROMIUM to its path).`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}
