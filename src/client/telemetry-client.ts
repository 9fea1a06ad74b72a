import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from "@trpc/client";
import { EventSource } from "eventsource";
import { isLoopbackHost } from "../telemetry/loopback-host";
import { MAX_BATCH_CALLS } from "../telemetry/request-limits";
import { wireTransformer } from "../telemetry/wire-columns";
import type { AppRouter } from "../server/routers/_app";

/**
 * A typed client of a running nvidia-oc server for Node scripts:
 *
 *   const client = createTelemetryClient("http://127.0.0.1:8000");
 *   await client.telemetry.stats.query({ gpuIndex: 0, hours: 1 });
 *   client.telemetry.live.subscribe(undefined, { onData: ({ id, data }) => ... });
 *
 * Queries and mutations are batched over HTTP; subscriptions use server-sent
 * events, which reconnect on their own and resume after the last event id seen.
 * Node has no EventSource of its own, hence the `eventsource` package.
 * A server started with NVOC_TOKEN needs `{ token }`: it is sent as a Bearer
 * header on every request and stream. `{ timeoutMs }` bounds each query and mutation.
 */
export function createTelemetryClient(
  url: string,
  options: { token?: string | undefined; timeoutMs?: number | undefined } = {},
): TRPCClient<AppRouter> {
  const endpoint = `${url.replace(/\/+$/, "")}/api/trpc`;
  const authorization: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  // On this machine the answer's bytes cost less than decoding them: 8 GPUs' series over 48 h took
  // Node's fetch longer to decompress than the server took to make (bench/RESULTS.md, "After a pause").
  const hostname = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, "$1");
  const batchHeaders = isLoopbackHost(hostname) ? { ...authorization, "accept-encoding": "identity" } : authorization;
  const { timeoutMs } = options;
  // Queries and mutations give up when no answer starts within timeoutMs (a wedged server must not
  // hang a script); streams never do. A plain timer, not AbortSignal.timeout: that one is unref'd and
  // Node 20 may collect an AbortSignal.any before it fires, leaving the request waiting for good.
  const withTimeout: typeof fetch = async (input, init) => {
    if (timeoutMs === undefined) return fetch(input, init);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    const outer = init?.signal;
    const forward = () => controller.abort(outer?.reason);
    outer?.addEventListener("abort", forward, { once: true });
    try {
      return await fetch(input, { ...init, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", forward);
    }
  };
  const withToken: typeof fetch = (input, init) =>
    fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...authorization } });
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url: endpoint, EventSource, eventSourceOptions: { fetch: withToken }, transformer: wireTransformer }),
        false: httpBatchLink({
          url: endpoint,
          headers: batchHeaders,
          fetch: withTimeout,
          maxItems: MAX_BATCH_CALLS,
          transformer: wireTransformer,
        }),
      }),
    ],
  });
}

export type TelemetryClient = ReturnType<typeof createTelemetryClient>;
/** For a tRPC client of your own: its links need the API's transformer (docs/api.md). */
export { wireTransformer };
export type { AppRouter };
