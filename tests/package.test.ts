import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, waitFor } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * The package as a user gets it: `npm pack`, installed with `npm install -g` into
 * a prefix of its own, started from a folder that is not the project's.
 */

const dir = tempDir("nvoc-package-");
const prefix = path.join(dir, "prefix");
const elsewhere = path.join(dir, "elsewhere");
const installedBin = path.join(prefix, "bin", "nvidia-oc");
const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };

let packed: string[] = [];

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  fs.mkdirSync(elsewhere);
  const report = run("npm", ["pack", "--json", "--pack-destination", dir], ROOT);
  const [tarball] = JSON.parse(report.slice(report.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = tarball.files.map((file) => file.path);
  // As the README tells users to install it; the npm cache `npm ci` filled saves fetching.
  run(
    "npm",
    [
      "install",
      "-g",
      "--prefix",
      prefix,
      "--allow-scripts=better-sqlite3",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      path.join(dir, tarball.filename),
    ],
    elsewhere,
  );
}, 600_000);

describe("the npm package", () => {
  it("carries the built pages, the server, the command line and the compiled client, and no sources, tests, fixtures or bench data", () => {
    for (const file of [
      "dist/server.mjs",
      "dist/cli.mjs",
      "dist/client/index.js",
      "dist/client/index.d.ts",
      ".next/BUILD_ID",
      "bin/nvidia-oc.mjs",
      "prisma/migrations/migration_lock.toml",
      "deploy/systemd/nvidia-oc.service",
    ]) {
      expect(packed, file).toContain(file);
    }
    expect(packed.filter((file) => /^(src|tests|bench|\.ci)\/|^\.next\/cache\/|\.db$/.test(file))).toEqual([]);
  });

  it("lets another project import the compiled client as nvidia-oc/client", () => {
    const project = path.join(dir, "client-user");
    fs.mkdirSync(path.join(project, "node_modules"), { recursive: true });
    fs.symlinkSync(path.join(prefix, "lib", "node_modules", "nvidia-oc"), path.join(project, "node_modules", "nvidia-oc"), "dir");
    const script = `import { createTelemetryClient } from "nvidia-oc/client";\nconsole.log(typeof createTelemetryClient("http://127.0.0.1:1").telemetry.stats.query);\n`;
    fs.writeFileSync(path.join(project, "main.mjs"), script);
    expect(run(process.execPath, ["main.mjs"], project).trim()).toBe("function");
  });

  it("prints its version", () => {
    expect(run(installedBin, ["--version"], elsewhere).trim()).toBe(version);
  });

  it("starts from another folder with no build step, answers the dashboard and the API, and stops cleanly", async () => {
    const child = spawn(
      installedBin,
      ["start", "--port", "0", "--source", "simulated", "--db-path", path.join(elsewhere, "telemetry.db")],
      {
        cwd: elsewhere,
        env: { ...process.env, NVOC_LOG_FORMAT: "json" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const output: string[] = [];
    let url: string | undefined;
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      output.push(line);
      if (line.includes("nvidia-oc listening on")) url = (JSON.parse(line) as { url: string }).url;
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => output.push(text));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve)).then((code) => (exitCode = code));
    try {
      const listening = await waitFor(
        () => {
          if (exitCode !== undefined) throw new Error(`the installed nvidia-oc exited ${exitCode} before listening:\n${output.join("\n")}`);
          return url;
        },
        60_000,
        "the installed server to listen",
      );
      const page = await fetch(`${listening}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("nvidia-oc");
      const stats = await fetch(`${listening}/api/trpc/database.stats`);
      expect(stats.status).toBe(200);
      expect(output.join("\n")).not.toMatch(/building|rebuilding/i);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
