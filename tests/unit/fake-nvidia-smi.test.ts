import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseComputeAppsCsv } from "../../src/server/sources/nvidia-smi-apps";
import {
  columnsForQuery,
  type CsvColumn,
  fieldsWithoutUnknown,
  LOOP_QUERY_FIELDS,
  parseCsvHeader,
  parseCsvRow,
  parseUnknownFieldError,
  type SmiGpuRow,
} from "../../src/server/sources/nvidia-smi-csv";
import { METRIC_KEYS } from "../../src/telemetry/types";
import { fixtureLines, readFixture, REPO_ROOT } from "../helpers/fixtures";

const FAKE_DIR = resolve(REPO_ROOT, "tests", "fake-nvidia-smi");
const H200_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
/** The fixtures README's `<F>` list, the query q-units-idle.csv was captured with. */
const CAPTURE_FIELDS =
  "index,uuid,name,timestamp,temperature.gpu,temperature.memory,fan.speed,power.draw,power.draw.instant," +
  "power.limit,enforced.power.limit,clocks.gr,clocks.sm,clocks.mem,clocks.video,clocks.max.gr,clocks.max.mem," +
  "clocks.applications.graphics,clocks.default_applications.graphics,clocks_event_reasons.active," +
  "clocks_event_reasons.sw_power_cap,clocks_event_reasons.hw_slowdown,utilization.gpu,utilization.memory," +
  "memory.used,memory.total,memory.free,pstate,pcie.link.gen.current,pcie.link.width.current," +
  "ecc.errors.uncorrected.volatile.total,driver_version";

