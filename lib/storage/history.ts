import "server-only";
import { countExecutionsPerTimePrefix } from "@/lib/executions/service";
import {
  aggregateSampleSeries,
  BUCKET_PREFIX,
  findFirstSamplesSince,
  findLatestSamples,
  findLatestSamplesAndAlertStates,
  listVolumeTotalsSince,
  type Bucket,
} from "@/lib/storage/queries";
import type { DiskProjection, ExecutionPoint, HistoryRange, SampleSeries, StorageHistory, VolumePoint, VolumeTrend } from "@/lib/storage/types";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";
import { DAY_MS, HOUR_MS } from "@/lib/time";

export const RANGE_MS: Record<HistoryRange, number> = { "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS, "90d": 90 * DAY_MS };

/** The fill projection looks at this much history: long enough to smooth a burst, short enough to follow a change. */
export const PROJECTION_WINDOW_MS = DAY_MS;
/**
 * A trend needs at least this span of samples: a quarter of the window. Minutes of samples on a
 * shared disk project noise (a few minutes of another program's writes read as "full in 3 h").
 */
export const PROJECTION_MIN_HOURS = 6;
/** …and at least this many samples across that span, so one odd sample cannot set the slope. */
export const PROJECTION_MIN_SAMPLES = 6;

/** Points per chart stay in the low hundreds: 10-minute buckets for a day, hours for a week, days beyond. */
export function bucketFor(spanMs: number): Bucket {
  if (spanMs <= DAY_MS) return "10min";
  if (spanMs <= 7 * DAY_MS) return "hour";
  return "day";
}

/**
 * The chart series since `since` (or over `range`): per-series bytes and runs per bucket, both
 * aggregated in SQL, and the disk-full projection. `series` narrows the volume chart. Reads only.
 */
export async function getStorageHistory(input: { range?: HistoryRange; since?: string; series?: SampleSeries }, now = Date.now()): Promise<StorageHistory> {
  const since = input.since ?? new Date(now - RANGE_MS[input.range ?? "24h"]).toISOString();
  const bucket = bucketFor(now - Date.parse(since));
  const [sizes, runs, projection] = await Promise.all([
    aggregateSampleSeries(since, bucket, input.series ? [input.series] : undefined),
    countExecutionsPerTimePrefix(since, BUCKET_PREFIX[bucket]),
    projectDiskFull(now),
  ]);
  const volumes = new Map<string, VolumePoint>();
  for (const row of sizes) {
    const point = volumes.get(row.t) ?? { t: bucketStart(row.t) };
    point[row.volume as SampleSeries] = Number(row.bytes);
    volumes.set(row.t, point);
  }
  const executions = new Map<string, ExecutionPoint>();
  for (const row of runs) {
    const point = executions.get(row.t) ?? { t: bucketStart(row.t), success: 0, failed: 0, other: 0 };
    const key = row.status === "success" || row.status === "failed" ? row.status : "other";
    point[key] += Number(row.n);
    executions.set(row.t, point);
  }
  return {
    range: input.since ? null : (input.range ?? "24h"),
    since,
    bucket,
    volumes: [...volumes.values()],
    executions: [...executions.values()],
    projection,
  };
}

/** "2025-01-15T02:1" → "2025-01-15T02:10:00.000Z": a bucket's prefix back to a full timestamp. */
export function bucketStart(prefix: string): string {
  const template = "0000-01-01T00:00:00.000Z";
  return prefix + template.slice(prefix.length);
}

/**
 * When the disk holding the data volume fills at the rate Mimir's own volumes grow: the
 * least-squares slope of their summed size over the last day, against the free space now. The
 * rest of the free-space change (other programs on a shared disk) is reported beside it, never as
 * our growth. No projection until the samples span PROJECTION_MIN_HOURS with PROJECTION_MIN_SAMPLES.
 * Reads samples only.
 */
export async function projectDiskFull(now = Date.now()): Promise<DiskProjection> {
  const samples = (await listVolumeTotalsSince(new Date(now - PROJECTION_WINDOW_MS).toISOString(), WATCHED_VOLUMES)).filter((s) => s.free !== null);
  const latest = samples.at(-1);
  const spanHours = latest ? (Date.parse(latest.takenAt) - Date.parse(samples[0]!.takenAt)) / HOUR_MS : 0;
  const empty: DiskProjection = {
    free_bytes: latest?.free ?? null,
    total_bytes: latest?.total ?? null,
    measured_at: latest?.takenAt ?? null,
    samples: samples.length,
    history_hours: spanHours,
    needed_samples: PROJECTION_MIN_SAMPLES,
    needed_hours: PROJECTION_MIN_HOURS,
    enough_history: false,
    growth_bytes_per_hour: null,
    other_growth_bytes_per_hour: null,
    full_at: null,
    hours_left: null,
  };
  if (!latest || samples.length < PROJECTION_MIN_SAMPLES || spanHours < PROJECTION_MIN_HOURS) return empty;
  const at = (takenAt: string) => Date.parse(takenAt);
  const ourGrowth = leastSquaresSlope(samples.map((s) => ({ x: at(s.takenAt), y: s.bytes }))) * HOUR_MS;
  const freeShrink = -leastSquaresSlope(samples.map((s) => ({ x: at(s.takenAt), y: Number(s.free) }))) * HOUR_MS;
  const projection: DiskProjection = { ...empty, enough_history: true, growth_bytes_per_hour: ourGrowth, other_growth_bytes_per_hour: freeShrink - ourGrowth };
  if (ourGrowth <= 0) return projection;
  const hoursLeft = Number(latest.free) / ourGrowth;
  return { ...projection, hours_left: hoursLeft, full_at: new Date(at(latest.takenAt) + hoursLeft * HOUR_MS).toISOString() };
}

export function leastSquaresSlope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - meanX) * (p.y - meanY);
    den += (p.x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The latest size of each series and its change over the last day, from samples. Reads only. */
export async function getVolumeTrends(now = Date.now()): Promise<VolumeTrend[]> {
  const [latest, dayAgo] = await Promise.all([findLatestSamples(), findFirstSamplesSince(new Date(now - DAY_MS).toISOString())]);
  const first = new Map(dayAgo.map((row) => [row.volume, row]));
  return latest.map((row) => {
    const start = first.get(row.volume);
    return {
      volume: row.volume as SampleSeries,
      bytes: row.bytes,
      files: row.files,
      change_24h: start && start.id !== row.id ? row.bytes - start.bytes : null,
      measured_at: row.takenAt,
    };
  });
}

/**
 * The latest sample of each series (volumes, backups, the database files) and every alert's state
 * (raised or cleared), read together in one statement for /metrics. Reads only.
 */
export async function listLatestSamplesAndAlertStates(): Promise<{
  samples: { volume: string; takenAt: string; bytes: number; files: number; fsFreeBytes: number | null; fsTotalBytes: number | null }[];
  alerts: { key: string; state: string }[];
}> {
  const samples = [];
  const alerts = [];
  for (const { alertState, ...row } of await findLatestSamplesAndAlertStates()) {
    if (alertState === null) samples.push({ ...row, bytes: Number(row.bytes), files: Number(row.files) });
    else alerts.push({ key: row.volume, state: alertState });
  }
  alerts.sort((a, b) => a.key.localeCompare(b.key));
  return { samples, alerts };
}
