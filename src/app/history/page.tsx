import type { Metadata } from "next";
import { Suspense } from "react";
import { HistoryView } from "../../components/history/history-view";
import { Loading } from "../../components/states";

export const metadata: Metadata = { title: "History" };

// The view reads its GPU and range from the URL, which only exists at request time.
export default function HistoryPage() {
  return (
    <Suspense fallback={<Loading>Loading the history…</Loading>}>
      <HistoryView />
    </Suspense>
  );
}
