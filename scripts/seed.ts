// npm run seed -- [--executions N] [--days N] [--log-files N]
// Fills the data root named by MIMIR_HOME (default ./mimir-home) with demo pipelines, jobs and history.
import { parseArgs } from "node:util";
import { z } from "zod";
import { openDataRoot } from "@/lib/boot";
import { getConfig } from "@/lib/config/service";
import { closeAppDatabase } from "@/lib/db/client";
import { DEFAULT_SEED_OPTIONS, seedDemoData } from "@/lib/demo/seed";

const { values } = parseArgs({
  options: {
    executions: { type: "string" },
    days: { type: "string" },
    "log-files": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("Usage: npm run seed -- [--executions N (default 5000)] [--days N (default 90)] [--log-files N (default 200)]");
  process.exit(0);
}
const count = z.coerce.number().int().nonnegative();
const parsed = z.object({ executions: count.optional(), days: count.min(1).optional(), "log-files": count.optional() }).safeParse(values);
if (!parsed.success) {
  console.error(`seed: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(2);
}

const config = getConfig();
await openDataRoot(config);
const started = performance.now();
const options = {
  ...DEFAULT_SEED_OPTIONS,
  executions: parsed.data.executions ?? DEFAULT_SEED_OPTIONS.executions,
  days: parsed.data.days ?? DEFAULT_SEED_OPTIONS.days,
  logFiles: parsed.data["log-files"] ?? DEFAULT_SEED_OPTIONS.logFiles,
  onProgress: (inserted: number) => {
    // A live counter on a terminal; in CI logs, one line per quarter instead of a wall of carriage returns.
    const line = `executions: ${inserted.toLocaleString("en-US")} of ${options.executions.toLocaleString("en-US")}`;
    if (process.stdout.isTTY) process.stdout.write(`\r  ${line}`);
    else if (inserted === options.executions || Math.floor((inserted * 4) / options.executions) > Math.floor(((inserted - 20_000) * 4) / options.executions))
      console.log(`  ${line}`);
  },
};
console.log(`Seeding ${config.paths.home}`);
const result = await seedDemoData(config, options);
await closeAppDatabase();
if (process.stdout.isTTY) process.stdout.write("\n");
console.log(
  `Seeded ${result.pipelines} pipelines, ${result.jobs} jobs, ${result.plugins} demo plugins, ${result.executions.toLocaleString("en-US")} executions, ` +
    `${result.logFiles} log files and ${result.storageSamples} storage samples in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
