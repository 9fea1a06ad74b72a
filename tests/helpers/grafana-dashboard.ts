import fs from "node:fs";
import { z } from "zod";

/**
 * A Grafana dashboard's panel queries, run against a real Prometheus the way
 * Grafana runs them: template variables filled from Prometheus' answers
 * (label_values, query_result, the variable's regex and sort, "All" as Grafana
 * expands it), then each panel's PromQL over a time range. A panel shows data
 * when any of its queries answers with at least one series.
 */

const targetSchema = z.object({ expr: z.string().optional(), hide: z.boolean().optional() });
interface PanelJson {
  title?: string;
  type: string;
  targets?: Array<z.infer<typeof targetSchema>>;
  panels?: PanelJson[];
}
const panelSchema: z.ZodType<PanelJson> = z.lazy(() =>
  z.object({
    title: z.string().optional(),
    type: z.string(),
    targets: z.array(targetSchema).optional(),
    panels: z.array(panelSchema).optional(),
  }),
);
const variableSchema = z.object({
  name: z.string(),
  type: z.string(),
  query: z.union([z.string(), z.object({ query: z.string() })]).optional(),
  includeAll: z.boolean().optional(),
  allValue: z.string().nullable().optional(),
  multi: z.boolean().optional(),
  regex: z.string().optional(),
  sort: z.number().nullable().optional(),
});
const dashboardSchema = z.object({
  title: z.string(),
  panels: z.array(panelSchema),
  templating: z.object({ list: z.array(variableSchema) }),
});

export type TemplateVariable = z.infer<typeof variableSchema>;

export interface Panel {
  title: string;
  /** PromQL of every query the panel shows, variables not yet filled. */
  queries: string[];
}

export interface Dashboard {
  title: string;
  variables: TemplateVariable[];
  panels: Panel[];
}

export function loadDashboard(file: string): Dashboard {
  const json = dashboardSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
  // Collapsed rows hold their panels; open rows are headings only.
  const flat = (panels: PanelJson[]): Panel[] =>
    panels.flatMap((panel) => [
      ...(panel.type === "row"
        ? []
        : [
            {
              title: panel.title ?? "",
              queries: (panel.targets ?? []).filter((t) => !t.hide && t.expr).map((t) => t.expr ?? ""),
            },
          ]),
      ...flat(panel.panels ?? []),
    ]);
  return { title: json.title, variables: json.templating.list, panels: flat(json.panels) };
}

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** Prometheus' HTTP API, as Grafana's Prometheus data source asks it: queries as form-encoded POSTs, label values by GET. */
export class PrometheusApi {
  constructor(readonly url: string) {}

