import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (tests/unit) runs in seconds with nothing built; `server`
 * runs the real server process, the pages in Chromium and the packaged command,
 * so tests/global-setup.ts builds them first. `npm test` runs both;
 * `npm run test:unit` only the first.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    // Server tests spawn real processes; two cores are shared with them.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: ["tests/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "server", include: ["tests/**/*.test.ts"], exclude: ["tests/unit/**"], globalSetup: ["tests/global-setup.ts"] },
      },
    ],
  },
});
