import { TRPCError } from "@trpc/server";
import type { z } from "zod";
import type { Context } from "../trpc/context";
import { gpuAtIndex, type GpuHolder } from "../../telemetry/gpu-at-index";
import { gpuSelector } from "../api/inputs";

/**
 * GPUs are told apart by UUID: an index is only where a GPU sits now, and a
 * swapped card or an imported capture of another machine may once have held
 * the same index. This turns a selection into one GPU's UUID.
 */

export type GpuSelection = z.output<typeof gpuSelector>;

/**
 * The UUID a selection names, undefined when it names every GPU, null when it
 * names an index no GPU has held. A UUID is taken as given: one never seen
 * simply has no data. An index and a UUID naming different GPUs are refused.
 */
export function selectedUuid(selection: GpuSelection, gpus: readonly GpuHolder[], at: FieldPath = []): string | null | undefined {
  const { gpuIndex, gpuUuid } = selection;
  if (gpuIndex === undefined) return gpuUuid;
  const atIndex = gpuAtIndex(gpus, gpuIndex)?.uuid ?? null;
  if (gpuUuid !== undefined && gpuUuid !== atIndex) {
    const refused = agreeingWith(atIndex, at).safeParse(selection);
    if (!refused.success) throw new TRPCError({ code: "BAD_REQUEST", message: refused.error.message, cause: refused.error });
  }
  return atIndex;
}

/** Where a selection sits in the input: [] at its top, ["gpus", 2] for the third of a list. */
export type FieldPath = ReadonlyArray<string | number>;

/** The selector, refusing an index and a UUID of different GPUs as bad input naming both, like any other. */
const agreeingWith = (atIndex: string | null, at: FieldPath) =>
  gpuSelector.superRefine(({ gpuIndex, gpuUuid }, ctx) => {
    if (gpuIndex === undefined || gpuUuid === undefined || gpuUuid === atIndex) return;
    const held = atIndex === null ? "no GPU has held this index" : `the GPU at this index now is ${atIndex}`;
    ctx.addIssue({ code: "custom", path: [...at, "gpuIndex"], message: `names another GPU than the UUID given (${held})` });
    ctx.addIssue({ code: "custom", path: [...at, "gpuUuid"], message: `is not the GPU at index ${gpuIndex} now` });
  });

/** Every GPU the server knows: those the collector reports now, and those only the database remembers. */
export function knownGpus(ctx: Pick<Context, "collector" | "storage">): GpuHolder[] {
  // Where the collector reports a GPU now is where it is, whatever the database last wrote down.
  const online = new Map(ctx.collector.gpus().map((g) => [g.uuid, g.index]));
  const stored = ctx.storage.store?.gpus() ?? [];
  const storedUuids = new Set(stored.map((g) => g.uuid));
  return [
    ...stored.map((g) => ({ uuid: g.uuid, index: online.get(g.uuid) ?? g.index, lastSeen: g.lastSeen, online: online.has(g.uuid) })),
    ...[...online].filter(([uuid]) => !storedUuids.has(uuid)).map(([uuid, index]) => ({ uuid, index, lastSeen: null, online: true })),
  ];
}

/** The UUID the selection names, given what the server knows now. */
export const uuidOf = (ctx: Pick<Context, "collector" | "storage">, selection: GpuSelection, at: FieldPath = []) =>
  selectedUuid(selection, knownGpus(ctx), at);

/** Keeps the items of the selected GPU, or all of them when the selection names none. */
export function onlySelected<T extends { gpuUuid: string | null }>(items: readonly T[], uuid: string | null | undefined): T[] {
  return uuid === undefined ? [...items] : items.filter((item) => item.gpuUuid === uuid);
}

/**
 * Which live readings to keep, or null for all. An index is matched per
 * reading: it is whichever GPU the collector reports there as readings arrive.
 */
export function liveReadingFilter(ctx: Pick<Context, "collector" | "storage">, selection: GpuSelection | undefined) {
  if (selection?.gpuIndex === undefined && selection?.gpuUuid === undefined) return null;
  // Refuses an index and a UUID that name different GPUs before anything is streamed.
  uuidOf(ctx, selection);
  const { gpuIndex, gpuUuid } = selection;
  return gpuUuid !== undefined
    ? (reading: { uuid: string }) => reading.uuid === gpuUuid
    : (reading: { index: number }) => reading.index === gpuIndex;
}
