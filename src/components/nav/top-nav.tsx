"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { ConnectionBadge } from "./connection-badge";
import { SignOut } from "./sign-out";
import { SourceBanner } from "./source-banner";

const LINKS = [
  { href: "/", label: "Live" },
  { href: "/history", label: "History" },
  { href: "/usage", label: "Usage" },
  { href: "/database", label: "Database" },
] as const;

export function TopNav() {
  const pathname = usePathname();
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
          {LINKS.map((link) => {
            const current = link.href === "/" ? pathname === "/" : pathname.startsWith(link.href);
            return (
              <Link key={link.href} href={link.href} className="nav-link" aria-current={current ? "page" : undefined} prefetch={false}>
                {link.label}
              </Link>
            );
          })}
        </nav>
        <ConnectionBadge />
        <SignOut />
      </div>
      <SourceBanner />
    </header>
  );
}
