import "server-only";
import { processState } from "@/lib/process-state";
import { getConfig } from "@/lib/config/service";
import type { NewStorageSampleRow } from "@/lib/db/schema/storage";
import { getLogger } from "@/lib/log/logger";
import { applyAlertChecks, buildAlertChecks, type StorageReading } from "@/lib/storage/alerts";
import { getVolumeTrends, projectDiskFull } from "@/lib/storage/history";
import { findEarliestSampleTime, findLatestSampleTime, insertSamples, thinSamples } from "@/lib/storage/queries";
import { getStorageUsage } from "@/lib/storage/usage";
import type { StorageAlert, StorageUsage } from "@/lib/storage/types";
import { DAY_MS } from "@/lib/time";
import { takeTurnOnce } from "@/lib/instances/service";
import { runUnlessFrozen, writesRefusedHere } from "@/lib/db/write-freeze";

/** Samples older than THIN_HOURLY_AFTER_MS are kept one per hour, older than THIN_DAILY_AFTER_MS one per day, older than DROP_AFTER_MS not at all. */
export const THIN_HOURLY_AFTER_MS = DAY_MS;
export const THIN_DAILY_AFTER_MS = 30 * DAY_MS;
export const DROP_AFTER_MS = 400 * DAY_MS;

export interface SampleResult {
  taken_at: string;
  scan_ms: number;
  /** false when the rows could not be written (full disk, locked database): the sample is logged and dropped */
  stored: boolean;
  thinned: number;
  active_alerts: string[];
}

const memo = processState(
  "storageSampler",
  (): {
    sampling?: Promise<SampleResult>;
    sampler?: { timer: NodeJS.Timeout; lastOwnSample: string | null };
  } => ({}),
);

/**
 * Measures every volume, stores one sample row per series, thins old samples, and raises or clears
 * alerts. A failure to write (e.g. a full disk) is logged and does not throw: measuring only reads.
 * Refused with `migrating` (nothing measured) while writes are frozen for a switch to PostgreSQL.
 * Concurrent calls share one run. Inserts storage_samples rows; see applyAlertChecks for alerts.
 */
export function takeStorageSample(): Promise<SampleResult> {
  // One write as the freeze for a switch to PostgreSQL counts them: refused while frozen, waited for by a freeze that starts meanwhile.
  memo.sampling ??= runUnlessFrozen(sampleOnce).finally(() => (memo.sampling = undefined));
  return memo.sampling;
}

async function sampleOnce(): Promise<SampleResult> {
  const log = getLogger();
  const config = getConfig();
  // The same walk the pages read: a sample and the sizes shown beside it are one measurement.
  const usage = await getStorageUsage({ fresh: true, tables: false });
  const now = Date.parse(usage.measured_at);
  let stored = true;
  let thinned = 0;
  try {
    await insertSamples(sampleRows(usage));
    thinned = await thinSamples({
      hourlyBefore: new Date(now - THIN_HOURLY_AFTER_MS).toISOString(),
      dailyBefore: new Date(now - THIN_DAILY_AFTER_MS).toISOString(),
      dropBefore: new Date(now - DROP_AFTER_MS).toISOString(),
    });
  } catch (error) {
    stored = false;
    log.error("storage sample could not be stored", { error });
  }
  let alerts: StorageAlert[] = [];
  try {
    const [trends, projection] = await Promise.all([getVolumeTrends(now), projectDiskFull(now)]);
    const change = new Map(trends.map((t) => [t.volume, t.change_24h]));
    const dataVolume = usage.volumes.find((v) => v.volume === "mimir_data");
    const reading: StorageReading = {
      volumes: Object.fromEntries(usage.volumes.map((v) => [v.volume, { bytes: v.bytes, change24h: change.get(v.volume) ?? null }])),
      disk: dataVolume?.filesystem ? { freeBytes: dataVolume.filesystem.free_bytes, totalBytes: dataVolume.filesystem.total_bytes } : null,
      projection,
    };
    alerts = await applyAlertChecks(buildAlertChecks(reading, config));
  } catch (error) {
    log.error("storage alerts could not be evaluated", { error });
  }
  return {
    taken_at: usage.measured_at,
    scan_ms: usage.scan_ms,
    stored,
    thinned,
    active_alerts: alerts.filter((a) => a.state === "raised").map((a) => a.key),
  };
}

