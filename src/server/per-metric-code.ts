/**
 * Functions with one statement per metric, written from the catalogue when the module loads.
 *
 * The hot paths (the codec's columns, history records, their JSON) must name every metric as
 * a literal property: V8 runs `row[key]` with a varying key, and objects filled key by key in a
 * loop, several times slower than the same code spelled out. Writing that code from the
 * catalogue keeps both its speed and a single definition. Only catalogue text (checked below)
 * enters the source, never input.
 */
import { compileFunction as compileInThisContext } from "node:vm";
import { METRIC_CATALOGUE, type MetricDefinition } from "../telemetry/metric-catalogue";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const SNAKE_CASE = /^[a-z][a-z0-9_]*$/;

for (const metric of METRIC_CATALOGUE as readonly MetricDefinition[]) {
  if (!IDENTIFIER.test(metric.key)) throw new Error(`metric catalogue: key ${JSON.stringify(metric.key)} is not an identifier`);
  if (!SNAKE_CASE.test(metric.restName)) throw new Error(`metric catalogue: restName ${JSON.stringify(metric.restName)} is not snake_case`);
}

/** One line per metric, in catalogue order, from `line`, joined by `separator`. */
export function perMetric(line: (metric: MetricDefinition, column: number) => string, separator = "\n"): string {
  return (METRIC_CATALOGUE as readonly MetricDefinition[]).map(line).join(separator);
}

/**
 * `function name(params) { body }`, with `uses` in scope under their own names: helpers the
 * body calls, so that they stay ordinary (typed, tested) TypeScript.
 */
export function compileFunction<F>(name: string, params: readonly string[], body: string, uses: Record<string, unknown> = {}): F {
  // Compiled in this context, so the functions it returns share this context's objects and optimise as any other.
  const factory = compileInThisContext(
    `"use strict";\nreturn function ${name}(${params.join(", ")}) {\n${body}\n};`,
    Object.keys(uses),
  ) as (...values: unknown[]) => F;
  return factory(...Object.values(uses));
}
