import { TRPCClientError } from "@trpc/client";
import type { AppRouter } from "../server/routers/_app";

/**
 * The server answers SERVICE_UNAVAILABLE when the database cannot be opened
 * (live data still flows). Pages that need the database say so plainly.
 */

export function isDatabaseDown(error: unknown): error is TRPCClientError<AppRouter> {
  return error instanceof TRPCClientError && (error as TRPCClientError<AppRouter>).data?.code === "SERVICE_UNAVAILABLE";
}

/** The reason alone, without the server's own "the telemetry database is unavailable" lead-in. */
export function databaseDownReason(error: TRPCClientError<AppRouter>): string {
  const reason = error.message.replace(/^the telemetry database is unavailable:?\s*/i, "").trim();
  return reason === "" ? "no reason given" : reason.replace(/\.$/, "");
}

/** No point retrying a database that is known to be down; the page polls it again later. */
export function retryUnlessDatabaseDown(failureCount: number, error: unknown): boolean {
  return !isDatabaseDown(error) && failureCount < 1;
}
