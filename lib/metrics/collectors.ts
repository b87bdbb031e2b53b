import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { Gauge, Registry } from "prom-client";
import { authenticate } from "@/lib/auth/request";
import { API_TOKEN_PREFIX } from "@/lib/auth/service";
import { getEngine } from "@/lib/db/engine";
import type { DatabaseFileStats } from "@/lib/db/engine/types";
import { summarizeBackups } from "@/lib/backups/catalog";
import { getLogger } from "@/lib/log/logger";
import { listDestinationStats } from "@/lib/offsite/destinations";
import { listLatestSamplesAndAlertStates } from "@/lib/storage/history";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";
import { httpMetricsRegistry } from "@/lib/metrics/http";
import { refreshTableScansIfStale, reusedInBackground, runDurationHistogram, tableScans, TABLE_SCAN_REUSE_MS, type Reused } from "@/lib/metrics/run-duration";

/**
 * The gauges /metrics reports, each reading stored state when scraped (samples, the database, the
 * backup catalog); nothing is pushed. Loaded by the /metrics route alone: it reads half the product.
 * The values several gauges share are read once per scrape (one snapshot), not once per gauge: three
 * statements (latest samples with the alert states, the backup catalog's newest set and count, the
 * offsite destinations with their copies), and the database's size (SQLite: the page pragmas and
 * three stat calls; PostgreSQL: reused, databaseFileStats). What needs a pass over whole tables
 * (row counts, run tallies) is reused and read again in the background, off the event loop.
 */
interface Snapshot {
  /** milliseconds each read of the snapshot took, by name (the Server-Timing of the scrape) */
  parts: Record<string, number>;
  samples: Awaited<ReturnType<typeof listLatestSamplesAndAlertStates>>["samples"];
  alerts: Awaited<ReturnType<typeof listLatestSamplesAndAlertStates>>["alerts"];
  backups: Awaited<ReturnType<typeof summarizeBackups>> | null;
  sqlite: DatabaseFileStats | null;
  destinations: Awaited<ReturnType<typeof listDestinationStats>>;
}

async function readSnapshot(): Promise<Snapshot> {
  const parts: Record<string, number> = {};
  const timed =
    <T>(name: string, read: () => Promise<T>) =>
    async () => {
      const started = performance.now();
      try {
        return await read();
      } finally {
        parts[name] = performance.now() - started;
      }
    };
  const [{ samples, alerts }, backups, sqlite, destinations] = await Promise.all([
    guarded(timed("samples", listLatestSamplesAndAlertStates), { samples: [], alerts: [] }),
    guarded(timed("backups", summarizeBackups), null),
    guarded(timed("file", databaseFileStats), null),
    guarded(timed("offsite", listDestinationStats), []),
  ]);
  return { parts, samples, alerts, backups, sqlite, destinations };
}

/**
 * PostgreSQL's size for mimir_database_bytes/pages: pg_database_size (a walk of the database's files)
 * is a statement of its own, so it is read once (the boot's warm-up), then reused and read again
 * TABLE_SCAN_REUSE_MS later, after a scrape's answer is out like the passes over whole tables (read
 * beside a scrape's reads, on a connection new to it, it held that scrape up): a scrape sends three
 * statements on either backend. SQLite's is read at each scrape: the page pragmas and three stat
 * calls, no statement.
 */
let postgresFileStats: Reused<DatabaseFileStats | null> | null = null;
function databaseFileStats(): Promise<DatabaseFileStats | null> {
  const engine = getEngine();
  if (engine.backend === "sqlite") return engine.fileStats();
  postgresFileStats ??= reusedInBackground(TABLE_SCAN_REUSE_MS, () => getEngine().fileStats(), null, warn);
  const last = postgresFileStats.current();
  return last ? Promise.resolve(last) : postgresFileStats();
}

/**
 * The snapshot of the scrape a gauge is collected for (a gauge collected outside a scrape reads its
 * own). Per async context, not a module variable: two scrapes at once (two Prometheus servers, or the
 * boot's warm-up on each connection) each read theirs once, never the other's or a third.
 */
const scrapeSnapshot = new AsyncLocalStorage<Promise<Snapshot>>();
const snapshot = () => scrapeSnapshot.getStore() ?? readSnapshot();

type VolumeSample = Snapshot["samples"][number];

/** A gauge of one number per volume at the last storage sample; `pick` null leaves that volume out. */
function volumeGauge(registers: Registry[], name: string, help: string, pick: (row: VolumeSample) => number | null): void {
  const volumes = new Set<string>(WATCHED_VOLUMES);
  new Gauge({
    name,
    help,
    labelNames: ["volume"] as const,
    registers,
    async collect() {
      this.reset();
      for (const row of (await snapshot()).samples) {
        const value = pick(row);
        // The database series have their own gauges.
        if (volumes.has(row.volume) && value !== null) this.set({ volume: row.volume }, value);
      }
    },
  });
}

