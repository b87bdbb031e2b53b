// Starts the production build for Playwright on a fresh data root (E2E_HOME), pre-filled with a
// database made by Mimir AIP's own schema and Go-style timestamps, so every run also proves adoption.
// E2E_KEEP_HOME=1 starts it again on the data root it left (a spec that restarts its server).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { withServerNodeOptions } from "./server-flags.mjs";

const home = process.env.E2E_HOME;
const port = process.env.E2E_PORT ?? "3100";
if (!home) throw new Error("E2E_HOME is not set");
if (process.env.E2E_KEEP_HOME !== "1") {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(`${home}-state`, { recursive: true, force: true });
  fs.mkdirSync(path.join(home, "data"), { recursive: true });

  const database = path.join(home, "data", "mimir.db");
  const schema = fs.readFileSync("test/fixtures/mimir-schema.sql", "utf8");
  const rows = fs.readFileSync("test/fixtures/mimir-rows.sql", "utf8");
  execFileSync("sqlite3", [database], { input: `${schema}\n${rows}` });

  // A small size threshold on the plugins volume, so e2e/storage.spec.ts can cross it with one file.
  fs.mkdirSync(path.join(home, "config"), { recursive: true });
  fs.writeFileSync(
    path.join(home, "config", "config.yaml"),
    "storage:\n  alerts:\n    volume_bytes:\n      mimir_plugins: { raise: 5242880, clear: 4194304 }\n",
  );
}

const server = spawn("node_modules/.bin/next", ["start", "-p", port, "-H", "127.0.0.1"], {
  stdio: "inherit",
  // Run as `npm start` runs it, with the server's Node flags.
  env: { ...process.env, MIMIR_HOME: home, NODE_OPTIONS: withServerNodeOptions(process.env.NODE_OPTIONS) },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 1));
