import { parseArgs } from "node:util";
import { UsageError, type Command, type CommandArgs, type OptionSpecs } from "./command";

/** Options every command takes besides its own. */
const HELP_OPTION = { help: { type: "boolean", short: "h", help: "show this help" } } as const satisfies OptionSpecs;

/** True when the arguments ask for help, wherever it stands before a `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** Parses strictly; every refusal becomes a UsageError naming the flag or argument. */
export function parseCommandArgs<O extends OptionSpecs>(command: Command<O>, args: string[]): CommandArgs<O> {
  const specs: OptionSpecs = { ...command.options, ...HELP_OPTION };
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, { type: spec.type, ...(spec.short ? { short: spec.short } : {}) }]),
  );
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: command.positionals !== undefined });
    // parseArgs types its values from a literal options object; these were built from the command's spec.
    return { values: parsed.values as CommandArgs<O>["values"], positionals: parsed.positionals };
  } catch (error) {
    throw usageErrorOf(error);
  }
}

/** Node's parseArgs messages, said the way the rest of the command line says them. */
function usageErrorOf(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flag = quoted.replace(/ <value>$/, "");
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`${flag}: unknown option`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return new UsageError(message.includes("does not take an argument") ? `${flag}: takes no value` : `${flag}: needs a value`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`${quoted}: unexpected argument (this command takes none)`);
    default:
      return error;
  }
}

/** The help text of a command, from the same declaration the parser reads. */
export function commandHelp(command: Command): string {
  const specs: OptionSpecs = { ...command.options, ...HELP_OPTION };
  const rows: Array<[string, string]> = Object.entries(specs).map(([name, spec]) => [
    `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`,
    spec.help,
  ]);
  const width = Math.min(32, Math.max(...rows.map(([left]) => left.length)) + 2);
  const lines = [`Usage: nvidia-oc ${command.name} ${command.synopsis}`.trimEnd(), "", command.description.trim(), ""];
  if (command.positionals?.length) {
    lines.push("Arguments:", ...command.positionals.map((p) => `  ${p.name.padEnd(width)}${p.help}`), "");
  }
  lines.push("Options:");
  for (const [left, help] of rows) {
    lines.push(left.length < width ? `  ${left.padEnd(width)}${help}` : `  ${left}\n  ${" ".repeat(width)}${help}`);
  }
  return `${lines.join("\n")}\n`;
}
