import "server-only";
import { Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import { countSqliteTableRows, readSqliteFileStats } from "@/lib/db/sqlite-stats";
import { countBackups, findLatestBackup } from "@/lib/backups/service";
import { countExecutionsByStatusSince, histogramOfRunDurations } from "@/lib/executions/service";
import { getLogger } from "@/lib/log/logger";
import { listAlerts } from "@/lib/storage/alerts";
import { findLatestSamples } from "@/lib/storage/queries";
import { VOLUME_NAMES } from "@/lib/storage/types";

/** Upper bounds of the run-duration histogram, in seconds: seconds-long steps up to four-hour backups. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14400] as const;
/** Upper bounds of the HTTP latency histogram, in seconds. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** The run-duration pass and the row counts read whole tables: reuse them for this long between scrapes. */
export const TABLE_SCAN_REUSE_MS = 30_000;

interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route" | "status">;
}

const memo = globalThis as typeof globalThis & { __mimirMetrics?: Metrics };

/** Every gauge reads stored state when scraped (samples, the database, the backup catalog); nothing is pushed. */
function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const httpRequests = new Counter({
    name: "mimir_http_requests_total",
    help: "HTTP requests answered by the API, /health and /metrics",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "mimir_http_request_duration_seconds",
    help: "Time to answer an HTTP request",
    labelNames: ["method", "route", "status"] as const,
    buckets: [...HTTP_DURATION_BUCKETS],
    registers,
  });

  new Gauge({
    name: "mimir_volume_bytes",
    help: "Bytes in each volume and the backups folder at the last storage sample (du -sb)",
    labelNames: ["volume"] as const,
    registers,
    async collect() {
      this.reset();
      for (const row of await latestVolumeSamples()) this.set({ volume: row.volume }, row.bytes);
    },
  });
  new Gauge({
    name: "mimir_volume_files",
    help: "Files in each volume at the last storage sample",
    labelNames: ["volume"] as const,
    registers,
    async collect() {
      this.reset();
      for (const row of await latestVolumeSamples()) this.set({ volume: row.volume }, row.files);
    },
  });
  new Gauge({
    name: "mimir_filesystem_free_bytes",
    help: "Free bytes (for the service user) on the filesystem holding each volume, at the last storage sample",
    labelNames: ["volume"] as const,
    registers,
    async collect() {
      this.reset();
      for (const row of await latestVolumeSamples()) if (row.fsFreeBytes !== null) this.set({ volume: row.volume }, row.fsFreeBytes);
    },
  });
  new Gauge({
    name: "mimir_filesystem_size_bytes",
    help: "Size of the filesystem holding each volume",
    labelNames: ["volume"] as const,
    registers,
    async collect() {
      this.reset();
      for (const row of await latestVolumeSamples()) if (row.fsTotalBytes !== null) this.set({ volume: row.volume }, row.fsTotalBytes);
    },
  });
  new Gauge({
    name: "mimir_storage_last_sample_timestamp_seconds",
    help: "When the last storage sample was taken (Unix time)",
    registers,
    async collect() {
      this.reset();
      const times = (await guarded(findLatestSamples, [])).map((row) => Date.parse(row.takenAt));
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
      const stats = await guarded(readSqliteFileStats, null);
      if (!stats) return;
      this.set({ file: "main" }, stats.fileBytes);
      this.set({ file: "wal" }, stats.walBytes);
      this.set({ file: "shm" }, stats.shmBytes);
      const vector = (await guarded(findLatestSamples, [])).find((row) => row.volume === "vector_db");
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
      const stats = await guarded(readSqliteFileStats, null);
      if (!stats) return;
      this.set({ kind: "total" }, stats.pageCount);
      this.set({ kind: "free" }, stats.freePages);
    },
  });
  new Gauge({
    name: "mimir_table_rows",
    help: "Rows in each table of the database",
    labelNames: ["table"] as const,
    registers,
    async collect() {
      this.reset();
      for (const table of await guarded(countRowsReused, [])) this.set({ table: table.name }, table.rows);
    },
  });
  new Gauge({
    name: "mimir_job_runs",
    help: "Runs in the execution history by status",
    labelNames: ["status"] as const,
    registers,
    async collect() {
      this.reset();
      const byStatus = await guarded(() => countExecutionsByStatusSince(""), {});
      for (const [status, n] of Object.entries(byStatus)) this.set({ status }, n);
    },
  });
  registry.registerMetric(runDurationHistogram() as unknown as Metric);
  new Gauge({
    name: "mimir_backup_last_age_seconds",
    help: "Age of the newest backup set, labelled with its id; absent until one exists",
    labelNames: ["backup"] as const,
    registers,
    async collect() {
      this.reset();
      const latest = await guarded(findLatestBackup, null);
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
      const latest = await guarded(findLatestBackup, null);
      if (latest) this.set({ backup: latest.id }, latest.bytes);
    },
  });
  new Gauge({
    name: "mimir_backup_last_success_timestamp_seconds",
    help: "When the newest complete backup set was made (Unix time); 0 until one exists",
    registers,
    async collect() {
      const latest = await guarded(findLatestBackup, null);
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
      const latest = await guarded(findLatestBackup, null);
      if (latest) this.set({ backup: latest.id }, latest.verify_status === "ok" ? 1 : 0);
    },
  });
  new Gauge({
    name: "mimir_backups",
    help: "Backup sets in the catalog",
    registers,
    async collect() {
      this.set(await guarded(countBackups, 0));
    },
  });
  new Gauge({
    name: "mimir_storage_alert_active",
    help: "1 while a storage alert is raised, 0 once cleared (alerts never raised are absent)",
    labelNames: ["alert"] as const,
    registers,
    async collect() {
      this.reset();
      for (const alert of await guarded(listAlerts, [])) this.set({ alert: alert.key }, alert.state === "raised" ? 1 : 0);
    },
  });

  return { registry, httpRequests, httpDuration };
}