const scratch = mkdtempSync(join(tmpdir(), "fake-nvidia-smi-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `nvidia-smi` found through PATH, as the recorder will, so the shebang and mode bits count too. */
function spawnFake(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn("nvidia-smi", args, {
    env: { ...process.env, PATH: `${FAKE_DIR}${delimiter}${process.env.PATH ?? ""}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runFake(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnFake(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Resolves with the first `count` complete stdout lines; rejects if the process ends first. */
function readLines(child: ChildProcess, count: number): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      if (lines.length > count) {
        child.stdout?.off("data", onData);
        resolvePromise(lines.slice(0, count));
      }
    };
    child.stdout?.on("data", onData);
    child.on("close", (code) => reject(new Error(`fake exited (${code}) after: ${JSON.stringify(buffered)}`)));
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise) => child.on("close", (code, signal) => resolvePromise({ code, signal })));
}

function rowsOf(columns: readonly CsvColumn[], lines: readonly string[]): SmiGpuRow[] {
  return lines.map((line) => {
    const result = parseCsvRow(columns, line);
    if (!result.ok) throw new Error(`fake printed an unreadable line: ${result.error}`);
    return result.row;
  });
}

const outputLines = (stdout: string): string[] => stdout.split("\n").filter((line) => line !== "");

describe("fake nvidia-smi", { timeout: 20_000 }, () => {
  it("answers a one-shot query with the real header and units, readable by the parser", async () => {
    const { code, stdout } = await runFake([`--query-gpu=${CAPTURE_FIELDS}`, "--format=csv"]);
    expect(code).toBe(0);
    const [header = "", ...lines] = outputLines(stdout);
    expect(header).toBe(fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[0]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("78.93 W");
    const [row] = rowsOf(parseCsvHeader(header), lines);
    expect(row?.uuid).toBe(H200_UUID);
    expect(row?.info).toMatchObject({ name: "NVIDIA H200", powerLimitW: 700, maxGraphicsClockMhz: 1980 });
    expect(row?.metrics).toMatchObject({
      temperatureC: 33,
      fanSpeedPct: null,
      powerDrawW: 78.93,
      graphicsClockMhz: 345,
      memoryClockMhz: 3201,
      clockEventReasons: 1,
      pstate: 0,
    });
    expect(Math.abs((row?.timestamp ?? 0) - Date.now())).toBeLessThan(10_000);
  });

  it("answers the loop fields without header and units", async () => {
    const { code, stdout } = await runFake([`--query-gpu=${LOOP_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"]);
    expect(code).toBe(0);
    const lines = outputLines(stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/ (W|MHz|%|MiB)(,|$)/);
    const [row] = rowsOf(columnsForQuery(LOOP_QUERY_FIELDS), lines);
    expect(row?.metrics).toMatchObject({ temperatureC: 33, memoryTemperatureC: 34, powerDrawW: 78.93, powerLimitW: 700, pstate: 0 });
  });

  it("reports several GPUs with their own index, uuid and temperature", async () => {
    const { stdout } = await runFake([`--query-gpu=${LOOP_QUERY_FIELDS.join(",")}`, "--format=csv,noheader"], {
      FAKE_SMI_GPUS: "3",
    });
    const rows = rowsOf(columnsForQuery(LOOP_QUERY_FIELDS), outputLines(stdout));
    expect(rows.map((row) => row.index)).toEqual([0, 1, 2]);
    expect(new Set(rows.map((row) => row.uuid)).size).toBe(3);
    expect(rows[0]?.uuid).toBe(H200_UUID);
    expect(rows.map((row) => row.metrics.temperatureC)).toEqual([33, 34, 35]);
  });

  it("loops with -lms: header once, then one line per tick with the current time, until killed", async () => {
    const child = spawnFake([`--query-gpu=${LOOP_QUERY_FIELDS.join(",")}`, "--format=csv", "-lms", "50"]);
    const exited = exitOf(child);
    const [header = "", ...lines] = await readLines(child, 4);
    child.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });

    const rows = rowsOf(parseCsvHeader(header), lines);
    expect(rows).toHaveLength(3);
    const times = rows.map((row) => row.timestamp ?? Number.NaN);
    expect(times[1]).toBeGreaterThan(times[0] ?? Number.NaN);
    expect(times[2]).toBeGreaterThan(times[1] ?? Number.NaN);
    expect(Math.abs((times[2] ?? 0) - Date.now())).toBeLessThan(10_000);
    // Ticks cycle through the 1 Hz capture: 78.93, 78.93, 78.90 W.
    expect(rows.map((row) => row.metrics.powerDrawW)).toEqual([78.93, 78.93, 78.9]);
    for (const row of rows) expect(Object.keys(row.metrics).length).toBeLessThan(METRIC_KEYS.length);
  });

  it("rejects an unknown field exactly like the real tool: message on stdout, exit 2", async () => {
    const { code, stdout } = await runFake(["--query-gpu=index,no.such.field", "--format=csv"]);
    expect(code).toBe(2);
    const captured = readFixture("nvidia-smi", "h200", "smi-badfield.txt");
    expect(stdout).toBe(captured.slice(0, captured.indexOf("rc=")));
    expect(parseUnknownFieldError(stdout)).toBe("no.such.field");
  });

  it("lets a caller recover from a rejected field through the older spelling", async () => {
    const env = { FAKE_SMI_REJECT_FIELDS: "clocks_event_reasons.active" };
    const first = await runFake([`--query-gpu=${LOOP_QUERY_FIELDS.join(",")}`, "--format=csv,noheader"], env);
    expect(first.code).toBe(2);
    const retryFields = fieldsWithoutUnknown(LOOP_QUERY_FIELDS, parseUnknownFieldError(first.stdout) ?? "");
    expect(retryFields).toContain("clocks_throttle_reasons.active");

    const second = await runFake([`--query-gpu=${(retryFields ?? []).join(",")}`, "--format=csv,noheader"], env);
    expect(second.code).toBe(0);
    const [row] = rowsOf(columnsForQuery(retryFields ?? []), outputLines(second.stdout));
    expect(row?.metrics.clockEventReasons).toBe(1);
  });

  it("lists GPUs and compute processes like the captures", async () => {
    expect((await runFake(["-L"])).stdout).toBe(readFixture("nvidia-smi", "h200", "smi-L.txt"));
    const apps = await runFake(["--query-compute-apps=pid,process_name,used_memory,gpu_uuid", "--format=csv"]);
    expect(apps.stdout).toBe(readFixture("nvidia-smi", "h200", "apps-load.csv"));
    expect(parseComputeAppsCsv(apps.stdout)).toEqual([{ pid: 1586, processName: "python3", usedMemoryMib: 1130, gpuUuid: H200_UUID }]);
  });

  describe("fault knobs", () => {
    const loopArgs = [`--query-gpu=${LOOP_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits", "-lms", "20"];

    it("FAKE_SMI_DIE_AFTER ends the loop with exit 1; FAKE_SMI_GARBAGE_EVERY adds lines the parser rejects", async () => {
      const { code, stdout } = await runFake(loopArgs, { FAKE_SMI_DIE_AFTER: "2", FAKE_SMI_GARBAGE_EVERY: "1" });
      expect(code).toBe(1);
      const results = outputLines(stdout).map((line) => parseCsvRow(columnsForQuery(LOOP_QUERY_FIELDS), line));
      expect(results.map((result) => result.ok)).toEqual([true, false, false, true, false, false]);
    });

    it("FAKE_SMI_LOST_GPU makes one GPU report only error markers, read as null", async () => {
      const { stdout } = await runFake(loopArgs.slice(0, 2), { FAKE_SMI_GPUS: "2", FAKE_SMI_LOST_GPU: "1" });
      expect(stdout).toContain("[GPU is lost]");
      expect(stdout).toContain("[Unknown Error]");
      const [healthy, lost] = rowsOf(columnsForQuery(LOOP_QUERY_FIELDS), outputLines(stdout));
      expect(healthy?.metrics.temperatureC).toBe(33);
      expect(lost?.index).toBe(1);
      expect(Object.values(lost?.metrics ?? { x: 0 }).every((value) => value === null)).toBe(true);
    });

    it("FAKE_SMI_GONE_GPU leaves one GPU out of the loop's output after FAKE_SMI_GONE_AFTER ticks", async () => {
      const { code, stdout } = await runFake(loopArgs, {
        FAKE_SMI_GPUS: "2",
        FAKE_SMI_GONE_GPU: "1",
        FAKE_SMI_GONE_AFTER: "2",
        FAKE_SMI_DIE_AFTER: "4",
      });
      expect(code).toBe(1);
      const rows = rowsOf(columnsForQuery(LOOP_QUERY_FIELDS), outputLines(stdout));
      expect(rows.map((row) => row.index)).toEqual([0, 1, 0, 1, 0, 0]);
    });

    it("FAKE_SMI_COUNT_FILE counts process starts", async () => {
      const countFile = join(scratch, "starts.log");
      await runFake(["-L"], { FAKE_SMI_COUNT_FILE: countFile });
      await runFake(["-L"], { FAKE_SMI_COUNT_FILE: countFile });
      expect(outputLines(readFileSync(countFile, "utf8"))).toHaveLength(2);
    });
  });
});
