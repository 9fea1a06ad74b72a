import type { ZodError } from "zod";
import { badFlag, UsageError, type OptionSpecs } from "./command";

/** How a command is told which GPU: by UUID, or by the index it holds now. */
export const GPU_OPTIONS = {
  "gpu-uuid": { type: "string", value: "UUID", help: "only this GPU (default: all); nvidia-oc status lists each GPU's UUID" },
  gpu: { type: "string", value: "N", help: "only the GPU at this index now (default: all)" },
} as const satisfies OptionSpecs;

/** The flag of each input field the API's rules may refuse. */
const FLAG_OF_FIELD: Record<string, string> = {
  format: "--format",
  kind: "--kind",
  hours: "--hours",
  by: "--by",
  minutes: "--minutes",
  gpuIndex: "--gpu",
  gpuUuid: "--gpu-uuid",
};

/** A flag's number, or a refusal naming the flag; undefined when the flag was not given. */
export function numberFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text.trim())) throw badFlag(flag, `must be a number, not "${text}"`);
  return Number(text);
}

/** The GPU flags as the API's gpuIndex / gpuUuid inputs. */
export const gpuInputOf = (values: { gpu?: string; "gpu-uuid"?: string }) => ({
  gpuIndex: numberFlag("--gpu", values.gpu),
  gpuUuid: values["gpu-uuid"],
});

/** The API's refusal of the flags' values, each line naming its flag. */
export function flagsRefused(error: ZodError): UsageError {
  return new UsageError(
    ...error.issues.map((issue) => `${FLAG_OF_FIELD[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`),
  );
}
