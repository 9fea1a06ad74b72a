import type http from "node:http";
import type { HostAllowList } from "./host-allow-list";

/**
 * Browsers attach Origin to cross-site requests, and to every WebSocket
 * handshake, which no CORS rule protects. A request carrying a foreign Origin
 * is a page on another site acting with this browser's cookies: refuse it.
 * Requests without one (curl, scripts, same-site navigation) are not browsers
 * acting for another site.
 */
export function foreignOrigin(req: http.IncomingMessage, allowedOrigins: readonly string[], hosts: HostAllowList): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  if (allowedOrigins.includes(origin)) return null;
  try {
    const url = new URL(origin);
    // The name must be one of this server's own: the Host header alone is the attacker's to choose under DNS rebinding.
    // The port is the one the browser addressed (a port mapping or a TLS proxy may put another in front of ours),
    // so another program on this machine, on another port, is not this server.
    const webPage = url.protocol === "http:" || url.protocol === "https:";
    if (webPage && hosts.allows(url.hostname) && url.host === req.headers.host?.toLowerCase()) return null;
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
