import type { NextConfig } from "next";
import { DATA_ANSWER_POLICY } from "./lib/csp";

/** The data answers (JSON and text), which proxy.ts does not run for: their policy is one constant. */
const DATA_PATHS = ["/api/:path*", "/health", "/metrics"];

const nextConfig: NextConfig = {
  // The Docker image runs the self-contained server (node server.js); `npm start` runs `next start`,
  // which warns on a standalone build, so the checkout builds the ordinary way. The Dockerfile sets it.
  output: process.env.MIMIR_STANDALONE_BUILD === "1" ? "standalone" : undefined,
  // Loaded by Node at run time, not bundled: native addons (better-sqlite3; ssh2's optional crypto addon, built by
  // `npm ci`) cannot be placed in a Turbopack chunk.
  serverExternalPackages: ["better-sqlite3", "winston", "ssh2"],
  poweredByHeader: false,
  // A page's Content-Security-Policy is set per request by proxy.ts, since it carries a fresh nonce;
  // a data answer's is the same for every request, so it is set here.
  async headers() {
    return [
      ...DATA_PATHS.map((source) => ({ source, headers: [{ key: "Content-Security-Policy", value: DATA_ANSWER_POLICY }] })),
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
      {
        // HSTS only when the browser came over TLS (a terminating proxy says so): sent over plain
        // HTTP it is ignored by browsers, and on a LAN install without TLS it must not pin https.
        source: "/:path*",
        has: [{ type: "header", key: "x-forwarded-proto", value: "https" }],
        headers: [{ key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }],
      },
    ];
  },
};

export default nextConfig;
