"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef } from "react";
import type { PruneOutcome } from "../../lib/api-types";
import { bytes, integer } from "../../lib/format";
import { useTRPC } from "../../lib/trpc";
import { QueryError } from "../states";

function describe(result: PruneOutcome): string {
  const what =
    result.deletedSamples === 0
      ? "Nothing was old enough to delete"
      : `Deleted ${integer(result.deletedSamples)} samples in ${integer(result.deletedChunks)} chunk${result.deletedChunks === 1 ? "" : "s"}`;
  return `${what}; file ${bytes(result.bytesBefore)} → ${bytes(result.bytesAfter)}, took ${result.durationMs} ms.`;
}

/** Runs retention and the size cap now, after asking: deleted samples do not come back. */
export function PruneControl({ retentionDays }: { retentionDays: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const dialog = useRef<HTMLDialogElement>(null);
  const prune = useMutation(
    trpc.database.prune.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.database.stats.queryKey() }),
    }),
  );
  const confirm = () => {
    dialog.current?.close();
    prune.mutate({ force: false });
  };

  return (
    <div className="prune">
      <button
        type="button"
        className="button danger"
        onClick={() => dialog.current?.showModal()}
        disabled={prune.isPending}
        data-testid="prune-open"
      >
        {prune.isPending ? "Pruning…" : "Prune now…"}
      </button>
      <dialog ref={dialog} className="dialog" aria-labelledby="prune-title" aria-describedby="prune-text" data-testid="prune-dialog">
        <h2 id="prune-title">Prune the database now?</h2>
        <p id="prune-text">
          Samples older than {retentionDays} day{retentionDays === 1 ? "" : "s"} are deleted, and the oldest data too if the file is over 90
          % of its cap. Deleted samples cannot be brought back.
        </p>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" className="button danger" onClick={confirm} data-testid="prune-confirm">
            Delete old samples
          </button>
        </div>
      </dialog>
      {prune.isSuccess && (
        <p className="result" role="status" data-testid="prune-result">
          {describe(prune.data)}
        </p>
      )}
      {prune.isError && <QueryError error={prune.error} what="a prune" />}
    </div>
  );
}
