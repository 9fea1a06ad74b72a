import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { TopNav } from "../components/nav/top-nav";
import { Providers } from "../components/providers";
import { THEME_SCRIPT } from "../lib/theme";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "nvidia-oc", template: "%s · nvidia-oc" },
  description: "GPU telemetry: live view and history",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  // Form controls and scroll bars follow the theme in force: globals.css sets color-scheme per theme.
  colorScheme: "light dark",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // The inline script sets data-theme before React runs: the server's markup has none, and that is expected.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Providers>
          <TopNav />
          <main>{children}</main>
        </Providers>
      </body>
    </html>
  );
}
