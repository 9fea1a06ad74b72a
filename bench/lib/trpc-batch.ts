/** The URL of one GET tRPC batch calling `procedure` once per input, as httpBatchLink builds it. */
export const batchPath = (procedure: string, inputs: unknown[]) =>
  `/api/trpc/${Array(inputs.length).fill(procedure).join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(inputs.map((v, i) => [i, v]))))}`;

/** The batch of issue 12: 200 history calls of 10,000 records each, over the whole retention. */
export const HISTORY_FLOOD = batchPath(
  "telemetry.history",
  Array.from({ length: 200 }, () => ({ hours: 2160, limit: 10_000 })),
);
