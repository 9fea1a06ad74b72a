import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures";

/**
 * The rooms of src/ lean one way: the pages never load server code, the shared
 * vocabulary loads nothing of either side, and no module loads itself back
 * through others. Type-only imports are erased at build and do not count.
 */

const SRC = path.join(REPO_ROOT, "src");
const RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?["'](\.{1,2}\/[^"']+)["']/gm;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Each module (path from src/, without extension) and the modules it loads at run time. */
function runtimeImports(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const modules = new Set(files.map((file) => path.relative(SRC, file).replace(/\.tsx?$/, "")));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const from = path.relative(SRC, file).replace(/\.tsx?$/, "");
    const targets = [...fs.readFileSync(file, "utf8").matchAll(RUNTIME_IMPORT)]
      .map((match) => path.normalize(path.join(path.dirname(from), match[1])))
      .filter((target) => modules.has(target));
    graph.set(from, targets);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (module: string) => {
    state.set(module, "open");
    stack.push(module);
    for (const next of graph.get(module) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(module, "done");
  };
  for (const module of graph.keys()) if (!state.has(module)) visit(module);
  return found;
}

describe("the layout of src/", () => {
  const graph = runtimeImports();
  const importsOf = (prefixes: string[]) =>
    [...graph].flatMap(([from, targets]) =>
      prefixes.some((prefix) => from.startsWith(prefix)) ? targets.map((to) => `${from} -> ${to}`) : [],
    );

  it("has no import cycles", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });

  it("keeps the pages off server code: components, app and lib load nothing from src/server", () => {
    const pages = importsOf(["components/", "app/", "lib/"]);
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((edge) => edge.split(" -> ")[1].startsWith("server/"))).toEqual([]);
  });

  it("keeps the shared vocabulary self-contained: src/telemetry loads only src/telemetry", () => {
    expect(importsOf(["telemetry/"]).filter((edge) => !edge.split(" -> ")[1].startsWith("telemetry/"))).toEqual([]);
  });
});
