"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { ConnectionBadge } from "./connection-badge";
import { SignOut } from "./sign-out";
import { SourceBanner } from "./source-banner";
import { ThemeToggle } from "./theme-toggle";
import { useTRPC } from "../../lib/trpc";

const LINKS = [
  { href: "/", label: "Live" },
  { href: "/history", label: "History" },
  { href: "/usage", label: "Usage" },
  { href: "/database", label: "Database" },
] as const;

/** Shown only where the server reads a Prometheus (NVOC_PROMETHEUS_URL). */
const FLEET_LINK = { href: "/fleet", label: "Fleet" } as const;

export function TopNav() {
  const pathname = usePathname();
  const fleet = useQuery(useTRPC().fleet.status.queryOptions(undefined, { staleTime: Infinity }));
  const links = fleet.data?.configured ? [...LINKS, FLEET_LINK] : LINKS;
  return (
    <header className="topbar">
      <div className="topbar-inner">
        {/* No prefetching: the pages are a click away on a local recorder, and a prefetch that fails while the
            recorder restarts is tried again and again in the background, each try an error in the console. */}
        <Link href="/" className="brand" aria-label="nvidia-oc, live view" prefetch={false}>
          <span className="brand-mark" aria-hidden="true" />
          nvidia-oc
        </Link>
        <nav aria-label="Pages" className="nav-links">
          {links.map((link) => {
            const current = link.href === "/" ? pathname === "/" : pathname.startsWith(link.href);
            return (
              <Link key={link.href} href={link.href} className="nav-link" aria-current={current ? "page" : undefined} prefetch={false}>
                {link.label}
              </Link>
            );
          })}
        </nav>
        <ConnectionBadge />
        <ThemeToggle />
        <SignOut />
      </div>
      <SourceBanner />
    </header>
  );
}
