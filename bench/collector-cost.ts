/**
 * The collector's CPU cost under different node flags and environments, side by side:
 * `node --import tsx bench/collector-cost.ts [--seconds 60]`. Starts one server per variant at
 * once (8 simulated GPUs at 1 Hz each, its own database), lets them settle, then reads each one's
 * CPU time from /proc over the same seconds, so all variants meet the same moments of the machine.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { NPM_START_FLAGS, procStat, startServer, type BenchServer } from "./lib/process";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "60" }, rounds: { type: "string", default: "2" } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

const VARIANTS: Array<{ name: string; flags: readonly string[]; env: Record<string, string | undefined> }> = [
  { name: "as npm start", flags: NPM_START_FLAGS, env: {} },
  { name: "without MALLOC_MMAP_THRESHOLD_", flags: NPM_START_FLAGS, env: { MALLOC_MMAP_THRESHOLD_: undefined } },
  { name: "without the semi-space flags", flags: ["--no-memory-reducer"], env: {} },
  { name: "without either", flags: [], env: { MALLOC_MMAP_THRESHOLD_: undefined } },
];

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-collector-cost-"));
const servers: BenchServer[] = [];
try {
  for (const [i, variant] of VARIANTS.entries()) {
    servers.push(
      await startServer(
        {
          NVOC_DB_PATH: path.join(workDir, `collector-${i}.db`),
          NVOC_SOURCE: "simulated",
          NVOC_SIM_GPUS: "8",
          NVOC_INTERVAL_MS: "1000",
          ...variant.env,
        },
        undefined,
        variant.flags,
      ),
    );
  }
  await new Promise((r) => setTimeout(r, 5000));
  console.log(`| variant | ${Array.from({ length: rounds }, (_, r) => `round ${r + 1} (% of a core)`).join(" | ")} | RSS (MB) |`);
  const shares = VARIANTS.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    const before = servers.map((s) => procStat(s.pid));
    const t = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (performance.now() - t) / 1000;
    servers.forEach((s, i) => shares[i].push(((procStat(s.pid).cpuSeconds - before[i].cpuSeconds) / elapsed) * 100));
  }
  for (const [i, variant] of VARIANTS.entries()) {
    console.log(
      `| ${variant.name} | ${shares[i].map((s) => s.toFixed(2)).join(" | ")} | ${(procStat(servers[i].pid).rssBytes / 1e6).toFixed(0)} |`,
    );
  }
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  fs.rmSync(workDir, { recursive: true, force: true });
}
