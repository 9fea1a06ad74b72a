import { z } from "zod";

/**
 * PromQL is text, so every label value put into a query is checked against what
 * exporters actually use and then written as a quoted string literal: neither a
 * quote nor a brace from a client can end the selector and add a query of its own.
 */

/** Characters label values of hosts, instances, UUIDs and models use ("host-7:9400", "NVIDIA H200 (SXM)", "GPU-5a4d..."). */
const LABEL_VALUE = /^[A-Za-z0-9 _.:/@()[\]+-]{1,200}$/;

export const labelValue = (field: string) =>
  z.string().regex(LABEL_VALUE, `${field} may hold only letters, digits, spaces and . _ : / @ ( ) [ ] + - (1 to 200 characters)`);

/** A PromQL double-quoted string holding exactly `value`. */
export function promString(value: string): string {
  // The regex above already keeps quotes and backslashes out; escaping anyway keeps this safe on its own.
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** `{a="x",b="y"}` from label matchers, or "" when there are none. */
export function matchers(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a label name: ${name}`);
    return `${name}=${promString(value)}`;
  });
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** A range as PromQL writes durations: whole seconds. */
export const seconds = (ms: number) => `${Math.max(1, Math.round(ms / 1000))}s`;
