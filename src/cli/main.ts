import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../server/project-root";
import { commandHelp, parseCommandArgs, wantsHelp } from "./arguments";
import { CommandFailure, UsageError, type Command } from "./command";
import { backupCommand } from "./commands/backup";
import { eventsCommand } from "./commands/events";
import { usageCommand } from "./commands/usage";
import { exportCommand } from "./commands/export";
import { importCommand } from "./commands/import";
import { pruneCommand } from "./commands/prune";
import { restoreCommand } from "./commands/restore";
import { startCommand } from "./commands/start";
import { statusCommand } from "./commands/status";

/**
 * `nvidia-oc <command> [options]`. Exit codes: 0 done, 1 the command could not
 * be carried out (no server, unreadable file), 2 a flag or value it cannot use.
 */

const COMMANDS: readonly Command[] = [
  startCommand,
  statusCommand,
  eventsCommand,
  usageCommand,
  pruneCommand,
  exportCommand,
  importCommand,
  backupCommand,
  restoreCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 3;
  return [
    "Usage: nvidia-oc <command> [options]",
    "",
    "GPU telemetry recorder: per-second NVIDIA GPU history, a dashboard and an API.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "nvidia-oc <command> --help lists the options of each; nvidia-oc --version prints the version.",
    "",
  ].join("\n");
}

const version = () => (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(overview());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    process.stdout.write(topic ? commandHelp(topic) : overview());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`nvidia-oc: ${name}: unknown command (one of ${COMMANDS.map((c) => c.name).join(", ")})\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    await command.run(parseCommandArgs(command, rest));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      for (const problem of error.problems) process.stderr.write(`nvidia-oc ${name}: ${problem}\n`);
      process.stderr.write(`See 'nvidia-oc ${name} --help'.\n`);
      return 2;
    }
    if (error instanceof CommandFailure) {
      process.stderr.write(`nvidia-oc ${name}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`nvidia-oc ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

// exitCode rather than exit(): output still in flight is written, and `start` keeps running its server.
process.exitCode = await main(process.argv.slice(2));
