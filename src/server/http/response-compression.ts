import type http from "node:http";
import zlib from "node:zlib";
import compression from "compression";

/**
 * Compresses API answers for clients that ask (Accept-Encoding: browsers, fetch,
 * curl --compressed, Python requests). Telemetry JSON repeats the same keys on
 * every record, so the fastest settings already shrink a 1000-record history
 * from ~790 KB to ~20 KB (gzip) or ~17 KB (brotli) in about a millisecond:
 * far less than the plain bytes cost over a tunnel or a network. (On loopback
 * Node's fetch decodes slowly; clients there can leave Accept-Encoding out.)
 *
 * Event streams are left alone: a compressor holds bytes back until its buffer
 * fills, and a live event must leave at once.
 */
export const compressResponses = compression({
  level: 1,
  brotli: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } },
  filter: (req, res) => !isEventStream(res) && compression.filter(req, res),
});

function isEventStream(res: http.ServerResponse): boolean {
  return String(res.getHeader("content-type") ?? "").startsWith("text/event-stream");
}

/** Runs `handle` with its response compressed when the client accepts it; settles as `handle` does, so a failure reaches the caller. */
export function compressed(handle: (req: http.IncomingMessage, res: http.ServerResponse) => unknown) {
  return (req: http.IncomingMessage, res: http.ServerResponse) =>
    new Promise<void>((resolve, reject) => {
      compressResponses(req as Parameters<typeof compressResponses>[0], res as Parameters<typeof compressResponses>[1], () => {
        try {
          Promise.resolve(handle(req, res)).then(
            () => resolve(),
            (error: unknown) => reject(asError(error)),
          );
        } catch (error) {
          reject(asError(error));
        }
      });
    });
}

/** What a handler threw, as an Error (a thrown string or object is wrapped, its text kept). */
function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(typeof thrown === "string" ? thrown : JSON.stringify(thrown));
}
