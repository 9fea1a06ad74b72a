import type { ReactNode } from "react";
import { databaseDownReason, isDatabaseDown } from "../lib/database-error";

/** The loading, empty and error looks every page shares. */

export function Loading({ children = "Loading…" }: { children?: ReactNode }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite" data-testid="loading">
      <span className="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

export function Empty({ title = "No samples yet", children }: { title?: string; children?: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty">
      <strong>{title}</strong>
      {children ? <span className="muted">{children}</span> : null}
    </div>
  );
}

/** A failed request, in words; the database being down gets its own plain sentence. */
export function QueryError({ error, what }: { error: unknown; what: string }) {
  if (isDatabaseDown(error)) {
    return (
      <p className="error" role="alert" data-testid="database-down">
        The database is unavailable: {databaseDownReason(error)}. Live data still works.
      </p>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert" data-testid="query-error">
      Could not load {what}: {message}
    </p>
  );
}
