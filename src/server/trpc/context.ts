import type http from "node:http";
import { TRPCError } from "@trpc/server";
import type { TRPCRequestInfo } from "@trpc/server/http";
import type { Collector } from "../collector/collector";
import type { MemoryErrorReader } from "../collector/memory-error-reader";
import type { ProcessReader } from "../collector/process-reader";
import type { XidErrorReader } from "../collector/xid-error-reader";
import type { Config } from "../config";
import type { PrometheusClient } from "../fleet/prometheus-client";
import type { RecordsInFlight } from "../records-in-flight";
import type { RefusedRequests } from "../refused-requests";
import type { StorageManager } from "../storage/storage-manager";
import { checkRequestBudget, RequestOverBudget } from "./request-budget";
import { createTurns, type Turns } from "./turns";

/** The services every procedure may use; HTTP adapters wrap this per request. */
export interface Services {
  config: Config;
  collector: Collector;
  storage: StorageManager;
  processes: ProcessReader;
  memoryHealth: MemoryErrorReader;
  xidErrors: XidErrorReader;
  recordsInFlight: RecordsInFlight;
  refusedRequests: RefusedRequests;
  startedAt: number;
  /** The query API the Fleet page reads; null without NVOC_PROMETHEUS_URL. */
  prometheus: PrometheusClient | null;
}

/** The services, and what belongs to one request: the order its calls take turns in. */
export type Context = Services & { turns: Turns };

export function createContextInner(services: Services): Context {
  return { ...services, turns: createTurns() };
}

/**
 * The context of one HTTP request, once it has been found within the request
 * budget and its records fit among those of the other requests in flight.
 */
export async function createRequestContext(
  services: Services,
  { req, res, info }: { req: http.IncomingMessage; res: http.ServerResponse; info: TRPCRequestInfo },
): Promise<Context> {
  const records = await checkRequestBudget(info).catch((error: unknown) => {
    if (error instanceof RequestOverBudget) services.refusedRequests.note(error.limitName, error.message, req.socket.remoteAddress);
    throw error;
  });
  if (!(await services.recordsInFlight.admit(records, res)))
    throw new TRPCError({ code: "CLIENT_CLOSED_REQUEST", message: "the client went away" });
  return createContextInner(services);
}
