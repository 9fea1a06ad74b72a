import path from "node:path";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryErrorReader } from "../../src/server/collector/memory-error-reader";
import { ProcessReader } from "../../src/server/collector/process-reader";
import { XidErrorReader } from "../../src/server/collector/xid-error-reader";
import { loadConfig } from "../../src/server/config";
import { RecordsInFlight } from "../../src/server/records-in-flight";
import { RefusedRequests } from "../../src/server/refused-requests";
import { createCaller } from "../../src/server/routers/_app";
import { createContextInner } from "../../src/server/trpc/context";
import { MAX_RECORDS_IN_FLIGHT } from "../../src/telemetry/request-limits";
import { ManualSource } from "../helpers/manual-source";
import { silentLog, startPipeline } from "../helpers/pipeline";
import { simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

/**
 * The routers called in process, through the same caller the REST layer uses:
 * a real collector and SQLite store behind them, no HTTP in front.
 */

const dir = tempDir();
const source = new ManualSource();
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
let caller: ReturnType<typeof createCaller>;

beforeAll(async () => {
  pipeline = await startPipeline(source, path.join(dir, "telemetry.db"), 1000);
  const indexOf = (uuid: string) => pipeline.collector.gpus().find((gpu) => gpu.uuid === uuid)?.index ?? null;
  caller = createCaller(
    createContextInner({
      config: loadConfig({ NVOC_DB_PATH: path.join(dir, "telemetry.db") }),
      collector: pipeline.collector,
      storage: pipeline.storage,
      processes: new ProcessReader({ source, log: silentLog, indexOf, commandLines: true }),
      memoryHealth: new MemoryErrorReader({ source, log: silentLog, indexOf }),
      xidErrors: new XidErrorReader({ source, indexOf }),
      recordsInFlight: new RecordsInFlight(MAX_RECORDS_IN_FLIGHT),
      refusedRequests: new RefusedRequests(silentLog),
      startedAt: Date.now(),
      prometheus: null,
    }),
  );
  const { infos, samples } = simulatedSamples({ gpus: 2, count: 30, start: Date.now() - 60_000, stepMs: 1000 });
  source.sink!.gpus(infos);
  await source.sink!.samples(samples);
  pipeline.collector.flush();
});

afterAll(async () => {
  await pipeline?.stop();
});

describe("the routers in process", () => {
  it("answer history newest first, for every GPU or one chosen by UUID", async () => {
    const all = await caller.telemetry.history({ hours: 1, limit: 10 });
    expect(all).toHaveLength(10);
    expect(all.map((record) => record.timestamp)).toEqual([...all.map((record) => record.timestamp)].sort((a, b) => b - a));
    const [uuid] = new Set(all.map((record) => record.gpuUuid));
    const one = await caller.telemetry.history({ gpuUuid: uuid, hours: 1, limit: 1000 });
    expect(one).toHaveLength(30);
    expect(new Set(one.map((record) => record.gpuUuid))).toEqual(new Set([uuid]));
  });

  it("count what the collector stored", async () => {
    const stats = await caller.database.stats();
    expect(stats.totalRecords).toBe(60);
    const status = await caller.collector.status();
    expect(status).toMatchObject({ collected: 60, stored: 60, writeFailures: 0, rejectedValues: 0 });
  });

  it("refuse bad input with BAD_REQUEST naming the field", async () => {
    const refused = await caller.telemetry.history({ hours: 1, limit: 0 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TRPCError);
    expect((refused as TRPCError).code).toBe("BAD_REQUEST");
    expect((refused as TRPCError).message).toMatch(/limit/);
  });
});