/**
 * Stores a measurement taken elsewhere as one sample at its `measured_at` (the demo seed's history of
 * past days). No thinning, no alert check: the next real sample does both. Inserts rows.
 */
export async function storeSample(usage: StorageUsage): Promise<void> {
  await insertSamples(sampleRows(usage));
}

/** When the oldest stored sample was taken, or null before the first. Reads only. */
export async function earliestSampleTime(): Promise<string | null> {
  return findEarliestSampleTime();
}

function sampleRows(usage: StorageUsage): NewStorageSampleRow[] {
  const takenAt = usage.measured_at;
  const data = usage.volumes.find((v) => v.volume === "mimir_data")?.filesystem ?? null;
  const rows: NewStorageSampleRow[] = usage.volumes.map((v) => ({
    takenAt,
    volume: v.volume,
    bytes: v.bytes,
    files: v.files,
    fsFreeBytes: v.filesystem?.free_bytes ?? null,
    fsTotalBytes: v.filesystem?.total_bytes ?? null,
  }));
  const db = usage.database;
  const file = (volume: string, bytes: number | null) => ({
    takenAt,
    volume,
    bytes: bytes ?? 0,
    files: bytes === null ? 0 : 1,
    fsFreeBytes: data?.free_bytes ?? null,
    fsTotalBytes: data?.total_bytes ?? null,
  });
  rows.push(file("database", db.file_bytes), file("database_wal", db.wal_bytes));
  if (db.vector_db.bytes !== null) rows.push(file("vector_db", db.vector_db.bytes));
  return rows;
}

/** The sampling period from config, in milliseconds. */
export function sampleIntervalMs(): number {
  return getConfig().values.storage.sample_interval_minutes * 60_000;
}

/**
 * Samples every storage.sample_interval_minutes from boot. It steps aside while someone else
 * samples on time (the scheduler's System.storage_sample job): a tick that finds a sample newer
 * than its own, younger than one interval, does nothing, so the two never double the rows; with
 * several instances, only the one that takes the interval's turn samples.
 */
export function startStorageSampler(): void {
  if (memo.sampler) return;
  const state = { timer: undefined as unknown as NodeJS.Timeout, lastOwnSample: null as string | null };
  const tick = async () => {
    const frozen = writesRefusedHere();
    if (frozen !== null) {
      // Paused, not stopped: the timer carries on and samples again once a failed migration thawed writes.
      getLogger().info("storage sample skipped: writes are frozen for the switch to PostgreSQL", { reason: frozen });
      if (memo.sampler === state) schedule();
      return;
    }
    try {
      const latest = await findLatestSampleTime();
      const someoneElseOnTime = latest !== null && latest !== state.lastOwnSample && Date.now() - Date.parse(latest) < sampleIntervalMs();
      // Several instances: one of them samples each interval.
      if (!someoneElseOnTime && (await takeTurnOnce("storage-sample", sampleIntervalMs()))) state.lastOwnSample = (await takeStorageSample()).taken_at;
    } catch (error) {
      getLogger().error("storage sampler tick failed", { error });
    }
    if (memo.sampler === state) schedule();
  };
  const schedule = (delay = sampleIntervalMs()) => {
    state.timer = setTimeout(tick, delay);
    state.timer.unref();
  };
  memo.sampler = state;
  schedule(0);
}

export function stopStorageSampler(): void {
  if (!memo.sampler) return;
  clearTimeout(memo.sampler.timer);
  memo.sampler = undefined;
}