/**
 * mimir_job_run_duration_seconds as a histogram computed from stored runs (the executions
 * capability records them; nothing here observes a run). prom-client's Histogram only counts
 * observations, so this registers a metric object of the shape its registry formats.
 */
function runDurationHistogram() {
  const name = "mimir_job_run_duration_seconds";
  const help = "Duration of finished runs in the execution history";
  let cached: { at: number; values: { metricName: string; labels: Record<string, string | number>; value: number }[] } | null = null;
  return {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    async get() {
      if (!cached || Date.now() - cached.at > TABLE_SCAN_REUSE_MS) {
        const h = await guarded(() => histogramOfRunDurations(RUN_DURATION_BUCKETS), { count: 0, sumSeconds: 0, cumulative: RUN_DURATION_BUCKETS.map(() => 0) });
        cached = {
          at: Date.now(),
          values: [
            ...RUN_DURATION_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.cumulative[i]! })),
            { metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: h.count },
            { metricName: `${name}_sum`, labels: {}, value: h.sumSeconds },
            { metricName: `${name}_count`, labels: {}, value: h.count },
          ],
        };
      }
      return { name, help, type: "histogram", aggregator: "sum", values: cached.values };
    },
  };
}

let rowCounts: { at: number; tables: Awaited<ReturnType<typeof countSqliteTableRows>> } | null = null;

async function countRowsReused() {
  if (!rowCounts || Date.now() - rowCounts.at > TABLE_SCAN_REUSE_MS) rowCounts = { at: Date.now(), tables: await countSqliteTableRows() };
  return rowCounts.tables;
}

/** The latest sample of each volume (the database series have their own gauges). */
async function latestVolumeSamples() {
  const volumes = new Set<string>(VOLUME_NAMES);
  return (await guarded(findLatestSamples, [])).filter((row) => volumes.has(row.volume));
}

/** A scrape must answer even when the database cannot: the failing family is left empty and logged. */
async function guarded<T>(read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    getLogger().warn("metrics: a value could not be read", { error: (error as Error).message });
    return fallback;
  }
}

function metrics(): Metrics {
  memo.__mimirMetrics ??= createMetrics();
  return memo.__mimirMetrics;
}

/** The Prometheus text exposition of every metric, and its content type. */
export async function renderMetrics(): Promise<{ text: string; contentType: string }> {
  const { registry } = metrics();
  return { text: await registry.metrics(), contentType: registry.contentType };
}

/**
 * Distinct route labels the HTTP series may carry. The app has a few dozen route files; past this
 * every new label is counted as OTHER_ROUTE, so no sequence of requests can grow the series without
 * end even if a template were ever derived wrongly.
 */
export const MAX_ROUTE_LABELS = 256;
/** The one label for a request whose route template cannot be told. */
export const OTHER_ROUTE = "other";
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const STATIC_SEGMENT = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_SEGMENTS = 12;

const routeLabels = globalThis as typeof globalThis & { __mimirRouteLabels?: Set<string> };

/**
 * Counts one answered request and its latency under its route template (`routeTemplate`), so the
 * label set is the app's route files, whatever the URL held.
 */
export function recordHttpRequest(method: string, template: string, status: number, ms: number): void {
  const labels = { method: HTTP_METHODS.has(method) ? method : "OTHER", route: boundedLabel(template), status: String(status) };
  const { httpRequests, httpDuration } = metrics();
  httpRequests.inc(labels);
  httpDuration.observe(labels, ms / 1000);
}

function boundedLabel(template: string): string {
  const seen = (routeLabels.__mimirRouteLabels ??= new Set());
  if (seen.has(template)) return template;
  if (seen.size >= MAX_ROUTE_LABELS) return OTHER_ROUTE;
  seen.add(template);
  return template;
}

/**
 * The route file's template (`/api/v1/jobs/[id]`) of a request that Next.js matched to it: each
 * dynamic segment's value, which Next.js hands over as `params`, is put back as `[name]`; what is
 * left are the static folder names of the route file. Anything that still does not look like a
 * folder name (a path the params do not explain) gives OTHER_ROUTE, never text from the URL.
 */
export function routeTemplate(pathname: string, params: Record<string, string | string[] | undefined>): string {
  const segments = pathname.split("/").filter(Boolean).map(decodeSegment);
  if (segments.length > MAX_SEGMENTS) return OTHER_ROUTE;
  let from = 0;
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      // A catch-all takes the rest of the path: [...name] stands for all of it.
      const at = segments.indexOf(value[0] ?? "", from);
      if (at < 0) return OTHER_ROUTE;
      segments.splice(at, value.length, `[...${name}]`);
      from = at + 1;
      continue;
    }
    if (value === undefined) continue;
    const at = segments.indexOf(value, from);
    if (at < 0) return OTHER_ROUTE;
    segments[at] = `[${name}]`;
    from = at + 1;
  }
  if (!segments.every((segment) => /^\[(\.\.\.)?[A-Za-z]\w*\]$/.test(segment) || STATIC_SEGMENT.test(segment))) return OTHER_ROUTE;
  return "/" + segments.join("/");
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
