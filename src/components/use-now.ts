"use client";
import { useEffect, useState } from "react";

/** The time now, renewed every `everyMs`: for pages whose window ends at "now". */
export function useNow(everyMs: number) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
