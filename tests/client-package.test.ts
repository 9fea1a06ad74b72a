import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * nvidia-oc/client as other projects get it: the package's client build (dist/client, what
 * `npm pack` puts in the tarball) under node_modules/nvidia-oc of small consumer projects,
 * type-checked with this repository's TypeScript and run with plain Node.
 *
 * The consumers' node_modules hold nvidia-oc (package.json and dist/client, nothing else) and
 * links to the package's dependencies in this repository's node_modules, laid out as `npm
 * install` would hoist them: that resolves exactly as an installed tarball does, without
 * fetching anything. (tests/package.test.ts installs the real tarball.)
 */

const dir = tempDir("nvoc-client-package-");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A project with its own package.json, tsconfig.json and files, nvidia-oc installed (`withNvidiaOc`) or not. */
function consumer(
  name: string,
  options: { compilerOptions?: Record<string, unknown>; files: Record<string, string>; withNvidiaOc?: boolean; typesNode?: boolean },
) {
  const project = path.join(dir, name);
  const modules = path.join(project, "node_modules");
  fs.mkdirSync(modules, { recursive: true });
  for (const dependency of Object.keys(manifest.dependencies)) {
    fs.mkdirSync(path.dirname(path.join(modules, dependency)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules", dependency), path.join(modules, dependency), "dir");
  }
  if (options.withNvidiaOc !== false) fs.cpSync(path.join(dir, "nvidia-oc"), path.join(modules, "nvidia-oc"), { recursive: true });
  // A Node project's own: tRPC's declarations use Node's http types.
  if (options.typesNode) {
    fs.mkdirSync(path.join(modules, "@types"), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules", "@types", "node"), path.join(modules, "@types", "node"), "dir");
  }
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  const files = Object.keys(options.files);
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { noEmit: true, ...options.compilerOptions }, files: files.filter((f) => f.endsWith(".ts")) }),
  );
  for (const [file, text] of Object.entries(options.files)) fs.writeFileSync(path.join(project, file), text);
  return project;
}

interface Diagnostic {
  file: string;
  code: string;
  message: string;
}

/** tsc's errors for the project, each with the file it is in (relative to the project). */
function typeCheck(project: string): Diagnostic[] {
  const { output } = run(process.execPath, [TSC, "-p", ".", "--pretty", "false"], project);
  return output
    .split("\n")
    .filter((line) => / error TS\d+: /.test(line))
    .map((line) => {
      const [, file = "", code = "", message = ""] = /^(.*?)\(\d+,\d+\): error (TS\d+): (.*)$/.exec(line) ?? [];
      return { file: path.relative(project, path.resolve(project, file)), code, message };
    });
}

const CORRECT = `
import { createTelemetryClient, type AppRouter, type TelemetryClient } from "nvidia-oc/client";

const client: TelemetryClient = createTelemetryClient("http://127.0.0.1:8000", { token: process.env["NVOC_TOKEN"], timeoutMs: 5_000 });
const stats = await client.telemetry.stats.query({ gpuIndex: 0, hours: 1 });
const average: number | null = stats.temperature.avg;
const records = await client.telemetry.history.query({ gpuUuid: "GPU-0", limit: 10 });
const newest = records[0];
const temperature: number | null | undefined = newest?.temperatureC;
const collector = await client.collector.status.query();
const subscription = client.telemetry.live.subscribe(undefined, { onData: ({ id, data }) => console.log(id, data.samples.length) });
subscription.unsubscribe();
export const seen: [number | null, number | null | undefined, number] = [average, temperature, collector.collected];
export type Router = AppRouter;
`;

// Each line is one mistake the router's types must catch.
const WRONG = `
import { createTelemetryClient } from "nvidia-oc/client";

const client = createTelemetryClient("http://127.0.0.1:8000");
await client.telemetry.stats.query({ gpuIndex: "zero" });
await client.telemetry.noSuchProcedure.query();
const records = await client.telemetry.history.query({});
export const name: number = records[0]!.gpuName;
`;

const STRICTEST = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: false,
  target: "es2022",
  types: ["node"],
};

beforeAll(() => {
  const built = run(
    process.execPath,
    [path.join(ROOT, "scripts", "build-client.mjs"), path.join(dir, "nvidia-oc", "dist", "client")],
    ROOT,
  );
  expect(built.status, built.output).toBe(0);
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(dir, "nvidia-oc", "package.json"));
}, 120_000);

