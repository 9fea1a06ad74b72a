import net from "node:net";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { rawHttp, WEBSOCKET_UPGRADE } from "./helpers/raw-http";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * Whatever a client sends, the API answers 200 or a 4xx whose JSON says what
 * was wrong, and never a 5xx, a stack trace or a crash. One server takes every
 * property in turn, and must still be healthy, with nothing in its error log,
 * at the end.
 */

const dir = tempDir();
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "2", NVOC_DB_PATH: path.join(dir, "fuzz.db") });
});

afterAll(async () => {
  await server?.stop();
});

const RUNS = { numRuns: 100 };

function toSearch(entries: Array<[string, string]>): URLSearchParams {
  const search = new URLSearchParams();
  for (const [name, value] of entries) search.append(name, value);
  return search;
}

// ---------------------------------------------------------------------------------------------
// What a response may never contain, and what an error must carry

/** Traces of the server's insides: stack frames, source paths and line numbers. */
const LEAKS = [/\n\s*at /, /\bat [\w$.<>[\]]+ \(/, /\/src\//, /\.(?:tsx?|[cm]?js):\d/, /node:internal/, /file:\/\//];
const leaks = (text: string) => LEAKS.some((pattern) => pattern.test(text));

/** Generated text never looks like a leak itself, so an echo of it in an error cannot pass for one. */
const clean = (text: fc.Arbitrary<string>) => text.filter((s) => !leaks(s));

/** Every string and key in a parsed JSON body. */
function stringsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === "object") return Object.entries(value).flatMap(([key, inner]) => [key, ...stringsOf(inner)]);
  return [];
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

async function send(pathAndQuery: string, init?: RequestInit): Promise<Answer> {
  const res = await fetch(`${server.url}${pathAndQuery}`, init);
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text: await res.text() };
}

/** 200 (207 for a tRPC batch of mixed outcomes) or a 4xx, never a 5xx, and nothing of the server's insides. */
function expectNoFailure(answer: Answer, what: string) {
  expect(answer.status, `${what}: ${answer.status} ${answer.text.slice(0, 500)}`).toBeLessThan(500);
  expect(
    answer.status === 200 || answer.status === 207 || (answer.status >= 400 && answer.status < 500),
    `${what}: status ${answer.status}`,
  ).toBe(true);
  // Inside JSON a stack's line breaks are escapes: look at the strings it holds as well as the raw text.
  const texts = [answer.text, ...(answer.contentType.includes("json") ? stringsOf(parsedOrNull(answer.text)) : [])];
  for (const text of texts) expect(leaks(text), `${what}: leaks internals: ${text.slice(0, 500)}`).toBe(false);
}

function parsedOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A message a person can act on: not empty, not a bare code name, not the generic internal error. */
function expectClearMessage(message: unknown, what: string) {
  expect(typeof message, `${what}: no message`).toBe("string");
  const text = message as string;
  expect(text.trim().length, `${what}: empty message`).toBeGreaterThan(0);
  expect(text, `${what}: bare code name`).not.toMatch(/^[A-Z_]+$/);
  expect(text.toLowerCase(), what).not.toContain("internal");
  expect(leaks(text), `${what}: ${text}`).toBe(false);
}

interface RestErrorBody {
  error: { code: string; message: string; fields?: Record<string, string[]> };
}

/** The REST error body: a code, a message naming every field that is wrong, and the fields themselves. */
function restError(answer: Answer, what: string): RestErrorBody["error"] {
  expect(answer.contentType, `${what}: content type`).toBe("application/json; charset=utf-8");
  const body = JSON.parse(answer.text) as RestErrorBody;
  expect(Object.keys(body), what).toEqual(["error"]);
  expect(body.error.code, what).toMatch(/^[A-Z_]+$/);
  expectClearMessage(body.error.message, what);
  for (const [field, problems] of Object.entries(body.error.fields ?? {})) {
    expect(body.error.message, `${what}: the message names ${field}`).toContain(`${field}: `);
    expect(problems.length, `${what}: ${field}`).toBeGreaterThan(0);
    for (const problem of problems) expectClearMessage(problem, `${what}: ${field}`);
  }
  return body.error;
}

interface TrpcError {
  message: string;
  code: number;
  data: { code: string; httpStatus: number; path?: string; fieldErrors: Record<string, string[]> | null };
}

