import { z } from "zod";
import { DAY_MS } from "../../telemetry/durations";
import { labelValue } from "./promql";

/** The longest history the page offers, as the History page does. */
export const MAX_FLEET_RANGE_MS = 90 * DAY_MS;
export const MAX_FLEET_POINTS = 1000;

/** Which GPUs a history covers: all of them, one scrape target's, one model's, or one GPU. */
export const fleetGroup = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("all") }),
  z.object({ kind: z.literal("host"), instance: labelValue("instance") }),
  z.object({ kind: z.literal("model"), model: labelValue("model") }),
  z.object({ kind: z.literal("gpu"), instance: labelValue("instance"), uuid: labelValue("uuid") }),
]);

export type FleetGroup = z.infer<typeof fleetGroup>;

export const fleetSeriesInput = z
  .object({
    group: fleetGroup,
    from: z.number().int().nonnegative(),
    to: z.number().int().nonnegative(),
    maxPoints: z.number().int().min(2).max(MAX_FLEET_POINTS).default(300),
  })
  .refine((i) => i.to > i.from, { error: "to must be after from", path: ["to"] })
  .refine((i) => i.to - i.from >= 60_000, { error: "the range must span at least a minute", path: ["to"] })
  .refine((i) => i.to - i.from <= MAX_FLEET_RANGE_MS, {
    error: `the range may span at most ${MAX_FLEET_RANGE_MS / DAY_MS} days`,
    path: ["to"],
  });

export type FleetSeriesInput = z.infer<typeof fleetSeriesInput>;
