import type http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../../logger";
import { RestError, refuseUpgrade, sendError } from "../errors";
import { decodedSegment, pathOf } from "../paths";
import { presentedCredentials, sameSecret, sessionValue } from "./credentials";
import type { HostAllowList } from "./host-allow-list";
import { safeNext, SIGN_IN_PATH } from "./next-path";
import { foreignOrigin, needsOriginCheck } from "./origin";

/**
 * Decides, before any routing, whether a request may go on: a Host that is not
 * one of this server's names is refused everywhere (DNS rebinding), a foreign Origin is
 * refused on anything that changes state or streams, and when NVOC_TOKEN is set
 * every page, API call, export and stream needs the token (Bearer header) or the
 * cookie the sign-in page sets. Browsers asking for a page are sent to sign in.
 */

export { SIGN_IN_PATH };

const TRPC_PREFIX = "/api/trpc/";
const WWW_AUTHENTICATE = 'Bearer realm="nvidia-oc"';
/** Wrong tokens and foreign hosts are logged at most this often, so guessing cannot flood the log. */
const REFUSAL_LOG_EVERY_MS = 10_000;

type Refusal = RestError;

export interface AccessGate {
  /** True when the request may go on; otherwise the response has been sent. */
  admit(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** True when the WebSocket handshake may go on; otherwise it has been refused. */
  admitUpgrade(req: http.IncomingMessage, socket: Duplex): boolean;
  /** Whether a sign-in is needed at all. */
  readonly tokenRequired: boolean;
}

export interface AccessOptions {
  token: string | null;
  allowedOrigins: string[];
  hosts: HostAllowList;
  log: Logger;
}

/** Said of every request addressed to a name that is not this server's: the only way to serve it is to list it. */
function misaddressed(host: string): RestError {
  return new RestError(
    421,
    "MISDIRECTED_REQUEST",
    `this server does not answer to the host name in "Host: ${host}" (only to localhost, its own addresses and NVOC_ALLOWED_HOSTS, against DNS rebinding); if that name is yours, add it to NVOC_ALLOWED_HOSTS`,
  );
}

export function createAccessGate(options: AccessOptions): AccessGate {
  const { token, allowedOrigins, hosts, log } = options;
  const session = token === null ? null : sessionValue(token);
  const noteWrongToken = throttledWarning(log, "refused a request with a wrong token");
  const noteForeignHost = throttledWarning(
    log,
    "refused a request addressed to a host name that is not this server's (NVOC_ALLOWED_HOSTS)",
  );

  const misaddressedTo = (req: http.IncomingMessage): Refusal | null => {
    if (hosts.admits(req.headers.host)) return null;
    noteForeignHost(req);
    return misaddressed(req.headers.host ?? "");
  };

  const judge = (req: http.IncomingMessage): Refusal | null => {
    const path = pathOf(req.url);
    if (needsOriginCheck(req, path)) {
      const origin = foreignOrigin(req, allowedOrigins, hosts);
      if (origin !== null) {
        return new RestError(403, "FORBIDDEN", `requests from ${origin} are not allowed; list it in NVOC_ALLOWED_ORIGINS if it is yours`);
      }
    }
    if (token === null || session === null) return null;
    const { bearer, session: cookie } = presentedCredentials(req);
    if (bearer !== null) {
      if (sameSecret(bearer, token)) return null;
      noteWrongToken(req);
      return new RestError(401, "UNAUTHORIZED", "the token is wrong");
    }
    if (cookie !== null && sameSecret(cookie, session)) return null;
    if (cookie !== null) noteWrongToken(req);
    return new RestError(
      401,
      "UNAUTHORIZED",
      `this server needs its token: send "Authorization: Bearer <NVOC_TOKEN>" or sign in at ${SIGN_IN_PATH}`,
    );
  };

  return {
    tokenRequired: token !== null,
    admit(req, res) {
      const path = pathOf(req.url);
      const elsewhere = misaddressedTo(req);
      if (elsewhere !== null) {
        refuse(req, res, path, elsewhere);
        return false;
      }
      // The sign-in page checks the Origin itself and must be reachable without a token.
      if (path === SIGN_IN_PATH) return true;
      const refusal = judge(req);
      if (refusal === null) return true;
      const method = req.method ?? "GET";
      // A browser opening a page is sent to sign in; a script that sent a wrong token is told so.
      const browsing = (method === "GET" || method === "HEAD") && !path.startsWith("/api/") && req.headers.authorization === undefined;
      if (refusal.status === 401 && browsing) {
        res
          .writeHead(303, { location: `${SIGN_IN_PATH}?next=${encodeURIComponent(safeNext(req.url))}`, "cache-control": "no-store" })
          .end();
      } else {
        refuse(req, res, path, refusal);
      }
      return false;
    },
    admitUpgrade(req, socket) {
      const refusal = misaddressedTo(req) ?? judge(req);
      if (refusal === null) return true;
      refuseUpgrade(socket, refusal, refusal.status === 401 ? { "WWW-Authenticate": WWW_AUTHENTICATE } : {});
      return false;
    },
  };
}

/** Refusals a stranger can cause at will are logged at most every REFUSAL_LOG_EVERY_MS, with how many there were. */
function throttledWarning(log: Logger, message: string) {
  let refusedSinceLog = 0;
  let lastLog = 0;
  return (req: http.IncomingMessage) => {
    refusedSinceLog++;
    const now = Date.now();
    if (now - lastLog < REFUSAL_LOG_EVERY_MS) return;
    log.warn({ remote: req.socket.remoteAddress, refused: refusedSinceLog, host: req.headers.host, path: pathOf(req.url) }, message);
    refusedSinceLog = 0;
    lastLog = now;
  };
}

function refuse(req: http.IncomingMessage, res: http.ServerResponse, path: string, refusal: Refusal) {
  if (path.startsWith(TRPC_PREFIX)) sendTrpcRefusal(req, res, refusal);
  else sendError(res, refusal, refusal.status === 401 ? { "www-authenticate": WWW_AUTHENTICATE } : {});
}

const TRPC_CODES: Record<number, number> = { 401: -32001, 403: -32003 };

/**
 * In tRPC's own error shape (one per call of a batch), so the typed client
 * reports "UNAUTHORIZED: …" instead of failing to read the answer.
 */
function sendTrpcRefusal(req: http.IncomingMessage, res: http.ServerResponse, refusal: Refusal) {
  const url = new URL(req.url ?? "/", "http://local");
  // The names are only echoed back: one that is not valid percent-encoding is echoed as sent.
  const procedures = decodedSegment(url.pathname.slice(TRPC_PREFIX.length)).split(",");
  const one = (procedure: string) => ({
    error: {
      message: refusal.message,
      code: TRPC_CODES[refusal.status] ?? -32600,
      data: { code: refusal.code, httpStatus: refusal.status, path: procedure },
    },
  });
  const body = url.searchParams.get("batch") === "1" ? procedures.map(one) : one(procedures[0] ?? "");
  const text = JSON.stringify(body);
  res.writeHead(refusal.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...(refusal.status === 401 ? { "www-authenticate": WWW_AUTHENTICATE } : {}),
  });
  res.end(text);
}
