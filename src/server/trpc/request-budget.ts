import { TRPCError } from "@trpc/server";
import type { TRPCRequestInfo } from "@trpc/server/http";
import type { RequestLimit } from "../refused-requests";
import { MAX_RECORDS_PER_REQUEST, MAX_SERIES_VALUES_PER_REQUEST, seriesAsked } from "../../telemetry/request-limits";
import { eventsInput, historyInput, seriesInput, seriesOfGpusInput } from "../api/inputs";

/**
 * Adds up what the calls of one request ask for before any of them runs, and
 * refuses the whole request (413) when the total is over the budget: the answer
 * of a batch is built in memory at once, so its size is what has to be bounded.
 * Inputs that do not parse cost nothing here; their calls are refused on their own.
 */

interface Measure {
  limitName: RequestLimit;
  /** What is counted, in the words of the refusal. */
  unit: string;
  limit: number;
  /** By procedure path: a Map, since the path is the client's ("constructor" must not find Object's). */
  costOf: ReadonlyMap<string, (rawInput: unknown) => number>;
}

/** The records a history input asks for (0 when it is not valid: it is refused on its own). */
export const historyRecordsAsked = (rawInput: unknown) => historyInput.safeParse(rawInput).data?.limit ?? 0;

const RECORDS: Measure = {
  limitName: "records",
  unit: "records",
  limit: MAX_RECORDS_PER_REQUEST,
  costOf: new Map([
    ["telemetry.history", historyRecordsAsked],
    ["events.list", (raw: unknown) => eventsInput.safeParse(raw).data?.limit ?? 0],
  ]),
};

const MEASURES: Measure[] = [
  RECORDS,
  {
    limitName: "series_values",
    unit: "series values (points × metrics and clock reasons, for each GPU)",
    limit: MAX_SERIES_VALUES_PER_REQUEST,
    costOf: new Map([
      [
        "telemetry.series",
        (raw: unknown) => {
          const input = seriesInput.safeParse(raw).data;
          return input ? input.maxPoints * seriesAsked(input) : 0;
        },
      ],
      [
        "telemetry.seriesOfGpus",
        (raw: unknown) => {
          const input = seriesOfGpusInput.safeParse(raw).data;
          return input ? input.maxPoints * seriesAsked(input) * input.gpus.length : 0;
        },
      ],
    ]),
  },
];

/** A 413 that says which limit the request went over. */
export class RequestOverBudget extends TRPCError {
  constructor(
    readonly limitName: RequestLimit,
    message: string,
  ) {
    super({ code: "PAYLOAD_TOO_LARGE", message });
  }
}

const counted = (n: number) => n.toLocaleString("en");

async function totalOf(measure: Measure, info: TRPCRequestInfo): Promise<number> {
  let total = 0;
  for (const call of info.calls) {
    const cost = measure.costOf.get(call.path);
    if (cost) total += cost(await call.getRawInput().catch(() => undefined));
  }
  return total;
}

/**
 * Throws PAYLOAD_TOO_LARGE naming the limit when the request asks for more than
 * one request may; otherwise returns the history records it asks for.
 */
export async function checkRequestBudget(info: TRPCRequestInfo): Promise<number> {
  for (const measure of MEASURES) {
    const total = await totalOf(measure, info);
    if (total > measure.limit) {
      const what = info.calls.length > 1 ? `this batch of ${info.calls.length} calls asks` : "this request asks";
      throw new RequestOverBudget(
        measure.limitName,
        `${what} for ${counted(total)} ${measure.unit}; one request may ask for at most ${counted(measure.limit)} (split it into requests within the limit)`,
      );
    }
  }
  return totalOf(RECORDS, info);
}
