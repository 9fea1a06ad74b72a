/**
 * Throughput of `nvidia-oc import`: writes an nvidia-smi CSV log of 8 simulated
 * H200s (the columns the nvidia-smi source queries, with units and the [N/A]
 * cells data-centre cards give) into a temp dir, imports it with the real
 * command line into a fresh database, and reports snapshots (lines) per second
 * and the peak RSS of the import process.
 *
 *   npx tsx bench/import.ts [--lines N] [--cli FILE] [--log FILE] [--profile DIR] [--keep]
 *
 *   --lines N      log lines after the header (default 1,400,000)
 *   --cli FILE     the command line to run (default bin/nvidia-oc.mjs), e.g. an older bundle
 *   --log FILE     the log to import: written there first when missing, else used as it is,
 *                  so that runs taken in turn (one build, then another) import the same file
 *   --profile DIR  runs the import under `node --cpu-prof` and prints where its time went
 *   --keep         leaves the temp dir (log and database) in place
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SimulatedGpu, simulatedGpuInfo } from "../src/server/sources/simulated";
import { LOOP_QUERY_FIELDS, STATIC_QUERY_FIELDS, findSmiField } from "../src/server/sources/nvidia-smi-csv";
import { formatSmiTimestamp, smiCells } from "./lib/smi-log";
import { topSelfTimes } from "./lib/cpu-profile";

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const GPUS = 8;
const TICK_MS = 1000;

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "1400000" },
    cli: { type: "string", default: path.join(ROOT, "bin", "nvidia-oc.mjs") },
    log: { type: "string" },
    profile: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const lines = Number(values.lines);
if (!Number.isInteger(lines) || lines < GPUS) throw new Error(`--lines: a whole number of at least ${GPUS} (got ${values.lines})`);

/** The header nvidia-smi prints for the fields the source queries: long names, ` [unit]` where they have one. */
const FIELDS = [...new Set(["index", "uuid", "name", "timestamp", ...LOOP_QUERY_FIELDS, ...STATIC_QUERY_FIELDS])].map((name) => {
  const field = findSmiField(name);
  if (field === null) throw new Error(`the source queries ${name}, which the parser does not know`);
  return field;
});
const HEADER = FIELDS.map((field) => (field.unit === null ? field.name : `${field.name} [${field.unit}]`)).join(", ");

function writeLog(file: string): void {
  const gpus = Array.from(
    { length: GPUS },
    (_, i) => new SimulatedGpu({ ...simulatedGpuInfo(i), name: "NVIDIA H200", driverVersion: "580.159.04" }),
  );
  const ticks = Math.ceil(lines / GPUS);
  // Ends a minute ago: nothing in the future, nothing older than the retention.
  const start = Date.now() - 60_000 - ticks * TICK_MS;
  const fd = fs.openSync(file, "w");
  let text = `${HEADER}\n`;
  let written = 0;
  for (let tick = 0; written < lines; tick++) {
    for (const gpu of gpus) {
      if (written === lines) break;
      // nvidia-smi stamps each line as it reads that GPU: a few ms apart within a tick.
      const at = start + tick * TICK_MS + gpu.info.index * 3 + (tick % 7);
      text += `${smiCells(FIELDS, gpu.info, gpu.step(TICK_MS), formatSmiTimestamp(at)).join(", ")}\n`;
      written++;
    }
    if (text.length > 1 << 20) {
      fs.writeSync(fd, text);
      text = "";
    }
  }
  fs.writeSync(fd, text);
  fs.closeSync(fd);
}

/** A figure of `/usr/bin/time -v`'s report on the command it ran. */
function timeFigure(timeReport: string, label: string): number {
  const line = timeReport.split("\n").find((text) => text.trim().startsWith(`${label}:`));
  if (line === undefined) throw new Error(`no "${label}" in /usr/bin/time's report:\n${timeReport}`);
  return Number(line.slice(line.lastIndexOf(":") + 1));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-import-bench-"));
try {
  const log = values.log === undefined ? path.join(dir, "capture.csv") : path.resolve(values.log);
  const writeStart = performance.now();
  const written = !fs.existsSync(log);
  if (written) writeLog(log);
  const bytes = fs.statSync(log).size;
  console.log(
    `log: ${lines.toLocaleString("en")} lines of ${GPUS} GPUs, ${(bytes / 2 ** 20).toFixed(0)} MiB, ` +
      (written ? `written in ${((performance.now() - writeStart) / 1000).toFixed(1)} s` : `as written before (${log})`),
  );

  // Bundles the command line first, so the timed run measures the import alone.
  const warm = spawnSync(process.execPath, [values.cli, "import", "--help"], { cwd: ROOT, encoding: "utf8" });
  if (warm.status !== 0) throw new Error(`${values.cli} import --help failed:\n${warm.stderr}`);

  const profileFlags = values.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`] : [];
  const startedAt = Date.now();
  const started = performance.now();
  const run = spawnSync(
    "/usr/bin/time",
    ["-v", process.execPath, ...profileFlags, values.cli, "import", log, "--db-path", path.join(dir, "imported.db")],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 2 ** 20, env: { ...process.env, NVOC_RETENTION_DAYS: "90" } },
  );
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`import exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  const imported = /imported ([\d,]+) samples/.exec(run.stdout)?.[1]?.replaceAll(",", "");
  if (Number(imported) !== lines) throw new Error(`expected ${lines} samples imported:\n${run.stdout}`);

  console.log(`cli: ${path.relative(ROOT, values.cli)} on node ${process.version}, ${os.cpus().length} cores`);
  const cpuSeconds = timeFigure(run.stderr, "User time (seconds)") + timeFigure(run.stderr, "System time (seconds)");
  const peakRssMiB = timeFigure(run.stderr, "Maximum resident set size (kbytes)") / 1024;
  const perSecond = (s: number) => Math.round(lines / s).toLocaleString("en");
  // CPU time tells the import's own cost on a machine others share; wall time is what a user waits.
  console.log(
    `import: ${lines.toLocaleString("en")} snapshots in ${seconds.toFixed(2)} s = ${perSecond(seconds)} snapshots/s ` +
      `(${cpuSeconds.toFixed(2)} s of CPU = ${perSecond(cpuSeconds)} per CPU second), ` +
      `peak RSS ${peakRssMiB.toFixed(0)} MiB${values.profile ? " (profiled: slower than unprofiled)" : ""}`,
  );
  if (values.profile) {
    // One profile per thread: the command's own, and the reader thread's.
    const profiles = fs
      .readdirSync(values.profile)
      .filter((name) => name.endsWith(".cpuprofile"))
      .map((name) => path.join(values.profile!, name))
      .filter((file) => fs.statSync(file).mtimeMs >= startedAt);
    for (const profile of profiles.sort()) {
      console.log(`profile ${profile}, self time:`);
      for (const item of topSelfTimes(profile, 15)) console.log(`  ${item.percent.toFixed(1).padStart(5)} %  ${item.name}`);
    }
  }
} finally {
  if (values.keep) console.log(`kept ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}
