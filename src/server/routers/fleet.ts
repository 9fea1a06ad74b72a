import { TRPCError } from "@trpc/server";
import { fleetSeriesInput } from "../fleet/fleet-inputs";
import { listFleetGpus } from "../fleet/fleet-gpus";
import { fleetSeries } from "../fleet/fleet-series";
import { PrometheusUnavailable, type PrometheusClient } from "../fleet/prometheus-client";
import { publicProcedure, router } from "../trpc/trpc";

/** Prometheus down, slow or refusing is the gateway's problem (502, 504) with its reason, never a 500. */
const prometheusErrors = publicProcedure.use(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof PrometheusUnavailable) {
    const cause = result.error.cause;
    throw new TRPCError({ code: cause.reason === "timeout" ? "GATEWAY_TIMEOUT" : "BAD_GATEWAY", message: cause.message, cause });
  }
  return result;
});

function configured(prometheus: PrometheusClient | null): PrometheusClient {
  if (prometheus === null)
    throw new TRPCError({
      code: "PRECONDITION_FAILED",
      message: "the Fleet page reads Prometheus: start nvidia-oc with NVOC_PROMETHEUS_URL set to its address",
    });
  return prometheus;
}

export const fleetRouter = router({
  /** Whether the Fleet page is on, and which Prometheus it reads (credentials left out). */
  status: publicProcedure.query(({ ctx }) => ({
    configured: ctx.prometheus !== null,
    prometheusUrl: ctx.prometheus?.shownUrl ?? null,
    failedQueries: ctx.prometheus?.failureCount() ?? 0,
  })),

  /** Every GPU Prometheus holds from nvidia-oc or dcgm-exporter, its newest readings and health, by host. */
  gpus: prometheusErrors.query(({ ctx }) => listFleetGpus(configured(ctx.prometheus))),

  /** A host's, model's or GPU's (or the whole fleet's) history: min, max and average per step, and fleet totals. */
  series: prometheusErrors.input(fleetSeriesInput).query(({ ctx, input }) => fleetSeries(configured(ctx.prometheus), input)),
});
