"use client";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo } from "react";
import { historySearch, parseHistoryParams, type GpuRef, type RangeSelection } from "../../lib/time-range";

/** The chosen GPU and range live in the URL (replaced, not pushed: the back button leaves the page). */
export function useHistoryParams() {
  const search = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const params = useMemo(() => parseHistoryParams(search), [search]);
  const setParams = useCallback(
    (next: { gpu: GpuRef | null; range: RangeSelection }) => router.replace(`${pathname}?${historySearch(next)}`, { scroll: false }),
    [router, pathname],
  );
  return { params, setParams };
}
