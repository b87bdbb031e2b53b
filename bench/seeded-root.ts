/**
 * The data root the HTTP benches serve: ROWS executions made by the project's seed (`npm run seed`'s
 * code), an admin account and a read token from the environment, and a month of storage samples every
 * sample interval (the worst case: the sampler's thinning has not run), made once and kept under
 * bench/.data. The same folder bench/history.ts seeds, so the two benches share the slow part.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { closeAppDatabase, getDb } from "@/lib/db/client";
import { SESSION_COOKIE, seedCredentialsFromEnvironment, signIn } from "@/lib/auth/service";
import { DEFAULT_SEED_OPTIONS, seedDemoData } from "@/lib/demo/seed";
import { countExecutions } from "@/lib/executions/queries";
import { measureStorage } from "@/lib/storage/usage";
import { storeSample } from "@/lib/storage/sampler";

export const BENCH_TOKEN = "mimir_bench000000000000000000000000000000000000";
export const BENCH_ADMIN_PASSWORD = "bench-admin-password";
const SAMPLE_DAYS = 30;
const SAMPLE_MINUTES = 15;

export function benchEnvironment(home: string): Record<string, string> {
  return { MIMIR_HOME: home, MIMIR_API_TOKEN: BENCH_TOKEN, MIMIR_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD };
}

/**
 * Opens (seeding when short) the bench data root for `rows` executions, signs the admin in (the Cookie
 * header of a browser session, for the page bench), then closes the database again for the servers.
 */
export async function prepareSeededRoot(rows: number): Promise<{ home: string; database: string; cookie: string }> {
  const home = path.resolve(import.meta.dirname, ".data", `history-seed-${rows}`);
  const config = loadConfig(benchEnvironment(home), home);
  setConfig(config);
  fs.mkdirSync(home, { recursive: true });
  await openDataRoot(config);
  await seedCredentialsFromEnvironment(config);
  if ((await countExecutions()) < rows) {
    console.log(`seeding ${rows.toLocaleString()} executions into ${home} …`);
    const started = performance.now();
    await seedDemoData(config, {
      ...DEFAULT_SEED_OPTIONS,
      executions: rows,
      logFiles: 0,
      onProgress: (n) => process.stdout.write(`\r  ${n.toLocaleString()} rows`),
    });
    console.log(`\r  seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const db = getDb().$client;
  const oldest = db.prepare("SELECT min(taken_at) AS t FROM storage_samples").get() as { t: string | null };
  const monthAgo = Date.now() - SAMPLE_DAYS * 86_400_000;
  if (!oldest.t || Date.parse(oldest.t) > monthAgo + 86_400_000) {
    console.log(`adding ${SAMPLE_DAYS} days of storage samples every ${SAMPLE_MINUTES} min …`);
    const current = await measureStorage({ tables: false });
    const until = oldest.t ? Date.parse(oldest.t) : Date.now();
    for (let at = monthAgo; at < until; at += SAMPLE_MINUTES * 60_000) {
      await storeSample({ ...current, measured_at: new Date(at).toISOString() });
    }
  }
  const { sessionToken } = await signIn("admin", BENCH_ADMIN_PASSWORD, { ip: "127.0.0.1", userAgent: "bench" });
  db.pragma("wal_checkpoint(TRUNCATE)");
  await closeAppDatabase();
  return { home, database: config.paths.database, cookie: `${SESSION_COOKIE}=${encodeURIComponent(sessionToken)}` };
}
