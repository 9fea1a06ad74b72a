import type http from "node:http";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { z } from "zod";
import type { Logger } from "../logger";
import type { exportInput } from "../api/inputs";
import { storedGpuOf } from "../routers/telemetry";
import type { Services } from "../trpc/context";
import { listEvents } from "../routers/events";
import { usageWindow } from "../routers/usage";
import { sessionView } from "../api/usage-report";
import { SESSION_CSV_COLUMNS, sessionRecord } from "./usage-records";
import { CSV_COLUMNS, eventRecord } from "./records";
import { csvCell } from "./records-csv";
import { exportPieces } from "./sample-export";
import { writerFor } from "./response-writer";
import { HOUR_MS } from "../../telemetry/durations";

/**
 * `GET /api/telemetry/export`: every sample of the window, oldest first, as
 * CSV or a JSON array. Rows are written piece by piece and the next piece is
 * made only once the client has taken the last one, so memory stays flat
 * however long the range and a slow client slows the export, not the server.
 */

/**
 * Bytes per write (a few hundred rows): the response holds each piece until the socket has
 * sent it, and the next is made only once the client has taken the last.
 */
const EXPORT_PIECE_BYTES = 64 * 1024;
/** Sessions per write. */
const ROWS_PER_WRITE = 100;

export type ExportRequest = z.output<typeof exportInput>;

/** Throws DatabaseUnavailableError before anything is sent when there is no database. */
export async function streamExport(services: Services, request: ExportRequest, res: http.ServerResponse, log: Logger): Promise<void> {
  if (request.kind === "events") return sendEventsExport(services, request, res);
  if (request.kind === "sessions") return sendSessionsExport(services, request, res, log);
  const { store, gpuId } = storedGpuOf(services, request);
  const now = Date.now();
  const gpuIds = gpuId === undefined ? store.gpus().map((gpu) => gpu.id) : [gpuId];
  const pieces = exportPieces(store, { gpuIds, from: now - request.hours * HOUR_MS, to: now }, request.format, EXPORT_PIECE_BYTES);
  const format = FORMATS[request.format];

  res.writeHead(200, {
    "content-type": format.contentType,
    "content-disposition": `attachment; filename="${exportFilename(request, now)}"`,
    "cache-control": "no-store",
  });
  const write = writerFor(res);
  let bytes = 0;
  try {
    if (!(await write(format.start))) return;
    let spent: Buffer | undefined;
    for (let piece = pieces.next(); !piece.done; piece = pieces.next(spent)) {
      const sent = piece.value;
      bytes += sent.length;
      spent = undefined;
      if (!(await write(sent, () => (spent = sent)))) return;
      // Let sampling and other requests in between pieces, even when the client keeps up.
      await nextTurn();
    }
    if (!(await write(format.end))) return;
    res.end();
  } catch (error) {
    // Headers are out: all that can be done is to cut the transfer short, so the client sees it failed.
    log.error({ err: error instanceof Error ? error.message : String(error), bytes }, "export failed");
    res.destroy();
  } finally {
    pieces.return(0);
  }
}

/** nvidia-oc-gpu0-24h-2026-05-01.csv, nvidia-oc-events-all-24h-2026-05-01.csv, nvidia-oc-GPU-1a2b3c4d-...-24h-2026-05-01.csv, nvidia-oc-all-1.5h-2026-05-01.json */
export function exportFilename(request: ExportRequest, now: number): string {
  // A UUID is printable but may hold characters a file name or the header must not.
  const gpu =
    request.gpuUuid !== undefined
      ? request.gpuUuid.replace(/[^\w.-]/g, "_")
      : request.gpuIndex === undefined
        ? "all"
        : `gpu${request.gpuIndex}`;
  const kind = request.kind === "samples" ? "" : `${request.kind}-`;
  return `nvidia-oc-${kind}${gpu}-${request.hours}h-${new Date(now).toISOString().slice(0, 10)}.${request.format}`;
}

/**
 * The event log of the window, oldest first, in one piece: a GPU has a handful of
 * events a day, so even 90 days of them are small beside one hour of samples.
 */
function sendEventsExport(services: Services, request: ExportRequest, res: http.ServerResponse) {
  const records = listEvents(services, request, request.hours, ALL_EVENTS).events.reverse().map(eventRecord);
  sendWhole(request, res, records, EVENT_CSV_COLUMNS, (r) => [r.at, r.kind, r.gpu_index, r.gpu_uuid, r.message, JSON.stringify(r.detail)]);
}

/**
 * The process sessions overlapping the window, in the order they began, a page at
 * a time as the client takes them: a busy box starts thousands of jobs a day.
 */
async function sendSessionsExport(services: Services, request: ExportRequest, res: http.ServerResponse, log: Logger) {
  const { sessionsOf, placeOf } = usageWindow(services, request, { hours: request.hours }, undefined);
  const json = request.format === "json";
  res.writeHead(200, {
    "content-type": FORMATS[request.format].contentType,
    "content-disposition": `attachment; filename="${exportFilename(request, Date.now())}"`,
    "cache-control": "no-store",
  });
  const write = writerFor(res);
  let written = 0;
  try {
    if (!(await write(json ? "[" : `${SESSION_CSV_COLUMNS.join(",")}\r\n`))) return;
    for (let afterId = 0; ;) {
      const page = sessionsOf.after(afterId, ROWS_PER_WRITE);
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      const text = page
        .map((session) => sessionRecord(sessionView(session, placeOf(session.gpuId))))
        .map((record) =>
          json
            ? `${written++ === 0 ? "\n" : ",\n"}${JSON.stringify(record)}`
            : `${SESSION_CSV_COLUMNS.map((column) => csvCell(record[column])).join(",")}\r\n`,
        )
        .join("");
      if (!(await write(text))) return;
      await nextTurn();
    }
    if (!(await write(json ? "\n]\n" : ""))) return;
    res.end();
  } catch (error) {
    log.error({ err: error instanceof Error ? error.message : String(error), written }, "sessions export failed");
    res.destroy();
  }
}

/** Records small enough to send at once, as a JSON array or CSV with these columns. */
function sendWhole<R>(
  request: ExportRequest,
  res: http.ServerResponse,
  records: R[],
  columns: readonly string[],
  cells: (record: R) => Array<string | number | null>,
) {
  const body =
    request.format === "json"
      ? `[${records.map((record, i) => `${i === 0 ? "\n" : ",\n"}${JSON.stringify(record)}`).join("")}\n]\n`
      : [columns.join(","), ...records.map((record) => cells(record).map(csvCell).join(","))].map((line) => `${line}\r\n`).join("");
  res.writeHead(200, {
    "content-type": FORMATS[request.format].contentType,
    "content-disposition": `attachment; filename="${exportFilename(request, Date.now())}"`,
    "cache-control": "no-store",
  });
  res.end(body);
}

/** SQLite's LIMIT -1: no limit. */
const ALL_EVENTS = -1;
const EVENT_CSV_COLUMNS = ["at", "kind", "gpu_index", "gpu_uuid", "message", "detail"] as const;

interface Format {
  contentType: string;
  start: string;
  end: string;
}

const FORMATS: Record<ExportRequest["format"], Format> = {
  csv: { contentType: "text/csv; charset=utf-8", start: `${CSV_COLUMNS.join(",")}\r\n`, end: "" },
  json: { contentType: "application/json; charset=utf-8", start: "[", end: "\n]\n" },
};