function expectTrpcError(error: TrpcError, what: string) {
  expectClearMessage(error.message, what);
  expect(error.data.httpStatus, `${what}: ${error.message}`).toBeGreaterThanOrEqual(400);
  expect(error.data.httpStatus, `${what}: ${error.message}`).toBeLessThan(500);
  expect(error.data).not.toHaveProperty("stack");
  // "metrics.0: ..." names the metrics field as well.
  for (const field of Object.keys(error.data.fieldErrors ?? {}))
    expect(error.message, `${what}: the message names ${field}`).toMatch(new RegExp(`(^|; )${escapeRegExp(field)}[.:]`));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// ---------------------------------------------------------------------------------------------
// Values a client might send

const TRICKY_NUMBERS = [
  "",
  " ",
  " 1",
  "1 ",
  "0x10",
  "0b1",
  "1e3",
  "1E3",
  "1_000",
  "Infinity",
  "-Infinity",
  "NaN",
  "+1",
  "-0",
  ".5",
  "5.",
  ".",
  "-",
  "+",
  "1".repeat(400),
  `0.${"0".repeat(400)}1`,
  "9007199254740993",
  "-9007199254740993",
  "0.1",
  "0.09",
  "60",
  "60.0001",
  "1023",
  "1024",
  "2160",
  "2161",
  "10000",
  "10001",
  "1.5",
  "true",
  "null",
  "[]",
  "{}",
  "１",
  "٣",
  "𝟙",
];

/** Text that is, nearly is, or is far from a number the server would take. */
const numberText = fc.oneof(
  fc.double().map(String), // NaN, ±Infinity, -0, subnormals, 1.7976931348623157e+308
  fc.integer().map(String),
  fc.integer({ min: -5, max: 5000 }).map(String),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom(...TRICKY_NUMBERS),
);

/** Arbitrary text, lone surrogates included (the URL encoder turns those into U+FFFD). */
const anyText = clean(
  fc.oneof(fc.string({ unit: "grapheme", maxLength: 24 }), fc.string({ unit: "binary", maxLength: 24 }), fc.string({ maxLength: 8 })),
);

const paramValue = fc.oneof(numberText, anyText, fc.constantFrom("csv", "json", "CSV", "xml", "csv\u0000", "json "));

const REST_PARAMS = ["gpu_index", "gpu_uuid", "hours", "limit", "format", "interval"];

/** Names some path knows, the same spelled as lists, and names that mean something to JavaScript objects. */
const paramName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...REST_PARAMS) },
  { weight: 1, arbitrary: fc.constantFrom(...REST_PARAMS).map((name) => `${name}[]`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "hasOwnProperty",
      "valueOf",
      "__proto__[]",
      "constructor[0]",
      "gpuIndex",
      "HOURS",
      "hours ",
      "a[b]",
      "[]",
      "&",
      "=",
      "?",
    ),
  },
  { weight: 2, arbitrary: anyText },
);

/** Up to six parameters, so names repeat often enough to be given twice. */
const query = fc.array(fc.tuple(paramName, paramValue), { maxLength: 6 }).map(toSearch);

/**
 * The parameters a 400 must name, whatever their values: unknown ones, lists
 * and repeats. Read back from the encoded query, as the server reads it.
 */
function mustBeNamed(sent: URLSearchParams, known: string[]): string[] {
  const search = new URLSearchParams(sent.toString());
  const named = new Set<string>();
  for (const name of new Set(search.keys())) {
    const listOf = /^([^[\]]+)\[[^\]]*\]$/.exec(name)?.[1];
    if (listOf !== undefined && known.includes(listOf)) named.add(listOf);
    else if (!known.includes(name) || search.getAll(name).length > 1) named.add(name);
  }
  return [...named];
}

// ---------------------------------------------------------------------------------------------
// REST

const REST_ROUTES = [
  { path: "/api/telemetry/history", params: ["gpu_index", "gpu_uuid", "hours", "limit"] },
  { path: "/api/telemetry/stats", params: ["gpu_index", "gpu_uuid", "hours"] },
  { path: "/api/telemetry/database/stats", params: [] },
  { path: "/api/telemetry/processes", params: ["gpu_index", "gpu_uuid"] },
  { path: "/api/telemetry/memory-health", params: ["gpu_index", "gpu_uuid"] },
  { path: "/api/telemetry/xid-errors", params: ["gpu_index", "gpu_uuid"] },
  { path: "/api/telemetry/events", params: ["gpu_index", "gpu_uuid", "hours", "limit"] },
  { path: "/api/telemetry/export", params: ["format", "kind", "gpu_index", "gpu_uuid", "hours"] },
  { path: "/api/telemetry/stream", params: ["interval", "gpu_index", "gpu_uuid"] },
];

/**
 * What a client might put where the stats path wants a GPU index; raw `%`
 * sequences included. Never "." or "..": the client resolves those before sending.
 */
// "." and ".." (a number's text may be either) are dot segments: the client's URL parser removes
// them, and /stats/. is asked as /stats/, where gpu_index is a query parameter.
const isDotSegment = (s: string) => s === "." || s === "..";
const gpuSegment = fc.oneof(
  numberText.filter((s) => !isDotSegment(s)).map(encodeURIComponent),
  clean(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }))
    .filter((s) => !isDotSegment(s))
    .map(encodeURIComponent),
  fc.constantFrom("%", "%ZZ", "%E0%A4%A", "%00", "0%2F1", "1;2", "%2F"),
);

