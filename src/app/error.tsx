"use client";
import { useEffect } from "react";

/** A page that fails to render keeps the navigation and its live state, and offers another try. */
export default function PageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <div className="error" role="alert">
      <p>This page failed to show: {error.message}</p>
      <button type="button" className="button" onClick={reset}>
        Try again
      </button>
    </div>
  );
}
