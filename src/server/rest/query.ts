import { badInput } from "../http/errors";

/**
 * Query strings to procedure inputs. Stricter than `Number()`: "", " 1",
 * "0x10", "1e3", "Infinity" are not numbers here, so nothing odd slips through
 * as 0 or a huge value. A parameter given twice, given as a list (`a[]=`) or
 * not known to the path is refused as well: a typo must not silently widen
 * a query. Ranges are left to the shared zod inputs.
 */

/** "time": ISO-8601 with its zone (2026-12-03T05:00:00Z) or epoch milliseconds, passed on as epoch milliseconds. */
export type ParamKind = "number" | "text" | "time";

/** Parameters a path takes, by their snake_case name, with the input key each fills. */
export type ParamSpec = Record<string, { key: string; kind: ParamKind }>;

export type ParamValues = Record<string, number | string>;

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/** A date and time with seconds optional and a zone required: a time without one would mean the server's zone. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function parseTime(raw: string): { value: number } | { problem: string } {
  if (DECIMAL.test(raw)) return parseNumber(raw);
  const value = ISO_TIME.test(raw) ? Date.parse(raw) : Number.NaN;
  return Number.isFinite(value)
    ? { value }
    : { problem: "must be a time: ISO-8601 with its zone (2026-12-03T05:00:00Z) or epoch milliseconds" };
}

export function parseNumber(raw: string): { value: number } | { problem: string } {
  if (!DECIMAL.test(raw)) return { problem: "must be a number" };
  const value = Number(raw);
  return Number.isFinite(value) ? { value } : { problem: "must be a finite number" };
}

/** The parameters as input values; throws a 400 naming every parameter that is wrong. */
export function readParams(search: URLSearchParams, spec: ParamSpec): ParamValues {
  // Keyed by whatever names the client sent, "__proto__" and "constructor" included: a plain object would hand back its own.
  const fields = new Map<string, string[]>();
  const problem = (field: string, message: string) => {
    const messages = fields.get(field) ?? [];
    if (!messages.includes(message)) fields.set(field, [...messages, message]);
  };
  const values: ParamValues = {};
  const known = Object.keys(spec);
  for (const name of new Set(search.keys())) {
    const listOf = /^([^[\]]+)\[[^\]]*\]$/.exec(name)?.[1];
    if (listOf !== undefined && Object.hasOwn(spec, listOf)) {
      problem(listOf, "must be a single value, not a list");
      continue;
    }
    const param = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!param) {
      problem(
        name,
        known.length ? `is not a parameter of this path (it takes ${known.join(", ")})` : "is not a parameter of this path (it takes none)",
      );
      continue;
    }
    const given = search.getAll(name);
    if (given.length > 1) {
      problem(name, "must be given once");
      continue;
    }
    if (param.kind === "text") {
      values[param.key] = given[0];
      continue;
    }
    const parsed = param.kind === "time" ? parseTime(given[0]) : parseNumber(given[0]);
    if ("problem" in parsed) problem(name, parsed.problem);
    else values[param.key] = parsed.value;
  }
  if (fields.size > 0) throw badInput(Object.fromEntries(fields));
  return values;
}
