"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { useState, type ReactNode } from "react";
import { retryUnlessDatabaseDown } from "../lib/database-error";
import { singleTryEventSource } from "../lib/single-try-event-source";
import { TRPCProvider } from "../lib/trpc";
import { MAX_BATCH_CALLS } from "../telemetry/request-limits";
import { wireTransformer } from "../telemetry/wire-columns";
import type { AppRouter } from "../server/routers/_app";
import { LiveTelemetryProvider } from "./live/live-telemetry";

const TRPC_URL = "/api/trpc";

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { staleTime: 1000, retry: retryUnlessDatabaseDown } } }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        // The server speaks SSE for subscriptions; a new EventSource after a drop resumes them with the last event id.
        splitLink({
          condition: (op) => op.type === "subscription",
          true: httpSubscriptionLink({ url: TRPC_URL, EventSource: singleTryEventSource(), transformer: wireTransformer }),
          // The server refuses larger batches.
          false: httpBatchLink({ url: TRPC_URL, maxItems: MAX_BATCH_CALLS, transformer: wireTransformer }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <LiveTelemetryProvider>{children}</LiveTelemetryProvider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
