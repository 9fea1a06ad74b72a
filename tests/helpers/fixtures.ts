/**
 * Where the shared, read-only captures live: `<repo>/../shared/fixtures`
 * (or `<repo>/shared/fixtures` in checkouts that carry them inside the tree).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const FIXTURE_ROOT_CANDIDATES = [
  resolve(REPO_ROOT, "..", "shared", "fixtures"),
  resolve(REPO_ROOT, "shared", "fixtures"),
];

function fixturesRoot(): string {
  const found = FIXTURE_ROOT_CANDIDATES.find((dir) => existsSync(dir));
  if (found === undefined) {
    throw new Error(`Fixture folder missing: looked in ${FIXTURE_ROOT_CANDIDATES.join(" and ")}`);
  }
  return found;
}

/** Absolute path of a fixture file; throws naming the path when it is not there. */
export function fixturePath(...parts: string[]): string {
  const path = join(fixturesRoot(), ...parts);
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
