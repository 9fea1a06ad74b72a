import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../../server/project-root";
import { CommandFailure, defineCommand } from "../command";
import { configFromFlags, settingOptions, variablesFromFlags } from "../settings-flags";

export const startCommand = defineCommand({
  name: "start",
  summary: "run the recorder, the API and the dashboard (what npm start runs)",
  synopsis: "[options]",
  description: `
Builds what is missing or out of date (the dashboard pages, the server bundle),
then runs the server in this process: Ctrl-C or SIGTERM stops sampling, flushes
and exits 0. Each option sets the environment variable it names and wins over
it; options left out come from the environment, else their defaults.`,
  options: settingOptions(),
  async run({ values }) {
    // The same validation the server runs, before the build: a typo costs no minute of `next build`.
    configFromFlags(values);
    Object.assign(process.env, variablesFromFlags(values), { NEXT_TELEMETRY_DISABLED: "1" });
    const build = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "scripts", "ensure-build.mjs")], {
      cwd: PROJECT_ROOT,
      stdio: "inherit",
    });
    if (build.status !== 0)
      throw new CommandFailure(
        `building the server failed (scripts/ensure-build.mjs ${build.error ? build.error.message : `exited ${build.status ?? build.signal}`})`,
      );
    // The server takes over this process: it reads the environment set above and handles the signals.
    await import(pathToFileURL(path.join(PROJECT_ROOT, "dist", "server.mjs")).href);
  },
});
