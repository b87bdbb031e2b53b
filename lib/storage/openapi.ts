import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import { alertsQuery, storageHistoryQuery } from "@/lib/storage/inputs";
import { DATABASE_SERIES, HISTORY_RANGES, SAMPLE_SERIES, type StorageAlert, type StorageHistory, type StorageUsage } from "@/lib/storage/types";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";
import type { SampleResult } from "@/lib/storage/sampler";

const TAG = "Storage";

const filesystem = z.object({ free_bytes: z.number(), total_bytes: z.number() });
const storageUsage = z
  .object({
    measured_at: z.string(),
    scan_ms: z.number(),
    volumes: z.array(
      z
        .object({
          volume: z.enum(WATCHED_VOLUMES),
          path: z.string(),
          exists: z.boolean(),
          bytes: z.number(),
          files: z.number(),
          folders: z.number(),
          unreadable: z.number(),
          largest: z.array(z.object({ path: z.string(), bytes: z.number() })),
          filesystem: filesystem.nullable(),
        })
        .loose(),
    ),
    database: z
      .object({
        path: z.string(),
        file_bytes: z.number(),
        wal_bytes: z.number(),
        shm_bytes: z.number(),
        page_size: z.number(),
        page_count: z.number(),
        free_pages: z.number(),
        tables: z.array(z.object({ name: z.string(), rows: z.number(), bytes: z.number().nullable() })),
        vector_db: z.object({ path: z.string(), enabled: z.boolean(), bytes: z.number().nullable() }),
      })
      .loose(),
  })
  .loose() satisfies z.ZodType<StorageUsage>;

const storageHistory = z
  .object({
    range: z.enum(HISTORY_RANGES).nullable(),
    since: z.string(),
    bucket: z.enum(["10min", "hour", "day"]),
    /** one point per bucket: its start `t`, then bytes per series (volume names, database, database_wal, vector_db) */
    volumes: z.array(z.object({ t: z.string() }).catchall(z.number())),
    executions: z.array(z.object({ t: z.string(), success: z.number(), failed: z.number(), other: z.number() })),
    /** time-to-full at the rate Mimir's own volumes grow; null rates until enough_history */
    projection: z.object({
      free_bytes: z.number().nullable(),
      total_bytes: z.number().nullable(),
      measured_at: z.string().nullable(),
      samples: z.number(),
      history_hours: z.number(),
      needed_samples: z.number(),
      needed_hours: z.number(),
      enough_history: z.boolean(),
      growth_bytes_per_hour: z.number().nullable().describe("bytes per hour Mimir's five volumes and backups grow"),
      other_growth_bytes_per_hour: z.number().nullable().describe("bytes per hour the rest of that disk takes (other programs)"),
      full_at: z.string().nullable(),
      hours_left: z.number().nullable(),
    }),
  })
  .loose() satisfies z.ZodType<StorageHistory>;

const storageAlert = z
  .object({
    key: z.string(),
    state: z.enum(["raised", "cleared"]),
    message: z.string(),
    value: z.number(),
    raise_at: z.number(),
    clear_at: z.number(),
    raised_at: z.string().nullable(),
    cleared_at: z.string().nullable(),
  })
  .loose() satisfies z.ZodType<StorageAlert>;

const sampleResult = z
  .object({ taken_at: z.string(), scan_ms: z.number(), stored: z.boolean(), thinned: z.number(), active_alerts: z.array(z.string()) })
  .loose() satisfies z.ZodType<SampleResult>;

/** The storage routes, for the OpenAPI document. */
export const STORAGE_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/storage",
    summary:
      "Current size of every volume, the backups folder and the database (files, largest entries, free disk, per-table rows and bytes); a measurement up to 30 s old is reused",
    tag: TAG,
    access: "read",
    responses: { 200: { description: "Usage", schema: storageUsage } },
  },
  {
    method: "get",
    path: "/api/v1/storage/history",
    summary: `Stored samples as chart series since \`since\` or over \`range\` (default 24h): bytes per series per bucket, runs per bucket, and the disk-full projection; \`volume\` narrows to one of ${[...SAMPLE_SERIES].join(", ")}`,
    description: `Series are the volumes and ${DATABASE_SERIES.join(", ")}. Samples are kept 400 days (hourly after a day, daily after 30 days).`,
    tag: TAG,
    access: "read",
    query: storageHistoryQuery,
    responses: { 200: { description: "Series and projection", schema: storageHistory } },
  },
  {
    method: "post",
    path: "/api/v1/storage/samples",
    summary: "Take a storage sample now (the work of the System.storage_sample job): measures every volume, stores and thins samples, raises or clears alerts",
    tag: TAG,
    access: "write",
    responses: { 201: { description: "The sample; stored is false when the rows could not be written (full disk, locked database)", schema: sampleResult } },
  },
  {
    method: "get",
    path: "/api/v1/alerts",
    summary: "Storage alerts (volume size, free disk, hours until full) with their state; `state` filters; always one page",
    tag: TAG,
    access: "read",
    query: alertsQuery,
    responses: { 200: { description: "Alerts; next_cursor is always null", schema: z.object({ items: z.array(storageAlert), next_cursor: z.null() }) } },
  },
];
