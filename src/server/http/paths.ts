import type { ParamSpec } from "../rest/query";

/** Where the plain HTTP API and its WebSocket stream live; http-server.ts routes by these. */

export const REST_PREFIX = "/api/telemetry";
/** The usage record's plain HTTP paths: sessions and summaries. */
export const USAGE_PREFIX = "/api/usage";
export const STREAM_PATH = `${REST_PREFIX}/stream`;

export const STREAM_QUERY: ParamSpec = {
  interval: { key: "interval", kind: "number" },
  gpu_index: { key: "gpuIndex", kind: "number" },
  gpu_uuid: { key: "gpuUuid", kind: "text" },
};

export const pathOf = (url: string | undefined) => (url ?? "/").split("?", 1)[0];

export const queryOf = (url: string | undefined) => {
  const at = (url ?? "").indexOf("?");
  return new URLSearchParams(at < 0 ? "" : (url ?? "").slice(at + 1));
};

export const isRestPath = (url: string | undefined) => {
  const path = pathOf(url);
  return [REST_PREFIX, USAGE_PREFIX].some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
};

export const isStreamPath = (url: string | undefined) => pathOf(url) === STREAM_PATH;

/** A path segment decoded, or as it came when it is not valid percent-encoding (it then matches no route or name). */
export function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