describe("fuzzing the REST API", () => {
  it("every path and query parameter: 200, or a 4xx naming each parameter that is wrong", async () => {
    const route = fc.oneof(
      fc.constantFrom(...REST_ROUTES),
      // An empty segment is the trailing slash of /stats itself, where gpu_index is a query parameter.
      gpuSegment.map((segment) => ({
        path: `/api/telemetry/stats/${segment}`,
        params: segment === "" ? ["gpu_index", "gpu_uuid", "hours"] : ["gpu_uuid", "hours"],
      })),
    );
    await fc.assert(
      fc.asyncProperty(route, query, async ({ path: base, params }, search) => {
        const what = `GET ${base}?${search}`;
        const answer = await send(`${base}?${search}`);
        expectNoFailure(answer, what);
        const named = mustBeNamed(search, params);
        if (answer.status === 200) {
          expect(named, what).toEqual([]);
          if (!base.endsWith("/export")) expect(() => JSON.parse(answer.text) as unknown, what).not.toThrow();
          return;
        }
        const error = restError(answer, what);
        if (named.length > 0) {
          expect(answer.status, what).toBe(400);
          for (const name of named) expect(Object.keys(error.fields ?? {}), `${what}: names ${name}`).toContain(name);
        }
        // Without an upgrade the stream path has nothing to give but directions to ws://.
        if (base.endsWith("/stream")) expect([400, 426], what).toContain(answer.status);
      }),
      { numRuns: 300 },
    );
  });

  it("other methods and unknown paths: 405 or 404 with a message, whatever the body", async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        "history",
        "stats",
        "database",
        "processes",
        "memory-health",
        "xid-errors",
        "export",
        "stream",
        "0",
        "gpus",
        "health",
        "%ZZ",
      ),
      clean(fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 })).map(encodeURIComponent),
    );
    const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD");
    await fc.assert(
      fc.asyncProperty(
        method,
        fc.array(segment, { maxLength: 4 }),
        fc.option(clean(fc.string({ maxLength: 200 })), { nil: undefined }),
        async (verb, segments, body) => {
          const target = ["/api/telemetry", ...segments].join("/");
          const what = `${verb} ${target}`;
          const answer = await send(target, { method: verb, body: verb === "GET" || verb === "HEAD" ? undefined : body });
          expectNoFailure(answer, what);
          if (answer.status === 200) return;
          if (verb !== "HEAD") restError(answer, what);
          if (verb !== "GET" && answer.status !== 404) expect(answer.status, what).toBe(405);
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// tRPC

/** A JSON number token JSON.stringify cannot write: out of double range, or past 2^53. */
const HUGE_NUMBER_TOKENS = [
  "1e400",
  "-1e400",
  "1e-400",
  "1.7976931348623157e308",
  "9007199254740993",
  "-9007199254740993",
  "1e21",
  "-0",
  "0.0000001",
  "123456789012345678901234567890",
];

/** Stands for a raw number token inside a generated value; see jsonText. */
const RAW = "\u0000raw:";
const rawNumber = fc.constantFrom(...HUGE_NUMBER_TOKENS).map((token) => `${RAW}${token}`);

/** The value as JSON text, raw number tokens written as they are. */
const jsonText = (value: unknown) => JSON.stringify(value).replace(/"\\u0000raw:([^"\\]*)"/g, "$1");

/** Right key, wrong (or right) kind of value. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  rawNumber,
  fc.double(),
  fc.integer({ min: -10, max: 6000 }),
  fc.constantFrom(Date.now(), Date.now() - 3_600_000, 0, -1, 1e15, Number.MAX_SAFE_INTEGER, true, false, null, "", "0", "csv", [], {}),
  fc.array(fc.constantFrom("temperatureC", "powerDrawW", "gpuUtilizationPct", "nope", "", "__proto__"), { maxLength: 20 }),
  clean(fc.string({ unit: "binary", maxLength: 40 })),
);

const shapedInput = (keys: string[]) =>
  fc.dictionary(
    fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...keys, "__proto__", "constructor") }, { weight: 1, arbitrary: anyText }),
    fieldValue,
    { maxKeys: keys.length + 2 },
  );

interface Procedure {
  path: string;
  kind: "query" | "mutation" | "subscription";
  keys: string[];
}

const PROCEDURES: Procedure[] = [
  { path: "health.status", kind: "query", keys: [] },
  { path: "gpus.list", kind: "query", keys: [] },
  { path: "gpus.processes", kind: "query", keys: ["gpuIndex", "gpuUuid"] },
  { path: "gpus.memoryHealth", kind: "query", keys: ["gpuIndex", "gpuUuid"] },
  { path: "gpus.xidErrors", kind: "query", keys: ["gpuIndex", "gpuUuid"] },
  { path: "collector.status", kind: "query", keys: [] },
  { path: "database.stats", kind: "query", keys: [] },
  { path: "telemetry.history", kind: "query", keys: ["gpuIndex", "gpuUuid", "hours", "limit"] },
  { path: "telemetry.stats", kind: "query", keys: ["gpuIndex", "gpuUuid", "hours"] },
  { path: "telemetry.series", kind: "query", keys: ["gpuIndex", "gpuUuid", "from", "to", "metrics", "maxPoints"] },
  { path: "telemetry.seriesOfGpus", kind: "query", keys: ["gpus", "from", "to", "metrics", "maxPoints", "clockReasons"] },
  { path: "telemetry.live", kind: "subscription", keys: ["gpuIndex", "gpuUuid", "lastEventId"] },
  { path: "database.prune", kind: "mutation", keys: ["force"] },
];
const QUERIES = PROCEDURES.filter((p) => p.kind === "query");
const TAKES_INPUT = PROCEDURES.filter((p) => p.keys.length > 0);

/** Any JSON at all, or an object with the procedure's own keys holding values of any kind. */
const inputFor = (procedure: Procedure) =>
  fc
    .oneof(
      fc.jsonValue({ maxDepth: 3 }).map(jsonText),
      rawNumber.map(jsonText),
      shapedInput(procedure.keys.length ? procedure.keys : ["gpuIndex", "hours"]).map(jsonText),
    )
    .filter((text) => !leaks(text));

/** Text JSON.parse refuses. */
const malformedJson = fc
  .oneof(
    fc.constantFrom(
      "{",
      "}",
      "[1,",
      "{'a':1}",
      '{"a":}',
      "NaN",
      "Infinity",
      "undefined",
      "{a:1}",
      '"unterminated',
      "1e",
      "--1",
      "01",
      "tru",
      "[,]",
      '{"a":1,}',
      "\u0000",
      "{}{}",
      "%7B",
    ),
    clean(fc.string({ maxLength: 40 })),
  )
  .filter((text) => {
    try {
      // A request body is decoded as UTF-8 first, which drops a leading byte order mark.
      JSON.parse(text.replace(/^\ufeff/, ""));
      return false;
    } catch {
      return true;
    }
  });

/**
 * One tRPC answer over HTTP. A subscription answers 200 with an event
 * stream whose first event after `connected` carries its data or its error;
 * that event stands in for the body and the stream is then dropped.
 */
async function callTrpc(target: string, init?: RequestInit): Promise<Answer> {
  const abort = new AbortController();
  const res = await fetch(`${server.url}${target}`, { ...init, signal: abort.signal });
  const contentType = res.headers.get("content-type") ?? "";
  if (!contentType.startsWith("text/event-stream")) return { status: res.status, contentType, text: await res.text() };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      // Complete events end in a blank line; the piece after the last one is still arriving.
      const first = text
        .split("\n\n")
        .slice(0, -1)
        .find((event) => !/^event: (connected|ping)$/m.test(event));
      if (first) return { status: res.status, contentType, text: first };
    }
  } finally {
    abort.abort();
  }
  return { status: res.status, contentType, text };
}