function createCollectors(): Registry {
  const registry = new Registry();
  const registers = [registry];
  const { tallies, tableRows } = tableScans();

  volumeGauge(registers, "mimir_volume_bytes", "Bytes in each volume and the backups folder at the last storage sample (du -sb)", (row) => row.bytes);
  volumeGauge(registers, "mimir_volume_files", "Files in each volume at the last storage sample", (row) => row.files);
  volumeGauge(
    registers,
    "mimir_filesystem_free_bytes",
    "Free bytes (for the service user) on the filesystem holding each volume, at the last storage sample",
    (row) => row.fsFreeBytes,
  );
  volumeGauge(registers, "mimir_filesystem_size_bytes", "Size of the filesystem holding each volume", (row) => row.fsTotalBytes);
  new Gauge({
    name: "mimir_storage_last_sample_timestamp_seconds",
    help: "When the last storage sample was taken (Unix time)",
    registers,
    async collect() {
      this.reset();
      const times = (await snapshot()).samples.map((row) => Date.parse(row.takenAt));
      if (times.length > 0) this.set(Math.max(...times) / 1000);
    },
  });
  new Gauge({
    name: "mimir_database_bytes",
    help: "Size of the database files: SQLite main file, write-ahead log and shared memory now, the vector database at the last sample",
    labelNames: ["file"] as const,
    registers,
    async collect() {
      this.reset();
      const { sqlite: stats, samples } = await snapshot();
      if (!stats) return;
      this.set({ file: "main" }, stats.fileBytes);
      this.set({ file: "wal" }, stats.walBytes);
      this.set({ file: "shm" }, stats.shmBytes);
      const vector = samples.find((row) => row.volume === "vector_db");
      if (vector) this.set({ file: "vector" }, vector.bytes);
    },
  });
  new Gauge({
    name: "mimir_database_pages",
    help: "Pages of the SQLite database: all of them, and those on the free list (returned by VACUUM)",
    labelNames: ["kind"] as const,
    registers,
    async collect() {
      this.reset();
      const stats = (await snapshot()).sqlite;
      if (!stats) return;
      this.set({ kind: "total" }, stats.pageCount);
      this.set({ kind: "free" }, stats.freePages);
    },
  });
  new Gauge({
    name: "mimir_table_rows",
    help: "Rows in each table of the database (absent until the first count after start ends)",
    labelNames: ["table"] as const,
    registers,
    collect() {
      this.reset();
      for (const table of tableRows.current() ?? []) this.set({ table: table.name }, table.rows);
    },
  });
  new Gauge({
    name: "mimir_job_runs",
    help: "Runs in the execution history by status (absent until the first pass after start ends)",
    labelNames: ["status"] as const,
    registers,
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(tallies.current()?.byStatus ?? {})) this.set({ status }, n);
    },
  });
  registry.registerMetric(runDurationHistogram(() => tallies.current()));
  new Gauge({
    name: "mimir_backup_last_age_seconds",
    help: "Age of the newest backup set, labelled with its id; absent until one exists",
    labelNames: ["backup"] as const,
    registers,
    async collect() {
      this.reset();
      const latest = (await snapshot()).backups?.latest;
      if (latest) this.set({ backup: latest.id }, (Date.now() - Date.parse(latest.created_at)) / 1000);
    },
  });
  new Gauge({
    name: "mimir_backup_last_bytes",
    help: "Size of the newest backup set, labelled with its id; absent until one exists",
    labelNames: ["backup"] as const,
    registers,
    async collect() {
      this.reset();
      const latest = (await snapshot()).backups?.latest;
      if (latest) this.set({ backup: latest.id }, latest.bytes);
    },
  });
  new Gauge({
    name: "mimir_backup_last_success_timestamp_seconds",
    help: "When the newest complete backup set was made (Unix time); 0 until one exists",
    registers,
    async collect() {
      const latest = (await snapshot()).backups?.latest;
      this.set(latest ? Date.parse(latest.created_at) / 1000 : 0);
    },
  });
  new Gauge({
    name: "mimir_backup_last_verified",
    help: "1 when the newest backup set passed verification, 0 when it failed or is not verified yet; absent until one exists",
    labelNames: ["backup"] as const,
    registers,
    async collect() {
      this.reset();
      const latest = (await snapshot()).backups?.latest;
      if (latest) this.set({ backup: latest.id }, latest.verify_status === "ok" ? 1 : 0);
    },
  });
  new Gauge({
    name: "mimir_backups",
    help: "Backup sets in the catalog",
    registers,
    async collect() {
      this.set((await snapshot()).backups?.count ?? 0);
    },
  });
  new Gauge({
    name: "mimir_offsite_last_success_timestamp_seconds",
    help: "When the newest verified offsite copy at each destination was proven intact there (Unix time); 0 until one exists",
    labelNames: ["destination"] as const,
    registers,
    async collect() {
      this.reset();
      for (const stats of (await snapshot()).destinations)
        this.set({ destination: stats.name }, stats.lastSuccessAt ? Date.parse(stats.lastSuccessAt) / 1000 : 0);
    },
  });
  new Gauge({
    name: "mimir_offsite_last_bytes",
    help: "Bytes of the newest verified offsite copy at each destination; 0 until one exists",
    labelNames: ["destination"] as const,
    registers,
    async collect() {
      this.reset();
      for (const stats of (await snapshot()).destinations) this.set({ destination: stats.name }, stats.lastBytes);
    },
  });
  new Gauge({
    name: "mimir_offsite_failures",
    help: "Failed copy attempts at each destination since each set's last verified copy",
    labelNames: ["destination"] as const,
    registers,
    async collect() {
      this.reset();
      for (const stats of (await snapshot()).destinations) this.set({ destination: stats.name }, stats.failures);
    },
  });
  new Gauge({
    name: "mimir_storage_alert_active",
    help: "1 while a storage alert is raised, 0 once cleared (alerts never raised are absent)",
    labelNames: ["alert"] as const,
    registers,
    async collect() {
      this.reset();
      for (const alert of (await snapshot()).alerts) this.set({ alert: alert.key }, alert.state === "raised" ? 1 : 0);
    },
  });
  return registry;
}

