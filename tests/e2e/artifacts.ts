import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { ROOT } from "../helpers/server-process";

/** Screenshots land in test-artifacts/ (git-ignored) for a person to look at. */
export const ARTIFACTS = path.join(ROOT, "test-artifacts");

export async function screenshot(page: Page, name: string) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}
