import type http from "node:http";
import type { inferRouterInputs } from "@trpc/server";
import type { Logger } from "../logger";
import { createCaller, type AppRouter } from "../routers/_app";
import { exportInput } from "../api/inputs";
import { createContextInner, type Services } from "../trpc/context";
import { historyRecordsAsked } from "../trpc/request-budget";
import { badInput, camelToSnake, RestError, sendError, sendJson, sendJsonText, toRestError, type FieldErrors } from "../http/errors";
import { streamExport } from "./export";
import { decodedSegment, pathOf, queryOf, REST_PREFIX, STREAM_PATH, STREAM_QUERY, USAGE_PREFIX } from "../http/paths";
import { idleHoldersRecord, sessionsRecord, summaryRecord } from "./usage-records";
import { parseNumber, readParams, type ParamSpec, type ParamValues } from "./query";
import { databaseStatsRecord, eventsRecord, memoryHealthRecord, processesRecord, statsRecord, xidErrorsRecord } from "./records";
import { sampleRecordsJson } from "./records-json";
import { ReusableBuffers } from "./reusable-buffers";

/**
 * Plain HTTP under /api/telemetry for clients that do not speak tRPC (curl,
 * scripts, other languages). Each path calls the tRPC procedure itself, so
 * validation, data and errors are exactly the tRPC API's; only names
 * (snake_case) and timestamps (ISO-8601) are translated.
 */

type Inputs = inferRouterInputs<AppRouter>;

/** The procedure's zod input judges what the query string gave; this type is only its promise to. */
const unchecked = <T>(input: ParamValues) => input as T;

interface RouteContext {
  input: ParamValues;
  res: http.ServerResponse;
  caller: ReturnType<typeof createCaller>;
  services: Services;
  log: Logger;
}

interface Route {
  /** Segments after the prefix; `{name}` is a numeric path parameter, passed as the camelCase input key. */
  pattern: string[];
  query: ParamSpec;
  run(context: RouteContext): Promise<void>;
}

/**
 * Up to two histories in flight reuse their buffers (8 MiB at most); 4 MiB holds
 * about 5000 records. A minute without a history lets them go.
 */
const answerBuffers = new ReusableBuffers({ keep: 2, maxBytes: 4 * 2 ** 20, idleReleaseMs: 60_000 });

/** Bytes of history answer buffers kept for reuse. */
export const answerBufferBytes = () => answerBuffers.bytes;

/** Which GPU: gpu_uuid names one; gpu_index the one at that index now. */
const GPU = { gpu_index: { key: "gpuIndex", kind: "number" }, gpu_uuid: { key: "gpuUuid", kind: "text" } } as const satisfies ParamSpec;
const HOURS = { key: "hours", kind: "number" } as const;
/** The last `hours`, or from `from` to `to` (ISO-8601 or epoch ms; `to` defaults to now). */
const USAGE_WINDOW = { hours: HOURS, from: { key: "from", kind: "time" }, to: { key: "to", kind: "time" } } as const satisfies ParamSpec;

async function sendStats({ input, res, caller }: RouteContext) {
  sendJson(res, 200, statsRecord(await caller.telemetry.stats(unchecked<Inputs["telemetry"]["stats"]>(input))));
}

const ROUTES: Route[] = [
  {
    pattern: ["history"],
    query: { ...GPU, hours: HOURS, limit: { key: "limit", kind: "number" } },
    async run({ input, res, caller, services }) {
      if (!(await services.recordsInFlight.admit(historyRecordsAsked(input), res))) return;
      const rows = await caller.telemetry.history(unchecked<Inputs["telemetry"]["history"]>(input));
      const bytes = sampleRecordsJson(rows, (length) => answerBuffers.take(length));
      sendJsonText(res, 200, bytes);
      answerBuffers.returnWhenSent(res, bytes);
    },
  },
  {
    pattern: ["stats", "{gpuIndex}"],
    query: { gpu_uuid: GPU.gpu_uuid, hours: HOURS },
    run: sendStats,
  },
  {
    pattern: ["stats"],
    query: { ...GPU, hours: HOURS },
    async run(context) {
      if (context.input.gpuIndex === undefined && context.input.gpuUuid === undefined) {
        throw badInput({ gpu_index: [`is required (GET ${REST_PREFIX}/stats/{gpu_index}, or ${REST_PREFIX}/stats?gpu_uuid=...)`] });
      }
      await sendStats(context);
    },
  },
  {
    pattern: ["processes"],
    query: GPU,
    async run({ input, res, caller }) {
      sendJson(res, 200, processesRecord(await caller.gpus.processes(unchecked<Inputs["gpus"]["processes"]>(input))));
    },
  },
  {
    pattern: ["memory-health"],
    query: GPU,
    async run({ input, res, caller }) {
      sendJson(res, 200, memoryHealthRecord(await caller.gpus.memoryHealth(unchecked<Inputs["gpus"]["memoryHealth"]>(input))));
    },
  },
  {
    pattern: ["xid-errors"],
    query: GPU,
    async run({ input, res, caller }) {
      sendJson(res, 200, xidErrorsRecord(await caller.gpus.xidErrors(unchecked<Inputs["gpus"]["xidErrors"]>(input))));
    },
  },
  {
    pattern: ["events"],
    query: { ...GPU, hours: HOURS, limit: { key: "limit", kind: "number" } },
    async run({ input, res, caller }) {
      sendJson(res, 200, eventsRecord(await caller.events.list(unchecked<Inputs["events"]["list"]>(input))));
    },
  },
  {
    pattern: ["database", "stats"],
    query: {},
    async run({ res, caller }) {
      sendJson(res, 200, databaseStatsRecord(await caller.database.stats()));
    },
  },
  {
    pattern: ["export"],
    query: { format: { key: "format", kind: "text" }, kind: { key: "kind", kind: "text" }, ...GPU, hours: HOURS },
    async run({ input, res, services, log }) {
      await streamExport(services, exportInput.parse(input), res, log);
    },
  },
  {
    // Reached only by requests that did not ask to upgrade.
    pattern: ["stream"],
    query: STREAM_QUERY,
    run() {
      throw new RestError(
        426,
        "UPGRADE_REQUIRED",
        `${STREAM_PATH} is a WebSocket: connect with ws://, e.g. wscat -c 'ws://HOST:PORT${STREAM_PATH}?interval=1'`,
      );
    },
  },
];

