import type { Metadata } from "next";
import { connection } from "next/server";
import "./globals.css";
import { Providers } from "@/app/providers";

export const metadata: Metadata = {
  title: { default: "Mimir persistence console", template: "%s · Mimir persistence console" },
  description: "Jobs, pipelines, history, backups, storage and database maintenance for Mimir AIP.",
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Every page renders per request: a page prerendered at build time would carry no nonce, and the
  // Content-Security-Policy would block its scripts.
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased">
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
