// `npm start`: builds once when there is no production build, then serves it on $PORT (default 8080).
import { existsSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { withServerNodeOptions } from "./server-flags.mjs";

const next = "node_modules/.bin/next";
process.env.NEXT_TELEMETRY_DISABLED ??= "1";
// Two glibc malloc arenas instead of one per thread: ~10 MB less peak memory in a backup or restore (see the Dockerfile).
process.env.MALLOC_ARENA_MAX ??= "2";
// The server's Node flags (why: scripts/server-flags.mjs).
process.env.NODE_OPTIONS = withServerNodeOptions(process.env.NODE_OPTIONS);

if (!existsSync(".next/BUILD_ID")) {
  console.log("No production build yet: running next build (about a minute)…");
  const build = spawnSync(next, ["build"], { stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const args = ["start", "-p", process.env.PORT ?? "8080"];
if (process.env.HOSTNAME) args.push("-H", process.env.HOSTNAME);
const server = spawn(next, args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
