"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../lib/trpc";

/** Shown only on a server with NVOC_TOKEN: a plain form, because the cookie is HttpOnly and only the server can drop it. */
export function SignOut() {
  const trpc = useTRPC();
  const health = useQuery(trpc.health.status.queryOptions(undefined, { refetchInterval: 10_000 }));
  if (!health.data?.signInRequired) return null;
  return (
    <form method="post" action="/signin" className="sign-out">
      <input type="hidden" name="action" value="sign-out" />
      <button type="submit" className="button" data-testid="sign-out">
        Sign out
      </button>
    </form>
  );
}