describe("nvidia-oc/client in a TypeScript project", () => {
  it("declares the real router's types in one file that needs nothing of the server", () => {
    const declarations = fs.readFileSync(path.join(dir, "nvidia-oc", "dist", "client", "index.d.ts"), "utf8");
    const imported = [...declarations.matchAll(/(?:from |import\()"([^"]+)"/g)].map(([, specifier]) => specifier);
    expect(new Set(imported)).toEqual(new Set(["@trpc/client", "@trpc/server", "@trpc/server/unstable-core-do-not-import"]));
    // The router as tsc infers it: every procedure, each output's own fields.
    for (const procedure of ["history:", "stats:", "series:", "live:", "processes:", "memoryHealth:", "xidErrors:", "prune:"])
      expect(declarations).toContain(procedure);
    expect(declarations).toMatch(/interface NamedSample extends GpuMetrics/);
  });

  it("type-checks under nodenext, strict, noUncheckedIndexedAccess and exactOptionalPropertyTypes without skipLibCheck, and catches wrong calls", () => {
    // tRPC 11's own declarations do not check clean without skipLibCheck (its WebSocket adapter
    // expects another @types/ws); a project using @trpc/client alone shows what they report.
    const trpcAlone = consumer("trpc-alone", {
      withNvidiaOc: false,
      typesNode: true,
      compilerOptions: { ...STRICTEST, module: "nodenext", moduleResolution: "nodenext" },
      files: {
        "main.ts": `import { createTRPCClient, httpBatchLink } from "@trpc/client";\nexport const client = createTRPCClient({ links: [httpBatchLink({ url: "http://127.0.0.1:8000/api/trpc" })] });\n`,
      },
    });
    const trpcOwn = typeCheck(trpcAlone);
    expect(trpcOwn.filter((d) => !d.file.includes(`${path.sep}@trpc${path.sep}server${path.sep}`))).toEqual([]);

    const project = consumer("nodenext-strictest", {
      typesNode: true,
      compilerOptions: { ...STRICTEST, module: "nodenext", moduleResolution: "nodenext", verbatimModuleSyntax: true },
      files: { "main.ts": CORRECT, "wrong.ts": WRONG },
    });
    const diagnostics = typeCheck(project);
    const outsideWrong = diagnostics.filter((d) => d.file !== "wrong.ts");
    expect(outsideWrong.map((d) => `${d.file}: ${d.message}`)).toEqual(trpcOwn.map((d) => `${d.file}: ${d.message}`));
    expectCaught(diagnostics);
  }, 180_000);

  for (const [resolution, module] of [
    ["node16", "node16"],
    ["bundler", "esnext"],
  ] as const) {
    it(`type-checks under moduleResolution ${resolution}, and catches wrong calls`, () => {
      const project = consumer(resolution, {
        typesNode: true,
        compilerOptions: { strict: true, skipLibCheck: true, target: "es2022", module, moduleResolution: resolution, types: ["node"] },
        files: { "main.ts": CORRECT, "wrong.ts": WRONG },
      });
      const diagnostics = typeCheck(project);
      expect(diagnostics.filter((d) => d.file !== "wrong.ts")).toEqual([]);
      expectCaught(diagnostics);
    }, 120_000);
  }
});

/** The three mistakes of WRONG, and nothing else, reported in wrong.ts. */
function expectCaught(diagnostics: Diagnostic[]) {
  const wrong = diagnostics.filter((d) => d.file === "wrong.ts").map((d) => d.message);
  expect(wrong).toHaveLength(3);
  expect(wrong[0]).toMatch(/'string' is not assignable to type 'number'/);
  expect(wrong[1]).toMatch(/Property 'noSuchProcedure' does not exist/);
  expect(wrong[2]).toMatch(/'string' is not assignable to type 'number'/);
}

describe("nvidia-oc/client from plain JavaScript", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      NVOC_SOURCE: "simulated",
      NVOC_SIM_GPUS: "1",
      NVOC_INTERVAL_MS: "100",
      NVOC_DB_PATH: path.join(dir, "telemetry.db"),
    });
    const direct = trpcClient(server.url);
    await waitFor(async () => ((await direct.telemetry.history.query({ limit: 1 })).length ? true : undefined), 20_000, "a stored sample");
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("imports it from a .mjs file and reads the server's status, history and live snapshots", () => {
    const project = consumer("plain-javascript", {
      files: {
        "main.mjs": `
import { createTelemetryClient } from "nvidia-oc/client";

const client = createTelemetryClient(process.argv[2], { timeoutMs: 10_000 });
const status = await client.collector.status.query();
const history = await client.telemetry.history.query({ hours: 1, limit: 5 });
const snapshot = await new Promise((resolve, reject) => {
  const subscription = client.telemetry.live.subscribe(undefined, {
    onData: ({ data }) => {
      subscription.unsubscribe();
      resolve(data);
    },
    onError: reject,
  });
});
console.log(JSON.stringify({ status, history, snapshot }));
`,
      },
    });
    const { status, output } = run(process.execPath, ["main.mjs", server.url], project);
    expect(status, output).toBe(0);
    const answer = JSON.parse(output) as {
      status: { collected: number; source: { kind: string } };
      history: Array<{ gpuIndex: number; gpuUuid: string; timestamp: number; temperatureC: number | null }>;
      snapshot: { samples: Array<{ index: number }> };
    };
    expect(answer.status.source.kind).toBe("simulated");
    expect(answer.status.collected).toBeGreaterThan(0);
    expect(answer.history.length).toBeGreaterThan(0);
    expect(answer.history[0]).toMatchObject({
      gpuIndex: 0,
      gpuUuid: expect.stringMatching(/^GPU-/) as string,
      timestamp: expect.any(Number) as number,
      temperatureC: expect.any(Number) as number,
    });
    expect(answer.snapshot.samples.map((s) => s.index)).toEqual([0]);
  });
});
