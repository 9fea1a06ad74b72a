import pino from "pino";

export interface CapturedLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const LEVEL = { info: 30, warn: 40, error: 50 } as const;

/** A pino logger whose JSON lines the test can read. */
export function capturedLog() {
  const lines: CapturedLine[] = [];
  const log = pino({ level: "debug", base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line) as CapturedLine) });
  return { log, lines };
}
