/**
 * The captures the tests read: real nvidia-smi and NVML output, other machines' CSV and
 * the Grafana dashboards, under tests/fixtures (origin and licence in each folder's README).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const FIXTURES = join(REPO_ROOT, "tests", "fixtures");

/** Absolute path of a fixture file; throws naming the path when it is not there. */
export function fixturePath(...parts: string[]): string {
  const path = join(FIXTURES, ...parts);
  if (!existsSync(path)) throw new Error(`Fixture missing: ${path}`);
  return path;
}

export function readFixture(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), "utf8");
}

/** Non-empty lines of a fixture. */
export function fixtureLines(...parts: string[]): string[] {
  return readFixture(...parts)
    .split("\n")
    .filter((line) => line.trim() !== "");
}
