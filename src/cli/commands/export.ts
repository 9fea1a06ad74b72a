import fs from "node:fs";
import { once } from "node:events";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { exportInput } from "../../server/api/inputs";
import { badFlag, CommandFailure, defineCommand } from "../command";
import { formatBytes } from "../../telemetry/format-bytes";
import { flagsRefused, GPU_OPTIONS, gpuInputOf, numberFlag } from "../gpu-flags";
import { networkCode, noAnswer, refusedToken, timedOut, unreachable } from "../server-failure";
import { authorization, SERVER_OPTIONS, serverTarget, type ServerTarget } from "../server-target";

export const exportCommand = defineCommand({
  name: "export",
  summary: "every sample of a time window as CSV or JSON, to stdout or a file",
  synopsis:
    "[--format csv|json] [--kind samples|events|sessions] [--hours N] [--gpu-uuid UUID | --gpu N] [--output FILE] [--url URL] [--db-path FILE] [--token TOKEN]",
  description: `
Streams the server's export (GET /api/telemetry/export): every sample of the last
--hours, oldest first, of one GPU or all. CSV has a header row; JSON is an array of
records. Written as it arrives, so memory does not grow with the range. A GPU is
best named by its UUID (nvidia-oc status lists them): --gpu N is the GPU at index N
now, not one that held that index before.`,
  options: {
    format: { type: "string", value: "csv|json", help: "csv (default) or json" },
    kind: {
      type: "string",
      value: "samples|events|sessions",
      help: "the samples (default), the event log or the process sessions of the window",
    },
    hours: { type: "string", value: "N", help: "how far back, 1-2160 (default 24)" },
    ...GPU_OPTIONS,
    output: { type: "string", value: "FILE", short: "o", help: "write to FILE instead of stdout" },
    ...SERVER_OPTIONS,
  },
  async run({ values }) {
    const request = exportRequest(values);
    if (values.output !== undefined && values.output.trim() === "") throw badFlag("--output", "needs a file name");
    const target = serverTarget(values);
    const query = new URLSearchParams({ format: request.format, kind: request.kind, hours: String(request.hours) });
    if (request.gpuUuid !== undefined) query.set("gpu_uuid", request.gpuUuid);
    if (request.gpuIndex !== undefined) query.set("gpu_index", String(request.gpuIndex));
    const body = await openExport(target, `${target.url}/api/telemetry/export?${query}`);
    if (values.output === undefined) {
      await copy(body, process.stdout, "stdout");
      return;
    }
    const file = fs.createWriteStream(values.output);
    await once(file, "open").catch((error: Error) => {
      throw new CommandFailure(`cannot write ${values.output}: ${error.message}`);
    });
    const bytes = await copy(body, file, values.output);
    file.end();
    await once(file, "finish");
    process.stderr.write(`wrote ${formatBytes(bytes)} of ${request.format.toUpperCase()} to ${values.output}\n`);
  },
});

/** The values checked by the same rules the server applies, each refusal naming its flag. */
function exportRequest(values: { format?: string; kind?: string; hours?: string; gpu?: string; "gpu-uuid"?: string }) {
  const parsed = exportInput.safeParse({
    format: values.format,
    kind: values.kind,
    hours: numberFlag("--hours", values.hours),
    ...gpuInputOf(values),
  });
  if (parsed.success) return parsed.data;
  throw flagsRefused(parsed.error);
}

async function openExport(target: ServerTarget, url: string): Promise<ReadableStream<Uint8Array>> {
  let response: Response;
  // The limit is on the answer starting: a long export may then take as long as it takes.
  const starting = new AbortController();
  const timer = setTimeout(() => starting.abort(new DOMException("no answer", "TimeoutError")), target.timeoutMs);
  try {
    response = await fetch(url, { headers: authorization(target), signal: starting.signal });
  } catch (error) {
    if (timedOut(error)) throw noAnswer(target);
    throw unreachable(target, networkCode(error) ?? (error instanceof Error ? error.message : String(error)));
  } finally {
    clearTimeout(timer);
  }
  if (response.ok && response.body) return response.body as ReadableStream<Uint8Array>;
  const text = await response.text().catch(() => "");
  let message = text.trim() || response.statusText;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // Not the API's error shape (a proxy in front, say): its text says what it can.
  }
  if (response.status === 401) throw refusedToken(target, message);
  throw new CommandFailure(`the server at ${target.url} refused the export (${response.status}): ${message}`);
}

/**
 * Copies the body to `out` at the pace `out` takes it; returns the bytes written.
 * A reader that stops early (`| head`) ends the copy quietly, as other tools do.
 */
async function copy(body: ReadableStream<Uint8Array>, out: Writable, name: string): Promise<number> {
  let bytes = 0;
  const counted = async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  };
  try {
    // `end: false`: stdout is not this command's to close, and a file is ended by the caller.
    await pipeline(Readable.fromWeb(body), counted, out, { end: false });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    if (failure.code === "EPIPE") {
      out.on("error", () => undefined);
      return bytes;
    }
    if (failure.syscall !== undefined) throw new CommandFailure(`cannot write ${name}: ${failure.message}`);
    const cause = (failure.cause as Error | undefined)?.message;
    throw new CommandFailure(
      `the export was cut short after ${formatBytes(bytes)}${name === "stdout" ? "" : `; ${name} is incomplete`}: ${failure.message}${cause ? ` (${cause})` : ""}`,
    );
  }
  return bytes;
}
