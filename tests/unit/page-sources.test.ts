import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures";

/** A plain ES module of the build scripts, without type declarations: typed here by what it exports. */
async function loadPageSources() {
  // @ts-expect-error: the module has no type declarations
  const loaded = (await import("../../scripts/lib/page-sources.mjs")) as { pageSources: (root: string) => Promise<string[]> };
  return loaded.pageSources;
}

describe("the page build's sources", () => {
  it("are what the pages import, wherever it lives, and not the server code they never load", async () => {
    const pageSources = await loadPageSources();
    const sources = (await pageSources(REPO_ROOT)).map((file) => path.relative(REPO_ROOT, file));
    expect(sources).toEqual(
      expect.arrayContaining(["src/app/page.tsx", "src/components/live/gpu-card.tsx", "src/telemetry/clock-event-reasons.ts", "src/app"]),
    );
    expect(sources.filter((file) => file.startsWith("src/server/storage/") || file.startsWith("src/server/collector/"))).toEqual([]);
  });
});
