import type { NextConfig } from "next";

/** Content-Security-Policy: no plugins, no base-tag tricks, no framing; scripts and styles from this origin only. */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

const nextConfig: NextConfig = {
  // The Docker image runs the self-contained server (node server.js); `npm start` runs `next start`,
  // which warns on a standalone build, so the checkout builds the ordinary way. The Dockerfile sets it.
  output: process.env.MIMIR_STANDALONE_BUILD === "1" ? "standalone" : undefined,
  serverExternalPackages: ["better-sqlite3", "winston"],
  poweredByHeader: false,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "Content-Security-Policy", value: CSP },
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
