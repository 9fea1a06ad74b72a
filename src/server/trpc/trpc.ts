import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { MAX_BATCH_CALLS } from "../../telemetry/request-limits";
import { DatabaseUnavailableError } from "../storage/storage-manager";
import { wireTransformer } from "../../telemetry/wire-columns";
import type { Context } from "./context";

/** Inputs are a few hundred bytes; a body past this is refused (413) before it is read any further. */
export const MAX_BODY_BYTES = 1024 * 1024;

const t = initTRPC.context<Context>().create({
  // Chart columns travel as integers (wire-columns.ts); every client reads them back with this.
  transformer: wireTransformer,
  sse: {
    // Keeps proxies from closing quiet streams and lets clients spot a dead one.
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      message: describeError(error, shape.message),
      data: {
        ...shape.data,
        // Field-by-field messages for bad input, so clients can name the field.
        fieldErrors: cause instanceof ZodError ? z.flattenError(cause).fieldErrors : null,
        stack: undefined,
      },
    };
  },
});

/** tRPC's refusal of a batch with more calls than the adapter's maxBatchSize. */
export const isBatchTooLarge = (error: TRPCError) => error.code === "BAD_REQUEST" && error.message === "Batch call exceeds maximum size";

/** What went wrong in words a client can act on; tRPC's own message is a bare code name for some errors. */
export function describeError(error: TRPCError, message: string): string {
  if (error.cause instanceof ZodError) return describeZodError(error.cause);
  // JSON.parse's message alone does not say which JSON: the `input` parameter or the request body.
  if (error.code === "BAD_REQUEST" && error.cause instanceof SyntaxError) return `input is not valid JSON: ${error.cause.message}`;
  // The adapter's own refusals carry no message of their own, or one that does not name the limit.
  if (error.code === "PAYLOAD_TOO_LARGE" && message === "PAYLOAD_TOO_LARGE")
    return `request body is larger than the limit of ${MAX_BODY_BYTES} bytes`;
  if (isBatchTooLarge(error)) return `a batch may hold at most ${MAX_BATCH_CALLS} calls (split it: httpBatchLink's maxItems)`;
  return message;
}

/** "limit: must be at most 10000; hours: must be a number": each problem names its field. */
export function describeZodError(error: ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
}

/** Turns a missing database into SERVICE_UNAVAILABLE instead of a 500. */
const databaseErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DatabaseUnavailableError) {
    throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: result.error.cause.message, cause: result.error.cause });
  }
  return result;
});

/** Each call of a batch in a turn of its own (see Turns). */
const ownTurn = t.middleware(({ ctx, next }) => ctx.turns.take(() => next()));

export const router = t.router;
export const publicProcedure = t.procedure.use(ownTurn).use(databaseErrors);
export const createCallerFactory = t.createCallerFactory;