/** Under USAGE_PREFIX: the usage record. */
const USAGE_ROUTES: Route[] = [
  {
    pattern: ["sessions"],
    query: {
      ...GPU,
      ...USAGE_WINDOW,
      user: { key: "user", kind: "text" },
      limit: { key: "limit", kind: "number" },
      cursor: { key: "cursor", kind: "number" },
    },
    async run({ input, res, caller }) {
      sendJson(res, 200, sessionsRecord(await caller.usage.sessions(unchecked<Inputs["usage"]["sessions"]>(input))));
    },
  },
  {
    pattern: ["summary"],
    query: { ...GPU, ...USAGE_WINDOW, by: { key: "by", kind: "text" }, user: { key: "user", kind: "text" } },
    async run({ input, res, caller }) {
      sendJson(res, 200, summaryRecord(await caller.usage.summary(unchecked<Inputs["usage"]["summary"]>(input))));
    },
  },
  {
    pattern: ["idle-holders"],
    query: { ...GPU, ...USAGE_WINDOW, minutes: { key: "minutes", kind: "number" } },
    async run({ input, res, caller }) {
      sendJson(res, 200, idleHoldersRecord(await caller.usage.idleHolders(unchecked<Inputs["usage"]["idleHolders"]>(input))));
    },
  },
];

export function createRestHandler(services: Services, log: Logger) {
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      await handle(req, res, services, log);
    } catch (error) {
      const failure = toRestError(error);
      if (failure.status === 500)
        log.error({ path: pathOf(req.url), err: error instanceof Error ? error.message : String(error) }, "REST request failed");
      if (res.headersSent) res.destroy();
      else sendError(res, failure, failure.status === 426 ? { upgrade: "websocket" } : {});
    }
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, services: Services, log: Logger) {
  const path = pathOf(req.url);
  const usage = path === USAGE_PREFIX || path.startsWith(`${USAGE_PREFIX}/`);
  const prefix = usage ? USAGE_PREFIX : REST_PREFIX;
  const segments = path.slice(prefix.length).split("/").filter(Boolean).map(decodedSegment);
  const route = (usage ? USAGE_ROUTES : ROUTES).find(
    (r) => r.pattern.length === segments.length && r.pattern.every((part, i) => isParam(part) || part === segments[i]),
  );
  if (!route)
    throw new RestError(
      404,
      "NOT_FOUND",
      usage
        ? `no such path: ${path} (there are ${USAGE_PREFIX}/sessions, /summary and /idle-holders)`
        : `no such path: ${path} (there are ${REST_PREFIX}/history, /stats/{gpu_index}, /processes, /memory-health, /xid-errors, /events, /database/stats, /export and /stream)`,
    );
  if (req.method !== "GET") {
    sendError(res, new RestError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}; use GET`), { allow: "GET" });
    return;
  }
  const input = { ...readParams(queryOf(req.url), route.query), ...pathParams(route.pattern, segments) };
  await route.run({ input, res, caller: createCaller(createContextInner(services)), services, log });
}

const isParam = (part: string) => part.startsWith("{");

function pathParams(pattern: string[], segments: string[]): ParamValues {
  const values: ParamValues = {};
  const fields: FieldErrors = {};
  pattern.forEach((part, i) => {
    if (!isParam(part)) return;
    const key = part.slice(1, -1);
    const parsed = parseNumber(segments[i]);
    if ("problem" in parsed) fields[camelToSnake(key)] = [parsed.problem];
    else values[key] = parsed.value;
  });
  if (Object.keys(fields).length > 0) throw badInput(fields);
  return values;
}
