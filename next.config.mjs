// JavaScript, not TypeScript: `next start` compiles a next.config.ts with SWC's native binding at
// every start, which then stays loaded in the server (~24 MB of RSS and a pool of its threads, idle).

/** @type {import("next").NextConfig} */
const nextConfig = {
  // The Docker image runs the self-contained server (node server.js); `npm start` runs `next start`,
  // which warns on a standalone build, so the checkout builds the ordinary way. The Dockerfile sets it.
  output: process.env.MIMIR_STANDALONE_BUILD === "1" ? "standalone" : undefined,
  // Loaded by Node at run time, not bundled: native addons (better-sqlite3, native/malloc-trim; ssh2's optional
  // crypto addon, built by `npm ci`) cannot be placed in a Turbopack chunk.
  serverExternalPackages: ["better-sqlite3", "@mimir/malloc-trim", "winston", "ssh2"],
  poweredByHeader: false,
  experimental: {
    // Each route's code loads on its first request instead of all of it at start: the server answers
    // 0.6-1.2 s sooner after a (re)start and idles 20-40 MB lower until its pages are visited; the first
    // visit of the first page pays ~0.1-0.2 s for the shared layout's code (bench/RESULTS-restore-memory.md).
    preloadEntriesOnStart: false,
  },
  // No headers(): the constant security headers (and a data answer's constant Content-Security-Policy)
  // are set in lib/request-gate.ts, before Next.js, which matched every request against header rules
  // at a measurable cost per request; a page's policy, with its fresh nonce, comes from proxy.ts.
};

export default nextConfig;
