import type { Metadata } from "next";
import { Suspense } from "react";
import { UsageView } from "../../components/usage/usage-view";
import { Loading } from "../../components/states";

export const metadata: Metadata = { title: "Usage" };

// The view reads its range from the URL, which only exists at request time.
export default function UsagePage() {
  return (
    <Suspense fallback={<Loading>Loading the usage…</Loading>}>
      <UsageView />
    </Suspense>
  );
}