  private async ask<T>(path: string, params: Record<string, string>, method: "GET" | "POST" = "POST"): Promise<T> {
    const form = new URLSearchParams(params);
    const res = await (method === "GET" ? fetch(`${this.url}${path}?${form}`) : fetch(`${this.url}${path}`, { method, body: form }));
    const answer = (await res.json()) as { status: string; data: T; error?: string };
    if (answer.status !== "success") throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${answer.error ?? res.status}`);
    return answer.data;
  }

  instant(query: string): Promise<Sample[]> {
    return this.ask<{ result: Sample[] }>("/api/v1/query", { query }).then((data) => data.result);
  }

  range(query: string, startS: number, endS: number, stepS = 1): Promise<Sample[]> {
    return this.ask<{ result: Sample[] }>("/api/v1/query_range", {
      query,
      start: String(startS),
      end: String(endS),
      step: String(stepS),
    }).then((data) => data.result);
  }

  labelValues(label: string, match: string | null): Promise<string[]> {
    return this.ask<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, match ? { "match[]": match } : {}, "GET");
  }
}

/**
 * Grafana's built-in interval variables for a Prometheus data source with its default
 * scrape interval (15 s): $__rate_interval is then four of them.
 */
const BUILT_INS: Record<string, string> = { __rate_interval: "1m", __interval: "15s", __range: "5m" };

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `$name`, `${name}` and `[[name]]` replaced by the values chosen, longest names first so `$gpu` does not eat `$gpu_x`. */
export function interpolate(text: string, values: ReadonlyMap<string, string>): string {
  const all = new Map([...Object.entries(BUILT_INS), ...values]);
  const names = [...all.keys()].sort((a, b) => b.length - a.length).map(escapeRegex);
  const pattern = new RegExp(`\\$\\{(${names.join("|")})(?::[^}]*)?\\}|\\[\\[(${names.join("|")})\\]\\]|\\$(${names.join("|")})\\b`, "g");
  return text.replace(pattern, (_, braced: string, bracketed: string, bare: string) => all.get(braced ?? bracketed ?? bare) ?? "");
}

/** How Grafana prints one sample of query_result() for the variable's regex: `name{a="1", b="2"} value timestamp`. */
function queryResultText({ metric, value }: Sample): string {
  const { __name__: name = "", ...labels } = metric;
  const pairs = Object.entries(labels).map(([label, text]) => `${label}="${text}"`);
  return `${name}{${pairs.join(", ")}} ${value?.[1] ?? ""} ${(value?.[0] ?? 0) * 1000}`;
}

/** The options a query variable offers: its query's answer, through its regex (the `value` group where named), sorted. */
async function variableOptions(
  variable: TemplateVariable,
  prometheus: PrometheusApi,
  chosen: ReadonlyMap<string, string>,
): Promise<string[]> {
  const raw = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
  const query = interpolate(raw, chosen);
  let texts: string[];
  const labelValues = /^label_values\((?:(.*),)?\s*([a-zA-Z_]\w*)\s*\)$/.exec(query.trim());
  const queryResult = /^query_result\((.*)\)$/s.exec(query.trim());
  if (labelValues) texts = await prometheus.labelValues(labelValues[2], labelValues[1]?.trim() || null);
  else if (queryResult) texts = (await prometheus.instant(queryResult[1])).map(queryResultText);
  else throw new Error(`variable ${variable.name}: query ${query} is neither label_values() nor query_result()`);
  let options = texts;
  const regex = /^\/(.*)\/([gimsuy]*)$/s.exec(variable.regex ?? "");
  if (regex) {
    const pattern = new RegExp(regex[1], regex[2].includes("g") ? regex[2] : `${regex[2]}g`);
    options = texts.flatMap((text) =>
      [...text.matchAll(pattern)].flatMap((match) => {
        const picked = match.groups ? match.groups.value : (match[1] ?? match[0]);
        return picked === undefined ? [] : [picked];
      }),
    );
  }
  options = [...new Set(options)];
  if (variable.sort === 1) options.sort();
  return options;
}

/**
 * Every variable's value, in order (a variable may use the ones before it), as Grafana
 * fills them on opening the dashboard: "All" where the variable offers it, else the
 * first option, unless `pinned` names the value to take.
 */
export async function fillVariables(
  dashboard: Dashboard,
  prometheus: PrometheusApi,
  pinned: Readonly<Record<string, string>> = {},
): Promise<Map<string, string>> {
  const chosen = new Map<string, string>();
  for (const variable of dashboard.variables) {
    if (variable.type !== "query") continue;
    if (pinned[variable.name] !== undefined) {
      chosen.set(variable.name, pinned[variable.name]);
      continue;
    }
    const options = await variableOptions(variable, prometheus, chosen);
    // Inside a PromQL string a regex escape needs its backslash doubled, as Grafana writes it.
    if (variable.includeAll)
      chosen.set(variable.name, variable.allValue ?? `(${options.map((o) => escapeRegex(o).replaceAll("\\", "\\\\")).join("|")})`);
    else chosen.set(variable.name, options[0] ?? "");
  }
  return chosen;
}

/** Each panel and whether any of its queries answered with a series over [startS, endS]. */
export async function panelsWithData(
  dashboard: Dashboard,
  prometheus: PrometheusApi,
  variables: ReadonlyMap<string, string>,
  startS: number,
  endS: number,
): Promise<Array<{ title: string; hasData: boolean }>> {
  return Promise.all(
    dashboard.panels.map(async (panel) => {
      const answers = await Promise.all(panel.queries.map((query) => prometheus.range(interpolate(query, variables), startS, endS)));
      return { title: panel.title, hasData: answers.some((series) => series.length > 0) };
    }),
  );
}