/** The error a tRPC answer carries, or null when it succeeded; fails on anything else. */
function trpcOutcome(answer: Answer, what: string): TrpcError | null {
  expectNoFailure(answer, what);
  if (answer.contentType.startsWith("text/event-stream")) {
    if (!/^event: serialized-error$/m.test(answer.text)) return null;
    const data = /^data: (.*)$/m.exec(answer.text)?.[1] ?? "";
    const error = JSON.parse(data) as TrpcError;
    expectTrpcError(error, what);
    return error;
  }
  // tRPC answers a path it cannot URL-decode before it knows the format, labelled text/plain; the body is JSON all the same.
  expect(answer.contentType, what).toMatch(/^(application\/json|text\/plain)/);
  const body = JSON.parse(answer.text) as { result?: unknown; error?: TrpcError };
  if (answer.status === 200) {
    expect(body, what).toHaveProperty("result");
    return null;
  }
  expect(body.error, what).toBeDefined();
  expectTrpcError(body.error!, what);
  expect(body.error!.data.httpStatus, what).toBe(answer.status);
  return body.error!;
}

const procedureAndInput = (procedures: Procedure[]) =>
  fc.constantFrom(...procedures).chain((procedure) => fc.tuple(fc.constant(procedure), inputFor(procedure)));

function decodes(encoded: string): boolean {
  try {
    decodeURIComponent(encoded);
    return true;
  } catch {
    return false;
  }
}

