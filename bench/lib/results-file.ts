import fs from "node:fs";
import os from "node:os";

/**
 * bench/RESULTS.md: the main table at the top, then sections each part writes
 * between markers of its own, then hand-written notes (from "## Notes" on),
 * which every rewrite keeps. A run rewrites only what it measured.
 */

const NOTES = "\n## Notes";
const start = (name: string) => `<!-- bench:${name} -->`;
const end = (name: string) => `<!-- /bench:${name} -->`;

/** Where the generated top ends: at the first part's section, else at the notes, else at the end. */
function topEnd(text: string): number {
  const at = [text.indexOf("\n<!-- bench:"), text.indexOf(NOTES)].filter((i) => i >= 0);
  return at.length ? Math.min(...at) : text.length;
}

export function replaceTop(previous: string, top: string): string {
  return top.trimEnd() + "\n" + previous.slice(topEnd(previous));
}

export function replaceSection(previous: string, name: string, body: string): string {
  const block = `${start(name)}\n${body.trimEnd()}\n${end(name)}`;
  const from = previous.indexOf(start(name));
  const to = previous.indexOf(end(name));
  if (from >= 0 && to > from) return previous.slice(0, from) + block + previous.slice(to + end(name).length);
  const notesAt = previous.indexOf(NOTES);
  const at = notesAt < 0 ? previous.length : notesAt;
  return `${previous.slice(0, at).trimEnd()}\n\n${block}\n${previous.slice(at)}`;
}

export function updateResults(file: string, change: (previous: string) => string): void {
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  fs.writeFileSync(file, change(previous));
}

export const machineLine = () =>
  `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
