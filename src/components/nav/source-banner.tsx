"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../lib/trpc";

/** Says so loudly when what is on screen is not a real GPU read right now. */
export function SourceBanner() {
  const trpc = useTRPC();
  const health = useQuery(trpc.health.status.queryOptions(undefined, { refetchInterval: 10_000 }));
  if (!health.data?.synthetic) return null;
  const { kind, detail } = health.data.source;
  return (
    <div className="banner" role="note" data-testid="source-banner" data-kind={kind}>
      <strong>{kind === "replay" ? "Replayed data" : "Simulated data"}</strong>
      <span>
        {kind === "replay" ? "readings from a recorded file, not a GPU read now" : "no NVIDIA GPU was found, these GPUs are made up"}
        {detail ? ` · ${detail}` : ""}
      </span>
    </div>
  );
}
