import type http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../logger";
import { RestError, refuseUpgrade, sendError, toRestError } from "./errors";
import { pathOf } from "./paths";

/**
 * The last line of defence around every request and WebSocket handshake:
 * whatever a handler throws or rejects with, the client gets an answer (400
 * for a URL that is not valid percent-encoding, otherwise the error's own
 * status, a logged 500 for a fault of ours) and the process goes on. Thrown out
 * of a 'request' listener, an error would reach the process's uncaught-exception
 * handler instead, and the client would wait for an answer that never comes.
 */

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;
type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => unknown;

const MALFORMED_URL = "the URL is not valid percent-encoding: each % must start two hex digits, and the bytes they spell must be UTF-8";

function createFailureAnswer(log: Logger) {
  let failures = 0;
  return (req: http.IncomingMessage, error: unknown): RestError => {
    if (error instanceof URIError) return new RestError(400, "BAD_REQUEST", MALFORMED_URL);
    const refusal = toRestError(error);
    if (refusal.status >= 500) {
      failures++;
      log.error(
        { method: req.method, path: pathOf(req.url), failures, err: error instanceof Error ? error.message : String(error) },
        "request failed outside its handler",
      );
    }
    return refusal;
  };
}

/** Runs `run`, sync or async, and hands whatever it throws or rejects with to `fail`. */
function guarded(run: () => unknown, fail: (error: unknown) => void) {
  try {
    const done = run();
    if (done instanceof Promise) done.catch(fail);
  } catch (error) {
    fail(error);
  }
}

export function guardRequests(log: Logger, handle: RequestHandler): RequestHandler {
  const answerFor = createFailureAnswer(log);
  return (req, res) =>
    guarded(
      () => handle(req, res),
      (error) => {
        const refusal = answerFor(req, error);
        // Half an answer cannot be taken back: cutting the connection is the only honest end.
        if (res.headersSent || res.writableEnded) res.destroy();
        else sendError(res, refusal);
      },
    );
}

export function guardUpgrades(log: Logger, handle: UpgradeHandler): UpgradeHandler {
  const answerFor = createFailureAnswer(log);
  return (req, socket, head) =>
    guarded(
      () => handle(req, socket, head),
      (error) => {
        const refusal = answerFor(req, error);
        if (socket.writable && !socket.writableEnded) refuseUpgrade(socket, refusal);
        else socket.destroy();
      },
    );
}