describe("fuzzing the tRPC API", () => {
  it("every query and subscription over GET with any JSON input: 200 or a 4xx with a clear message", async () => {
    const reads = PROCEDURES.filter((p) => p.kind !== "mutation");
    await fc.assert(
      fc.asyncProperty(procedureAndInput(reads), async ([procedure, input]) => {
        const what = `GET ${procedure.path} ${input}`;
        const error = trpcOutcome(await callTrpc(`/api/trpc/${procedure.path}?input=${encodeURIComponent(input)}`), what);
        if (error) expect(error.data.code, what).toBe("BAD_REQUEST");
      }),
      { numRuns: 300 },
    );
  });

  it("the mutation over POST with any JSON body: 200 or a 4xx with a clear message", async () => {
    const prune = PROCEDURES.find((p) => p.path === "database.prune")!;
    await fc.assert(
      fc.asyncProperty(inputFor(prune), async (input) => {
        const what = `POST database.prune ${input}`;
        const error = trpcOutcome(
          await callTrpc("/api/trpc/database.prune", { method: "POST", headers: { "content-type": "application/json" }, body: input }),
          what,
        );
        if (error) expect(error.data.code, what).toBe("BAD_REQUEST");
      }),
      RUNS,
    );
  });

  it("malformed JSON in the input parameter or the POST body: 400 saying it is not JSON", async () => {
    const call = fc.oneof(
      // An empty `input` parameter means no input at all, which is a different complaint.
      fc
        .tuple(
          fc.constantFrom(...TAKES_INPUT.filter((p) => p.kind !== "mutation")),
          malformedJson.filter((text) => text !== ""),
        )
        .map(([procedure, text]) => ({ procedure, text, method: "GET" })),
      malformedJson.map((text) => ({ procedure: PROCEDURES.find((p) => p.kind === "mutation")!, text, method: "POST" })),
    );
    await fc.assert(
      fc.asyncProperty(call, async ({ procedure, text, method }) => {
        const what = `${method} ${procedure.path} ${JSON.stringify(text)}`;
        const answer =
          method === "GET"
            ? await callTrpc(`/api/trpc/${procedure.path}?input=${encodeURIComponent(text)}`)
            : await callTrpc(`/api/trpc/${procedure.path}`, { method, headers: { "content-type": "application/json" }, body: text });
        const error = trpcOutcome(answer, what);
        expect(error, what).not.toBeNull();
        expect(error!.data.code, what).toBe("BAD_REQUEST");
        expect(error!.message, what).toMatch(/^input is not valid JSON: /);
      }),
      RUNS,
    );
  });

  it("procedures without input ignore whatever input they are given", async () => {
    const noInput = QUERIES.filter((p) => p.keys.length === 0);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...noInput), fc.oneof(malformedJson, fc.jsonValue().map(jsonText)), async (procedure, text) => {
        const answer = await callTrpc(`/api/trpc/${procedure.path}?input=${encodeURIComponent(text)}`);
        expect(trpcOutcome(answer, `GET ${procedure.path} ${text}`)).toBeNull();
      }),
      { numRuns: 50 },
    );
  });

  it("batches of any procedures with any inputs: every call answered 200 or 4xx", async () => {
    const batch = fc.array(procedureAndInput(PROCEDURES.filter((p) => p.kind !== "subscription")), { minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(batch, fc.constantFrom("GET", "POST"), async (calls, method) => {
        const paths = calls.map(([procedure]) => procedure.path).join(",");
        const input = `{${calls.map(([, text], i) => `"${i}":${text}`).join(",")}}`;
        const what = `${method} ${paths} ${input}`;
        const answer =
          method === "GET"
            ? await callTrpc(`/api/trpc/${paths}?batch=1&input=${encodeURIComponent(input)}`)
            : await callTrpc(`/api/trpc/${paths}?batch=1`, { method, headers: { "content-type": "application/json" }, body: input });
        expectNoFailure(answer, what);
        const body = JSON.parse(answer.text) as Array<{ result?: unknown; error?: TrpcError }> | { error: TrpcError };
        if (!Array.isArray(body)) {
          expectTrpcError(body.error, what);
          return;
        }
        expect(body, what).toHaveLength(calls.length);
        for (const item of body) if (item.error) expectTrpcError(item.error, what);
      }),
      RUNS,
    );
  });

  it("unknown procedure paths: 404 naming the path, or 400 when the path is not valid URL-encoding", async () => {
    const name = fc.oneof(
      fc.constantFrom(
        "__proto__",
        "constructor",
        "toString",
        "hasOwnProperty",
        "telemetry",
        "telemetry.__proto__",
        "telemetry.constructor",
        "telemetry.history.x",
        "_def",
        "_def.procedures",
        ",",
        "health.status.",
        "%ZZ",
        "%00",
      ),
      // "." and ".." are resolved by the client and never reach the endpoint.
      clean(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }))
        .filter((s) => s !== "." && s !== "..")
        .map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(name, fc.constantFrom("GET", "POST"), async (procedure, method) => {
        const what = `${method} /api/trpc/${procedure}`;
        const answer = await callTrpc(
          `/api/trpc/${procedure}`,
          method === "POST" ? { method, headers: { "content-type": "application/json" }, body: "{}" } : undefined,
        );
        expectNoFailure(answer, what);
        const error = trpcOutcome(answer, what);
        if (decodes(procedure)) {
          expect(answer.status, what).toBe(404);
          expect(error!.message, what).toMatch(/^No procedure found on path "/);
        } else {
          expect(answer.status, what).toBe(400);
          expect(error!.message, what).toMatch(/^Invalid URL-encoding in path "/);
        }
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Oversized requests

const MEGABYTE = 1024 * 1024;

describe("oversized requests", () => {
  it("a body of several megabytes to the tRPC endpoint: 413 with a message", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 8 }),
        fc.constantFrom("json", "garbage"),
        fc.boolean(),
        async (megabytes, shape, chunked) => {
          const size = megabytes * MEGABYTE;
          const text = shape === "json" ? `{"force":false,"padding":"${"x".repeat(size)}"}` : "z".repeat(size);
          const bytes = new TextEncoder().encode(text);
          // Without a length up front the server can only find out by counting as the body arrives.
          const body = chunked ? new Blob([bytes]).stream() : bytes;
          const what = `POST database.prune, ${megabytes} MB of ${shape}${chunked ? ", chunked" : ""}`;
          const answer = await callTrpc("/api/trpc/database.prune", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            duplex: "half",
          } as RequestInit);
          expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(413);
          const error = trpcOutcome(answer, what);
          expect(error!.data.code, what).toBe("PAYLOAD_TOO_LARGE");
          expect(error!.message, what).toMatch(/^request body is larger than the limit of \d+ bytes$/);
        },
      ),
      { numRuns: 8 },
    );
  });

  it("a body sent to a REST path: 405, the body unread", async () => {
    const answer = await send("/api/telemetry/history", { method: "POST", body: "x".repeat(5 * MEGABYTE) });
    expect(answer.status).toBe(405);
    restError(answer, "POST history");
  });

  it("a URL beyond Node's header limit: 431, not a hang or a crash", async () => {
    const answer = await send(
      `/api/trpc/telemetry.history?input=${encodeURIComponent(JSON.stringify({ hours: 1, padding: "x".repeat(64 * 1024) }))}`,
    );
    expect(answer.status).toBe(431);
    const rest = await send(`/api/telemetry/history?hours=${"1".repeat(64 * 1024)}`);
    expect(rest.status).toBe(431);
  });
});

