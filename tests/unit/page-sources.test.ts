import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { pageSources } from "../../scripts/lib/page-sources.mjs";
import { REPO_ROOT } from "../helpers/fixtures";

describe("the page build's sources", () => {
  it("are what the pages import, wherever it lives, and not the server code they never load", async () => {
    const sources = ((await pageSources(REPO_ROOT)) as string[]).map((file) => path.relative(REPO_ROOT, file));
    expect(sources).toEqual(expect.arrayContaining(["src/app/page.tsx", "src/components/live/gpu-card.tsx", "src/telemetry/clock-event-reasons.ts", "src/app"]));
    expect(sources.filter((file) => file.startsWith("src/server/storage/") || file.startsWith("src/server/collector/"))).toEqual([]);
  });
});
