import { createCallerFactory, router } from "../trpc/trpc";
import { collectorRouter } from "./collector";
import { databaseRouter } from "./database";
import { eventsRouter } from "./events";
import { fleetRouter } from "./fleet";
import { gpusRouter } from "./gpus";
import { healthRouter } from "./health";
import { telemetryRouter } from "./telemetry";
import { usageRouter } from "./usage";

export const appRouter = router({
  health: healthRouter,
  telemetry: telemetryRouter,
  gpus: gpusRouter,
  database: databaseRouter,
  collector: collectorRouter,
  events: eventsRouter,
  usage: usageRouter,
  fleet: fleetRouter,
});

export type AppRouter = typeof appRouter;

/**
 * Calls procedures in process, as the REST layer does and as tests do: the same
 * inputs, checks and answers as over HTTP, without a request.
 */
export const createCaller = createCallerFactory(appRouter);
