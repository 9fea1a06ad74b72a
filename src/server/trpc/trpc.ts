import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { DatabaseUnavailableError } from "../storage/storage-manager";
import type { Context } from "./context";

const t = initTRPC.context<Context>().create({
  sse: {
    // Keeps proxies from closing quiet streams and lets clients spot a dead one.
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 25_000 },
  },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      message: cause instanceof ZodError ? describeZodError(cause) : shape.message,
      data: {
        ...shape.data,
        // Field-by-field messages for bad input, so clients can name the field.
        fieldErrors: cause instanceof ZodError ? z.flattenError(cause).fieldErrors : null,
        stack: undefined,
      },
    };
  },
});

/** "limit: must be at most 10000; hours: must be a number": each problem names its field. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

/** Turns a missing database into SERVICE_UNAVAILABLE instead of a 500. */
const databaseErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DatabaseUnavailableError) {
    throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: result.error.cause.message, cause: result.error.cause });
  }
  return result;
});

export const router = t.router;
export const publicProcedure = t.procedure.use(databaseErrors);
export const createCallerFactory = t.createCallerFactory;