function warn(error: unknown): void {
  getLogger().warn("metrics: a value could not be read", { error: (error as Error).message });
}

/** A scrape must answer even when the database cannot: the failing family is left empty and logged. */
async function guarded<T>(read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    warn(error);
    return fallback;
  }
}

// Per bundle, not per process: only the /metrics route loads this module, and the gauges hold no state.
let collectors: Registry | null = null;
/**
 * The event loop's busy time since the last scrape (Server-Timing `loop`): a slow scrape whose reads
 * were quick and whose loop was mostly idle waited for a core, not for our own work. Read from the
 * loop's counters: no timer wakes the process to sample it.
 */
let lastLoop: EventLoopUtilization | null = null;

/** How long after a scrape's reads it starts the stale passes over whole tables: its answer has been sent by then. */
export const PASSES_AFTER_SCRAPE_MS = 200;

/**
 * The Prometheus text exposition of every metric (HTTP counters and gauges), its content type, and
 * the time its parts took as a Server-Timing value (each snapshot read, and the whole), so that a slow
 * scrape says which read it waited for (bench/metrics-scrape.ts prints it for the slowest).
 */
export async function renderMetrics(): Promise<{ text: string; contentType: string; serverTiming: string }> {
  const started = performance.now();
  const loop = performance.eventLoopUtilization();
  const busyMs = lastLoop ? performance.eventLoopUtilization(loop, lastLoop).active : 0;
  lastLoop = loop;
  const { text, contentType, parts } = await collect();
  // The passes over whole tables start once this scrape's answer is out, never beside its reads or its
  // sending; so does a stale read of PostgreSQL's size.
  refreshTableScansIfStale(PASSES_AFTER_SCRAPE_MS, postgresFileStats ? [postgresFileStats] : []);
  const timing = [...Object.entries(parts), ["loop", busyMs] as const, ["total", performance.now() - started] as const];
  return { text, contentType, serverTiming: timing.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`).join(", ") };
}

/**
 * A scrape's work at boot, its answer discarded: its reads and text, and the lookup of a bearer token
 * (one no one holds: it matches nothing and changes nothing), once on each of the database's open
 * connections. The first real scrape (Prometheus scrapes a new target at once) then runs code that
 * has run before, on whichever connections it gets, all of which have sent these statements, instead
 * of paying for both on its way (bench:metrics: a statement new to a PostgreSQL connection took 4-12
 * ms there, 1-2 after). Starts no pass over whole tables.
 */
export async function warmUpMetrics(): Promise<void> {
  await getEngine().onEachConnection(() =>
    Promise.all([collect(), authenticate({ authorization: `Bearer ${API_TOKEN_PREFIX}${randomBytes(24).toString("hex")}`, sessionToken: null })]),
  );
}

/** Every metric's text, read from one snapshot. */
async function collect(): Promise<{ text: string; contentType: string; parts: Record<string, number> }> {
  collectors ??= createCollectors();
  const registry = Registry.merge([httpMetricsRegistry(), collectors]);
  const current = readSnapshot();
  const text = await scrapeSnapshot.run(current, () => registry.metrics());
  return { text, contentType: registry.contentType, parts: (await current).parts };
}
