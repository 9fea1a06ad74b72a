import type http from "node:http";

/**
 * Browsers attach Origin to cross-site requests, and to every WebSocket
 * handshake, which no CORS rule protects. A request carrying a foreign Origin
 * is a page on another site acting with this browser's cookies: refuse it.
 * Requests without one (curl, scripts, same-site navigation) are not browsers
 * acting for another site.
 */
export function foreignOrigin(req: http.IncomingMessage, allowed: readonly string[]): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  if (allowed.includes(origin)) return null;
  try {
    const url = new URL(origin);
    // Same host and port as the request was addressed to, over http or https (a TLS proxy in front).
    if ((url.protocol === "http:" || url.protocol === "https:") && url.host === req.headers.host) return null;
  } catch {
    // "null" (sandboxed frames, file:) and anything unparsable are foreign.
  }
  return origin;
}

/** Changes state, opens a live stream, or is an API call a page could make from elsewhere. */
export function needsOriginCheck(req: http.IncomingMessage, path: string): boolean {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") return true;
  return req.headers.upgrade !== undefined || path.startsWith("/api/");
}
