import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { DatabaseUnavailableError } from "../storage/storage-manager";
import type { Context } from "./context";

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...shape.data,
        // Field-by-field messages for bad input, so clients can name the field.
        fieldErrors: cause instanceof ZodError ? z.flattenError(cause).fieldErrors : null,
        stack: undefined,
      },
    };
  },
});

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
