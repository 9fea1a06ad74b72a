/**
 * The event log end to end: a real server on the fake nvidia-smi, whose values a
 * test changes over time through FAKE_SMI_SET_FILE, records what changed into its
 * real SQLite file and serves it through tRPC, REST, the export and the CLI; Xid
 * errors come from the fake NVML through the real NVML source and collector.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../src/server/routers/_app";
import { NvidiaSmiSource } from "../src/server/sources/nvidia-smi";
import { NvmlSource } from "../src/server/sources/nvml/nvml-source";
import { SimulatedSource } from "../src/server/sources/simulated";
import type { GpuSource } from "../src/server/sources/source";
import { eventMessage } from "../src/server/api/event-messages";
import { capturedLog } from "./helpers/captured-log";
import { REPO_ROOT } from "./helpers/fixtures";
import { startPipeline } from "./helpers/pipeline";
import { replaceFakeSettings } from "./helpers/fake-settings";
import { FAKE_SMI, ROOT, startOnFakeSmi, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

type Listing = inferRouterOutputs<AppRouter>["events"]["list"];
type Event = Listing["events"][number];

const dir = tempDir("nvoc-events-");
const CLI = path.join(ROOT, "bin", "nvidia-oc.mjs");
const DAY = 86_400_000;

const servers: ServerProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(dbPath: string, setFile: string) {
  const server = await startOnFakeSmi(dbPath, { FAKE_SMI_SET_FILE: setFile });
  servers.push(server);
  return { server, client: trpcClient(server.url) };
}

/** Waits until the event log holds an event `match` accepts, and returns it. */
function eventOf(client: ReturnType<typeof trpcClient>, what: string, match: (e: Event) => boolean, input = {}): Promise<Event> {
  return waitFor(async () => (await client.events.list.query(input)).events.find(match), 30_000, what);
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  for (const key of Object.keys(env)) if (key.startsWith("NVOC_")) delete env[key];
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** A source recording into its own database, once it has stored a few samples; `changes` lists the application clock events. */
async function recordingClockChanges(source: GpuSource, name: string) {
  const pipeline = await startPipeline(source, path.join(dir, name, "telemetry.db"));
  cleanups.push(() => pipeline.stop());
  const store = pipeline.storage.requireStore();
  const changes = () =>
    store.events.list({ from: 0, to: Number.MAX_SAFE_INTEGER, limit: 100 }).filter((e) => e.kind === "application_clocks_changed");
  await waitFor(() => (pipeline.collector.status().stored > 4 ? true : undefined), 20_000, "samples stored");
  return { pipeline, store, changes };
}

describe("the event log", () => {
  it("records a changed power limit with old and new values and when it changed, and a GPU lost, stale and back", async () => {
    const setFile = path.join(dir, "run-changes.set");
    replaceFakeSettings(setFile, "");
    const { server, client } = await serve(path.join(dir, "changes", "telemetry.db"), setFile);
    const started = await eventOf(client, "the start", (e) => e.kind === "recorder_started");
    expect(started).toMatchObject({ gpuIndex: null, detail: { previousStopAt: null, cleanStop: null, gapMs: null } });
    await waitFor(async () => ((await client.collector.status.query()).stored > 4 ? true : undefined), 30_000, "samples stored");

    const changedFrom = Date.now();
    replaceFakeSettings(setFile, "enforced.power.limit=600.00\n");
    const power = await eventOf(client, "the power limit change", (e) => e.kind === "power_limit_changed" && e.gpuIndex === 1);
    const seenBy = Date.now();
    expect(power).toMatchObject({ detail: { from: 700, to: 600 }, message: "power limit 700 W → 600 W" });
    expect(power.gpuUuid).toMatch(/0001$/);
    expect(power.at).toBeGreaterThanOrEqual(changedFrom);
    expect(power.at).toBeLessThanOrEqual(seenBy);

    replaceFakeSettings(setFile, "enforced.power.limit=600.00\nlost_gpu=1\n");
    const lost = await eventOf(client, "GPU 1 lost", (e) => e.kind === "gpu_lost");
    expect(lost).toMatchObject({ gpuIndex: 1, detail: { problem: "GPU is lost" }, message: "GPU lost: GPU is lost" });
    // GPU 0 goes on reporting while GPU 1 stays lost for a few of its readings: a gap in GPU 1's history.
    const storedThen = (await client.collector.status.query()).stored;
    await waitFor(
      async () => ((await client.collector.status.query()).stored > storedThen + 8 ? true : undefined),
      30_000,
      "GPU 0 read on",
    );
    replaceFakeSettings(setFile, "enforced.power.limit=600.00\n");
    const back = await eventOf(client, "GPU 1 back", (e) => e.kind === "gpu_back");
    expect(back).toMatchObject({ gpuIndex: 1, detail: { was: "lost" } });
    expect(back.at).toBeGreaterThan(lost.at);
    const series = await client.telemetry.series.query({
      gpuIndex: 1,
      from: started.at,
      to: Date.now(),
      metrics: ["temperatureC"],
      maxPoints: 5000,
    });
    const gaps = series.gaps.filter((gap) => gap.to > lost.at && gap.from < back.at);
    expect(gaps.map((gap) => gap.reason)).toEqual(["gpu_lost"]);
    expect(gaps[0].from).toBeLessThanOrEqual(lost.at + series.bucketMs);
    expect(gaps[0].to).toBeLessThanOrEqual(back.at);
    expect(gaps[0].to).toBeGreaterThan(back.at - series.bucketMs - 1000);
    replaceFakeSettings(setFile, "enforced.power.limit=600.00\ngone_gpu=1\n");
    const stale = await eventOf(client, "GPU 1 stale", (e) => e.kind === "gpu_stale");
    expect(stale).toMatchObject({ gpuIndex: 1, detail: { problem: "no reading" }, message: "GPU stopped reporting" });
    replaceFakeSettings(setFile, "enforced.power.limit=600.00\n");
    const backAgain = await eventOf(client, "GPU 1 back again", (e) => e.kind === "gpu_back" && e.at > stale.at);
    expect(backAgain.detail).toEqual({ was: "stale" });

    // One change, one event: the readings after it agree with the new limit.
    const gpu1 = await client.events.list.query({ gpuIndex: 1 });
    expect(gpu1.events.filter((e) => e.kind === "power_limit_changed")).toHaveLength(1);
    expect(gpu1.events.every((e) => e.gpuIndex === 1)).toBe(true);
    expect(gpu1.events.map((e) => e.at)).toEqual(gpu1.events.map((e) => e.at).sort((a, b) => b - a));

    // REST, the export and the CLI give the same events.
    const rest = (await (await fetch(`${server.url}/api/telemetry/events?gpu_index=1`)).json()) as {
      events: Array<{ at: string; kind: string; gpu_index: number; gpu_uuid: string; detail: Record<string, unknown>; message: string }>;
    };
    const sameAsRest = gpu1.events.filter((e) => e.at <= Date.parse(rest.events[0].at));
    expect(rest.events.map((e) => [Date.parse(e.at), e.kind, e.gpu_index, e.gpu_uuid, e.message])).toEqual(
      sameAsRest.map((e) => [e.at, e.kind, e.gpuIndex, e.gpuUuid, e.message]),
    );
    expect(rest.events.find((e) => e.kind === "gpu_back")?.detail).toEqual({ was: "stale" });
    const cli = await runCli(["events", "--gpu", "1", "--json", "--url", server.url]);
    expect(cli.stderr).toBe("");
    const cliEvents = (JSON.parse(cli.stdout) as Listing).events;
    expect(cliEvents.filter((e) => e.at <= gpu1.events[0].at)).toEqual(gpu1.events);
    const cliText = await runCli(["events", "--gpu-uuid", power.gpuUuid!, "--url", server.url]);
    expect(cliText.stdout).toMatch(/GPU 1\s+power limit 700 W → 600 W\n/);
    const csv = await (await fetch(`${server.url}/api/telemetry/export?kind=events&format=csv&gpu_index=1`)).text();
    expect(csv.split("\r\n")[0]).toBe("at,kind,gpu_index,gpu_uuid,message,detail");
    expect(csv).toContain(
      `${new Date(power.at).toISOString()},power_limit_changed,1,${power.gpuUuid},power limit 700 W → 600 W,"{""from"":700,""to"":600}"`,
    );
    const exported = await runCli(["export", "--kind", "events", "--format", "json", "--url", server.url]);
    const json = JSON.parse(exported.stdout) as Array<{ kind: string }>;
    expect(json[0].kind).toBe("recorder_started");
    expect(json.filter((e) => e.kind === "power_limit_changed")).toHaveLength(2);
  });

  it("refuses bad input naming the field", async () => {
    const setFile = path.join(dir, "bad-input.set");
    const { server, client } = await serve(path.join(dir, "bad-input", "telemetry.db"), setFile);
    const response = await fetch(`${server.url}/api/telemetry/events?hours=0&limit=20000&gpu_index=x`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/gpu_index: must be a number/);
    const ranges = (await (await fetch(`${server.url}/api/telemetry/events?hours=0&limit=20000`)).json()) as { error: { message: string } };
    expect(ranges.error.message).toMatch(/hours: must be at least 1/);
    expect(ranges.error.message).toMatch(/limit: must be at most 10000/);
    await expect(client.events.list.query({ hours: 3000 })).rejects.toThrow(/must be at most 2160/);
    const kind = await fetch(`${server.url}/api/telemetry/export?kind=rows`);
    expect(kind.status).toBe(400);
    expect(await kind.text()).toMatch(/kind: must be samples, events or sessions/);
    const cli = await runCli(["events", "--hours", "5000", "--url", server.url]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/--hours: must be at most 2160/);
  });

  it("explains the gaps between runs: a clean stop, a kill, and a driver and clock limit changed in between", async () => {
    const dbPath = path.join(dir, "restarts", "telemetry.db");
    const setFile = path.join(dir, "restarts.set");
    replaceFakeSettings(setFile, "");
    let { server, client } = await serve(dbPath, setFile);
    await eventOf(client, "the first start", (e) => e.kind === "recorder_started");
    await waitFor(async () => ((await client.collector.status.query()).stored > 4 ? true : undefined), 30_000, "samples stored");
    replaceFakeSettings(setFile, "enforced.power.limit=650.00\n");
    await eventOf(client, "the power limit change", (e) => e.kind === "power_limit_changed" && e.gpuIndex === 1);
    await server.stop();
    const stoppedBy = Date.now();

    replaceFakeSettings(setFile, "enforced.power.limit=650.00\ndriver_version=590.10.01\nclocks.max.graphics=1800\n");
    ({ server, client } = await serve(dbPath, setFile));
    const second = await eventOf(client, "the second start", (e) => e.kind === "recorder_started" && e.detail.previousStopAt !== null);
    const { events } = await client.events.list.query();
    const cleanStop = events.find((e) => e.kind === "recorder_stopped")!;
    expect(cleanStop.detail).toEqual({ clean: true });
    expect(cleanStop.at).toBeLessThanOrEqual(stoppedBy);
    expect(second.detail).toEqual({ previousStopAt: cleanStop.at, cleanStop: true, gapMs: second.at - cleanStop.at });
    const driver = await eventOf(client, "the driver change", (e) => e.kind === "driver_version_changed" && e.gpuIndex === 0);
    expect(driver).toMatchObject({ detail: { from: "580.159.04", to: "590.10.01" }, message: "driver 580.159.04 → 590.10.01" });
    const clock = await eventOf(client, "the clock change", (e) => e.kind === "max_graphics_clock_changed" && e.gpuIndex === 0);
    expect(clock).toMatchObject({ detail: { from: 1980, to: 1800 }, message: "max graphics clock 1980 MHz → 1800 MHz" });
    // The limit changed in the first run is the GPUs' limit since: no second event for it.
    expect(events.filter((e) => e.kind === "power_limit_changed")).toHaveLength(2);

    await waitFor(async () => ((await client.collector.status.query()).stored > 4 ? true : undefined), 30_000, "samples stored");
    server.child.kill("SIGKILL");
    await server.exited;
    const killedBy = Date.now();
    ({ server, client } = await serve(dbPath, setFile));
    const third = await eventOf(client, "the start after a kill", (e) => e.kind === "recorder_started" && e.detail.cleanStop === false);
    const unclean = (await client.events.list.query()).events.find((e) => e.kind === "recorder_stopped" && e.at > second.at)!;
    expect(unclean.detail).toEqual({ clean: false });
    expect(unclean.at).toBeLessThanOrEqual(killedBy);
    expect(unclean.at).toBeGreaterThan(second.at);
    expect(third.detail).toEqual({ previousStopAt: unclean.at, cleanStop: false, gapMs: third.at - unclean.at });
    expect(third.message).toMatch(/^recorder started, .* after the last sample of a run that did not stop cleanly$/);
  });

  it("records applications clocks set while it runs, read again with the other facts", async () => {
    const setFile = path.join(dir, "app-clocks.set");
    replaceFakeSettings(setFile, "");
    const { log } = capturedLog();
    const env = { ...process.env, FAKE_SMI_GPUS: "2", FAKE_SMI_SET_FILE: setFile };
    const { pipeline, store, changes } = await recordingClockChanges(
      new NvidiaSmiSource({ command: FAKE_SMI, intervalMs: 100, log, env, factsRecheckMs: 200 }),
      "app-clocks",
    );
    const setAt = Date.now();
    replaceFakeSettings(setFile, "clocks.applications.graphics=1410\nclocks.applications.memory=2619\n");
    const found = await waitFor(() => (changes().length === 2 ? changes() : undefined), 20_000, "both GPUs' change");
    for (const change of found) {
      expect(change.detail).toEqual({ from: { graphics: 1980, memory: 3201 }, to: { graphics: 1410, memory: 2619 } });
      expect(change.at).toBeGreaterThanOrEqual(setAt);
      expect(eventMessage(change)).toBe("application clocks 1980/3201 MHz → 1410/2619 MHz (graphics/memory)");
    }
    expect(new Set(found.map((e) => e.gpuId))).toEqual(new Set(store.gpus().map((gpu) => gpu.id)));
    // Read again and again unchanged: no more events.
    const later = pipeline.collector.status().stored + 20;
    await waitFor(() => (pipeline.collector.status().stored >= later ? true : undefined), 20_000, "more samples");
    expect(changes()).toHaveLength(2);
  });

  it("keeps events as long as samples: a prune deletes those past retention and records itself", async () => {
    const pipeline = await startPipeline(new SimulatedSource(1, 100), path.join(dir, "prune.db"));
    cleanups.push(() => pipeline.stop());
    const store = pipeline.storage.requireStore();
    const now = Date.now();
    store.events.insert({ gpuId: null, at: now - 91 * DAY, kind: "recorder_stopped", detail: { clean: true } });
    store.events.insert({ gpuId: null, at: now - 89 * DAY, kind: "recorder_stopped", detail: { clean: true } });
    const result = pipeline.storage.prune();
    expect(result.deletedEvents).toBe(1);
    const left = store.events.list({ from: 0, to: Number.MAX_SAFE_INTEGER, limit: 10 });
    expect(left.map((e) => e.at)).not.toContain(now - 91 * DAY);
    expect(left.map((e) => e.at)).toContain(now - 89 * DAY);
    expect(left[0]).toMatchObject({ kind: "prune", detail: { deletedEvents: 1, deletedSamples: 0, reason: "retention" } });
  });
});

describe("Xid errors", () => {
  let library = "";
  beforeAll(() => {
    library = path.join(dir, "nvml", "libnvidia-ml.so.1");
    fs.mkdirSync(path.dirname(library), { recursive: true });
    execFileSync("gcc", ["-shared", "-fPIC", "-o", library, path.join(REPO_ROOT, "tests", "fake-nvml", "fake-nvml.c")], { stdio: "pipe" });
  });

  it("records each Xid once, with its code and meaning", async () => {
    process.env.FAKE_NVML_XIDS = "0:79:3";
    cleanups.push(() => Promise.resolve(void delete process.env.FAKE_NVML_XIDS));
    const { log } = capturedLog();
    const source = new NvmlSource({ libraryPath: library, intervalMs: 100, log, minBackoffMs: 50, maxBackoffMs: 400 });
    const pipeline = await startPipeline(source, path.join(dir, "xid", "telemetry.db"));
    cleanups.push(() => pipeline.stop());
    const store = pipeline.storage.requireStore();
    const xids = () => store.events.list({ from: 0, to: Number.MAX_SAFE_INTEGER, limit: 100 }).filter((e) => e.kind === "xid");
    const [xid] = await waitFor(() => (xids().length > 0 ? xids() : undefined), 20_000, "the Xid recorded");
    expect(xid.detail).toEqual({ xid: 79, meaning: "GPU has fallen off the bus" });
    expect(xid.gpuId).toBe(store.gpus()[0].id);
    // Later flushes see the same Xid in the source's list and leave it be.
    const flushesLater = pipeline.collector.status().stored + 20;
    await waitFor(() => (pipeline.collector.status().stored >= flushesLater ? true : undefined), 20_000, "more samples");
    expect(xids()).toHaveLength(1);
  });

  it("records applications clocks set while NVML is read, read again every recheck", async () => {
    const clocksFile = path.join(dir, "nvml-app-clocks.txt");
    replaceFakeSettings(clocksFile, "1980 3201\n");
    process.env.FAKE_NVML_APP_CLOCKS_FILE = clocksFile;
    cleanups.push(() => Promise.resolve(void delete process.env.FAKE_NVML_APP_CLOCKS_FILE));
    const { log } = capturedLog();
    const { store, changes } = await recordingClockChanges(
      new NvmlSource({ libraryPath: library, intervalMs: 100, log, factsRecheckMs: 100 }),
      "nvml-app-clocks",
    );
    expect(changes()).toEqual([]);
    replaceFakeSettings(clocksFile, "1410 2619\n");
    const [change] = await waitFor(() => (changes().length > 0 ? changes() : undefined), 20_000, "the change recorded");
    expect(change.detail).toEqual({ from: { graphics: 1980, memory: 3201 }, to: { graphics: 1410, memory: 2619 } });
    expect(change.gpuId).toBe(store.gpus()[0].id);
  });
});