// ---------------------------------------------------------------------------------------------
// WebSocket

const wsUrl = (search: string) => `${server.url.replace(/^http/, "ws")}/api/telemetry/stream${search ? `?${search}` : ""}`;

type Upgrade = { opened: WebSocket } | { refused: Answer };

function upgrade(search: string): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(search));
    ws.once("open", () => resolve({ opened: ws }));
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      res.on("end", () =>
        resolve({ refused: { status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), text } }),
      );
    });
    ws.once("error", (error) => reject(error));
  });
}

/**
 * Resolves once the server has dealt with everything sent before: a ping is
 * answered in order, so its pong means the frames ahead of it were read. A
 * close instead says the server hung up, with its code.
 */
function settled(ws: WebSocket): Promise<{ closed: number } | "open"> {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return resolve({ closed: -1 });
    const onClose = (code: number) => {
      ws.off("pong", onPong);
      resolve({ closed: code });
    };
    const onPong = () => {
      ws.off("close", onClose);
      resolve("open");
    };
    ws.once("close", onClose);
    ws.once("pong", onPong);
    ws.ping();
  });
}

const closed = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once("close", () => resolve());
    ws.close();
  });

/** The close codes a server may send (RFC 6455 7.4). */
const expectCloseCode = (code: number, what: string) =>
  expect(code >= 1000 && code <= 4999 && code !== 1005 && code !== 1006, `${what}: close code ${code}`).toBe(true);

/** The Host a client of this server sends: a name the server answers to. */
const serverHost = () => new URL(server.url).host;

async function expectServerAnswers() {
  const answer = await send("/api/trpc/health.status");
  expect(answer.status).toBe(200);
}

