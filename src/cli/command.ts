/**
 * What every `nvidia-oc` command declares: its options (parsed strictly, and
 * listed by --help from the same declaration) and what it does with them.
 */

export interface OptionSpec {
  type: "string" | "boolean";
  /** Placeholder of the value in the help text (N, FILE, URL); string options only. */
  value?: string;
  short?: string;
  help: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** The parsed values: a string for each string option given, true for each switch given. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string;
};

export interface CommandArgs<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
}

export interface Command<O extends OptionSpecs = OptionSpecs> {
  name: string;
  /** One line for `nvidia-oc --help`. */
  summary: string;
  /** What follows `nvidia-oc <name>` in the usage line. */
  synopsis: string;
  /** Paragraphs after the usage line. */
  description: string;
  options: O;
  /** Names and meanings of positional arguments; none allowed when absent. */
  positionals?: Array<{ name: string; help: string }>;
  run(args: CommandArgs<O>): Promise<void>;
}

/** Declares a command with its option types checked against its own spec. */
export const defineCommand = <O extends OptionSpecs>(command: Command<O>): Command<O> => command;

/** A flag or value the command cannot use: exit code 2. Each problem names its flag. */
export class UsageError extends Error {
  readonly problems: string[];
  constructor(...problems: string[]) {
    super(problems.join("; "));
    this.name = "UsageError";
    this.problems = problems;
  }
}

/** `--flag: problem`, the shape every usage message has. */
export const badFlag = (flag: string, problem: string) => new UsageError(`${flag}: ${problem}`);

/** The command was understood but could not be carried out (no server, unreadable file): exit code 1. */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandFailure";
  }
}
