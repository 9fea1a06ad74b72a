import type { Logger } from "./logger";
import { createCaller } from "./routers/_app";
import { sampleRecordsJson } from "./rest/records-json";
import { createContextInner, type Services } from "./trpc/context";

/**
 * Asks once, in the process, what a dashboard or a polling script asks first
 * after a start: the newest 1000 records and their JSON, and a day's stats.
 * The first such request otherwise pays for reading the newest chunks from a
 * cold database file, decoding them, and running the per-metric code before
 * it is compiled: hundreds of milliseconds instead of a few. A failure is only
 * logged: the same request from a client would then meet it and say so.
 */
export async function warmReadPath(services: Services, log: Logger): Promise<void> {
  if (!services.storage.store) return;
  const started = performance.now();
  try {
    const caller = createCaller(createContextInner(services));
    sampleRecordsJson(await caller.telemetry.history({ limit: 1000, hours: 24 }));
    const gpuIndex = services.collector.gpus()[0]?.index;
    if (gpuIndex !== undefined) await caller.telemetry.stats({ gpuIndex, hours: 24 });
    log.debug({ ms: Math.round(performance.now() - started) }, "read path warmed");
  } catch (error) {
    log.warn({ err: error instanceof Error ? error.message : String(error) }, "warming the read path failed");
  }
}
