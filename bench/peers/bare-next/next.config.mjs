import path from "node:path";

/** The peer of bench/http.ts: a bare Next.js app, built and served the way ours is (`next start`). */
const config = {
  serverExternalPackages: ["better-sqlite3", "pg"],
  poweredByHeader: false,
  // The worktree's node_modules sit three folders up; without this Turbopack guesses the root.
  turbopack: { root: path.resolve(import.meta.dirname, "../../..") },
};

export default config;