describe("fuzzing the WebSocket stream", () => {
  it("any upgrade query: the socket opens, or the handshake is refused with a 4xx naming the parameter", async () => {
    await fc.assert(
      fc.asyncProperty(query, async (search) => {
        const what = `upgrade ?${search}`;
        const outcome = await upgrade(search.toString());
        if ("opened" in outcome) {
          expect(mustBeNamed(search, ["interval", "gpu_index", "gpu_uuid"]), what).toEqual([]);
          await closed(outcome.opened);
          return;
        }
        expectNoFailure(outcome.refused, what);
        const error = restError(outcome.refused, what);
        expect(outcome.refused.status, what).toBe(400);
        for (const name of mustBeNamed(search, ["interval", "gpu_index", "gpu_uuid"]))
          expect(Object.keys(error.fields ?? {}), what).toContain(name);
      }),
      RUNS,
    );
  });

  it("text and binary frames of any content are ignored, and a frame over the limit closes the socket", async () => {
    const frame = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }).map((text) => ({ data: text, binary: false })),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ data: bytes, binary: true })),
      fc.integer({ min: 4097, max: 256 * 1024 }).map((size) => ({ data: new Uint8Array(size).fill(0x61), binary: true })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
        const outcome = await upgrade("interval=60");
        if (!("opened" in outcome)) throw new Error(`refused: ${outcome.refused.text}`);
        const ws = outcome.opened;
        const oversized = frames.some((f) => (typeof f.data === "string" ? Buffer.byteLength(f.data) : f.data.byteLength) > 4096);
        for (const { data, binary } of frames) ws.send(data, { binary });
        const after = await settled(ws);
        const what = `${frames.length} frames${oversized ? ", one oversized" : ""}`;
        if (oversized) expect(after, what).toEqual({ closed: 1009 });
        else expect(after, what).toBe("open");
        await closed(ws);
      }),
      { numRuns: 60 },
    );
    await expectServerAnswers();
  });

  it("raw bytes after the handshake (broken frames, unmasked frames, reserved opcodes): closed or ignored, never a crash", async () => {
    // Frame headers that are each wrong in their own way, to start the garbage with.
    const brokenHeader = fc.constantFrom(
      [0x81, 0x05], // unmasked text frame
      [0x83, 0x80, 0, 0, 0, 0], // reserved opcode 3
      [0xf1, 0x80, 0, 0, 0, 0], // reserved bits set
      [0x01, 0x80, 0, 0, 0, 0, 0x81, 0x80, 0, 0, 0, 0], // text frame inside an unfinished one
      [0x89, 0xfe, 0x01, 0x00], // ping with a 256-byte payload (control frames stop at 125)
      [0x88, 0x81, 0, 0, 0, 0, 0x01], // close frame with a one-byte body
      [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7], // close frame with code 999
      [0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // length of 2^63 - 1
      [0x81, 0x84, 0, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc], // text frame that is not UTF-8
      [],
    );
    await fc.assert(
      fc.asyncProperty(brokenHeader, fc.uint8Array({ maxLength: 200 }), async (header, tail) => {
        const what = `bytes ${Buffer.from([...header, ...tail])
          .toString("hex")
          .slice(0, 80)}`;
        const { received } = await rawExchange(
          `GET /api/telemetry/stream?interval=60 HTTP/1.1\r\nHost: ${serverHost()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          Buffer.from([...header, ...tail]),
        );
        expect(received.toString("latin1"), what).toMatch(/^HTTP\/1\.1 101 /);
        const frames = received.subarray(received.indexOf("\r\n\r\n") + 4);
        for (const code of closeCodes(frames)) expectCloseCode(code, what);
      }),
      RUNS,
    );
    await expectServerAnswers();
  });

  it("raw garbage instead of an HTTP request: a 4xx or a closed connection", async () => {
    const garbage = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      clean(fc.string({ unit: "binary", minLength: 1, maxLength: 200 })).map((text) => new TextEncoder().encode(text)),
      fc
        .constantFrom(
          "GET /api/telemetry/stream HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
          `GET /api/telemetry/stream HTTP/1.1\r\nHost: ${serverHost()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: x\r\n\r\n`,
          `GET /api/telemetry/history HTTP/1.1\r\nHost: ${serverHost()}\r\nContent-Length: -1\r\n\r\n`,
          `GET /api/telemetry/history HTTP/1.1\r\nHost: ${serverHost()}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
          `POST /api/trpc/database.prune HTTP/1.1\r\nHost: ${serverHost()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
          "GET /api/telemetry/history?hours=\u0000 HTTP/1.1\r\n\r\n",
        )
        .map((text) => Buffer.from(text, "latin1")),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        const { received } = await rawExchange("", Buffer.from(bytes));
        const status = /^HTTP\/1\.[01] (\d{3}) /.exec(received.toString("latin1"))?.[1];
        const what = `bytes ${Buffer.from(bytes).toString("hex").slice(0, 80)} -> ${received.toString("latin1").slice(0, 200)}`;
        if (status !== undefined) expect(Number(status), what).toBeLessThan(500);
        expect(leaks(received.toString("utf8")), what).toBe(false);
      }),
      RUNS,
    );
    await expectServerAnswers();
  });
});

/**
 * Writes `request`, then `garbage` once the server has answered the request
 * (at once when there is none), half-closes, and collects what the server
 * sends until it closes the connection.
 */
function rawExchange(request: string, garbage: Buffer): Promise<{ received: Buffer }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    const chunks: Buffer[] = [];
    let garbageSent = false;
    const sendGarbage = () => {
      garbageSent = true;
      if (garbage.length) socket.write(garbage);
      socket.end();
    };
    socket.on("connect", () => (request ? socket.write(request) : sendGarbage()));
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      if (!garbageSent && Buffer.concat(chunks).includes("\r\n\r\n")) sendGarbage();
    });
    // A reset after the server gave up on the bytes is a closed connection too.
    socket.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error),
    );
    socket.on("close", () => resolve({ received: Buffer.concat(chunks) }));
  });
}

/** The codes of the close frames among the server's (unmasked) frames. */
function closeCodes(frames: Buffer): number[] {
  const codes: number[] = [];
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = frames[at] & 0x0f;
    let length = frames[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > frames.length) break;
      length = frames.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > frames.length) break;
      length = Number(frames.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 0x8 && length >= 2 && start + 2 <= frames.length) codes.push(frames.readUInt16BE(start));
    at = start + length;
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// Raw paths, Host and Origin: what a hostile client or a rebinding page sends, byte for byte

/** Where a URL is read, to start a raw path with. */
const PATH_STARTS = [
  "/",
  "/api/trpc/",
  "/api/trpc/health.status,",
  "/api/telemetry/",
  "/api/telemetry/stats/",
  "/api/telemetry/history?hours=",
  "/signin?next=",
  "/signin/",
  "/metrics",
  "/metrics?",
  "/history?gpu=",
  "/_next/static/",
  "/api/telemetry/stream?interval=",
];

/** Pieces of broken and unusual escapes, separators and bytes a browser would never send as they are. */
const PATH_PIECES = [
  "%",
  "%E0",
  "%A4",
  "%A",
  "%C4%80",
  "%C0%AF",
  "%ED%A0%80",
  "%ZZ",
  "%00",
  "%2F",
  "%5C",
  "%09",
  "%0A",
  "%25",
  "/",
  "//",
  "\\",
  "?",
  "=",
  "&",
  ".",
  "..",
  "#",
  "a",
  "0",
  "é",
  "\u00ff",
  "'",
  '"',
  "<",
  "{",
];

const rawPath = fc
  .tuple(fc.constantFrom(...PATH_STARTS), fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 8 }))
  .map(([start, pieces]) => start + pieces.join(""));

/** A Host header's value: this server's names, other names, addresses, and text that is no host at all. */
const hostHeader = () =>
  fc.oneof(
    fc
      .constantFrom("127.0.0.1", "localhost", "[::1]", "127.0.0.2")
      .chain((name) => fc.constantFrom(name, `${name}:${new URL(server.url).port}`, `${name}:1`)),
    fc.domain(),
    fc.ipV4(),
    fc.ipV6().map((address) => `[${address}]`),
    // Own names hidden inside others: as a subdomain, as user information, after a path.
    fc
      .tuple(fc.domain(), fc.constantFrom("127.0.0.1", "localhost"))
      .chain(([domain, own]) => fc.constantFrom(`${own}.${domain}`, `${domain}@${own}`, `${own}@${domain}`, `${domain}/${own}`)),
    clean(fc.string({ unit: "binary-ascii", maxLength: 40 })).map((text) => text.replace(/[\r\n]/g, "")),
  );

/** Whether a browser on this machine could have sent the Host: a loopback name, with or without a port. */
const isOwnHost = (host: string) => /^(?:127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d{1,5})?$/i.test(host);

/** An Origin header's value: the server's own, other sites, the server's names on other ports, "null" and junk. */
const originHeader = () =>
  fc.oneof(
    fc.constantFrom("http", "https").map((scheme) => `${scheme}://${serverHost()}`),
    fc
      .constantFrom("http://localhost", "http://127.0.0.1", "http://[::1]")
      .map((origin) => `${origin}:${Number(new URL(server.url).port) + 1}`),
    fc.webUrl().map((url) => new URL(url).origin),
    fc.constantFrom("null", "file://", "http://", "https://evil.example", `http://${serverHost()}.evil.example`),
    clean(fc.string({ unit: "binary-ascii", maxLength: 40 })).map((text) => text.replace(/[\r\n]/g, "")),
  );

describe("fuzzing raw paths, Host and Origin", () => {
  const port = () => Number(new URL(server.url).port);

  it("any raw path, over GET, POST or a WebSocket handshake: answered, below 500, nothing leaked", async () => {
    await fc.assert(
      fc.asyncProperty(rawPath, fc.constantFrom("GET", "POST", "HEAD", "upgrade"), async (target, method) => {
        const headers = { Host: serverHost(), ...(method === "upgrade" ? WEBSOCKET_UPGRADE : {}) };
        const answer = await rawHttp(port(), target, headers, {
          method: method === "upgrade" ? "GET" : method,
          body: method === "POST" ? "{}" : "",
        });
        const what = `${method} ${target} -> ${answer.text.slice(0, 200)}`;
        expect(answer.status, what).toBeLessThan(500);
        expect(leaks(answer.body), what).toBe(false);
        if (answer.headers.location !== undefined)
          expect(new URL(answer.headers.location, server.url).origin, what).toBe(new URL(server.url).origin);
      }),
      RUNS,
    );
  });

  it("any Host: served when it is a name of this server, 421 naming NVOC_ALLOWED_HOSTS otherwise", async () => {
    await fc.assert(
      fc.asyncProperty(
        hostHeader(),
        fc.constantFrom("/api/trpc/health.status", "/api/telemetry/history?limit=1", "/metrics", "/signin", "/"),
        async (host, target) => {
          const answer = await rawHttp(port(), target, { Host: host });
          const what = `Host: ${JSON.stringify(host)} ${target} -> ${answer.text.slice(0, 200)}`;
          expect(answer.status, what).toBeLessThan(500);
          // Node's parser itself refuses a header holding control characters, with a bare 400.
          if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(host)) expect(answer.status, what).toBe(400);
          else if (isOwnHost(host)) expect(answer.status, what).not.toBe(421);
          else {
            expect(answer.status, what).toBe(421);
            expect(answer.body, what).toContain("NVOC_ALLOWED_HOSTS");
          }
        },
      ),
      RUNS,
    );
  });

  it("any Origin on the mutation and the WebSocket: allowed only from the server's own origin, 403 otherwise", async () => {
    await fc.assert(
      fc.asyncProperty(originHeader(), fc.boolean(), async (origin, viaWebSocket) => {
        const headers = { Host: serverHost(), Origin: origin, "Content-Type": "application/json" };
        const answer = viaWebSocket
          ? await rawHttp(port(), "/api/telemetry/stream?interval=60", { ...headers, ...WEBSOCKET_UPGRADE })
          : await rawHttp(port(), "/api/trpc/database.prune", headers, { method: "POST", body: JSON.stringify({ force: false }) });
        const what = `Origin: ${JSON.stringify(origin)} ${viaWebSocket ? "WebSocket" : "prune"} -> ${answer.text.slice(0, 200)}`;
        const own = origin === `http://${serverHost()}` || origin === `https://${serverHost()}`;
        // Node's parser itself refuses a header holding control characters, with a bare 400.
        const unparsable = /[\u0000-\u0008\u000a-\u001f\u007f]/.test(origin);
        expect(answer.status, what).toBe(unparsable ? 400 : own ? (viaWebSocket ? 101 : 200) : 403);
      }),
      RUNS,
    );
  });

  it("the server keeps recording through all of it", async () => {
    const client = trpcClient(server.url);
    const before = (await client.database.stats.query()).totalRecords;
    await waitFor(async () => ((await client.database.stats.query()).totalRecords > before ? true : undefined), 20_000, "new records");
  });
});

// ---------------------------------------------------------------------------------------------

describe("after all of it", () => {
  it("the server is still up, answers, and logged no failure", async () => {
    expect(server.child.exitCode).toBeNull();
    expect(server.child.signalCode).toBeNull();
    await expectServerAnswers();
    expect((await send("/api/telemetry/history?limit=1")).status).toBe(200);
    const failures = server.logs.filter((line) => line.level >= 50);
    expect(failures.map((line) => `${line.msg}: ${line.err === undefined ? "" : JSON.stringify(line.err)}`)).toEqual([]);
    expect(server.stderr()).not.toMatch(/uncaught|unhandled|TypeError|RangeError|ReferenceError|\n\s+at /i);
  });
});
