import type http from "node:http";

/**
 * Writes to a long answer (the export) that resolve true once the client can
 * take more and false when it went away, so memory does not grow with the range.
 * `released` is called when the chunk was held back and has since left the
 * response, so its bytes may be written into again.
 * One drain and one close listener serve the whole answer: a compressed
 * answer's drain comes from its compressor, and a listener added and removed
 * per write would pile up there, out of reach of `off` on the response.
 */
export function writerFor(res: http.ServerResponse): (chunk: string | Uint8Array, released?: () => void) => Promise<boolean> {
  let waiting: ((open: boolean) => void) | null = null;
  const settle = (open: boolean) => {
    waiting?.(open);
    waiting = null;
  };
  res.on("drain", () => settle(true));
  res.on("close", () => settle(false));
  return (chunk, released) => {
    if (res.destroyed) return Promise.resolve(false);
    if (chunk.length === 0 || res.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      waiting = (open) => {
        // Drained: everything written so far has left the response (sent, or taken in by the compressor).
        if (open) released?.();
        resolve(open);
      };
    });
  };
}
