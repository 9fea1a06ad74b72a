import type http from "node:http";

/**
 * Headers every response carries: no MIME sniffing, no framing (clickjacking),
 * no referrer sent to other sites, and a content policy that lets the pages load only from
 * this server. Next's app router inlines its bootstrap scripts and styles, hence
 * 'unsafe-inline'; its development server also evaluates code and talks over a socket.
 */
export function securityHeaders(dev: boolean): Record<string, string> {
  const script = dev ? "'self' 'unsafe-inline' 'unsafe-eval'" : "'self' 'unsafe-inline'";
  return {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    // Not no-referrer: under it browsers send "Origin: null" on this site's own form posts, which the Origin check must refuse.
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": [
      "default-src 'self'",
      `script-src ${script}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self' data:",
      `connect-src 'self'${dev ? " ws: wss:" : ""}`,
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join("; "),
  };
}

export function applyHeaders(res: http.ServerResponse, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
