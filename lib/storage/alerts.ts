import "server-only";
import type { AppConfig } from "@/lib/config/load";
import { recordAudit } from "@/lib/audit/service";
import { nowIso } from "@/lib/db/timestamps";
import type { StorageAlertRow } from "@/lib/db/schema/storage";
import { formatBytes, formatHoursLeft, formatPercent } from "@/lib/format";
import { getLogger } from "@/lib/log/logger";
import { notify } from "@/lib/notify/service";
import { listAlertRows, markAlertNotified, saveAlertRows } from "@/lib/storage/queries";
import type { AlertState, DiskProjection, StorageAlert, StorageVolume } from "@/lib/storage/types";

/** A projection beyond this many hours counts as "not filling": stored instead of Infinity. */
export const NOT_FILLING_HOURS = 1_000_000;

export interface Threshold {
  raise: number;
  clear: number;
}

/** One check: `value` is compared with its thresholds; null means "cannot tell now" and keeps the state. */
export interface AlertCheck {
  key: string;
  value: number | null;
  threshold: Threshold;
  /** which side of the line is bad */
  direction: "above" | "below";
  /** names the cause and the knob that fixes it */
  message: string;
  /** said when it clears */
  clearedMessage: string;
}

/**
 * The hysteresis rule: a cleared alert raises once the value is past `raise`; a raised one clears
 * only once it is back past `clear`. Between the two lines the state stays as it was.
 */
export function nextAlertState(previous: AlertState | undefined, value: number | null, threshold: Threshold, direction: "above" | "below"): AlertState {
  const state = previous ?? "cleared";
  if (value === null) return state;
  const past = (line: number) => (direction === "above" ? value > line : value < line);
  const back = (line: number) => (direction === "above" ? value < line : value > line);
  if (state === "raised") return back(threshold.clear) ? "cleared" : "raised";
  return past(threshold.raise) ? "raised" : "cleared";
}

/** What one sample measured, as the checks need it. */
export interface StorageReading {
  volumes: Partial<Record<StorageVolume, { bytes: number; change24h: number | null }>>;
  disk: { freeBytes: number; totalBytes: number } | null;
  /** the fill projection from the stored samples; null when it could not be read (the alert keeps its state) */
  projection: DiskProjection | null;
}

/**
 * A volume is named as the cause of the growth only when it accounts for at least this share of
 * what Mimir's volumes grew: advice to prune what barely moved cannot fix the trend.
 */
export const GROWER_SHARE = 0.5;
/** Below this share of the used space, a full disk is someone else's doing and no Mimir setting can fix it. */
export const OWN_SHARE_OF_USED = 0.5;

/** The configured checks against one reading. Pure. */
export function buildAlertChecks(reading: StorageReading, config: AppConfig): AlertCheck[] {
  const alerts = config.values.storage.alerts;
  const checks: AlertCheck[] = [];
  for (const [volume, { threshold, knob }] of volumeThresholds(config)) {
    const usage = reading.volumes[volume];
    const growth = usage?.change24h ? `; it grew ${formatBytes(usage.change24h)} in the last day` : "";
    checks.push({
      key: `volume:${volume}`,
      value: usage?.bytes ?? null,
      threshold,
      direction: "above",
      message:
        `${volume} is ${formatBytes(usage?.bytes)}, over its ${formatBytes(threshold.raise)} threshold${growth}. ` +
        `${volumeKnob(volume, config)}; or raise ${knob}.`,
      clearedMessage: `${volume} is back to ${formatBytes(usage?.bytes)}, under its ${formatBytes(threshold.clear)} clear level.`,
    });
  }
  const freeRatio = reading.disk && reading.disk.totalBytes > 0 ? reading.disk.freeBytes / reading.disk.totalBytes : null;
  checks.push({
    key: "disk_free",
    value: freeRatio,
    threshold: alerts.disk_free_ratio,
    direction: "below",
    message:
      `The disk holding the data volume has ${formatPercent(freeRatio)} free (${formatBytes(reading.disk?.freeBytes)}), ` +
      `under ${formatPercent(alerts.disk_free_ratio.raise)}. ${fullDiskAdvice(reading, config)} (threshold: storage.alerts.disk_free_ratio.raise).`,
    clearedMessage: `The disk holding the data volume has ${formatPercent(freeRatio)} free again, above ${formatPercent(alerts.disk_free_ratio.clear)}.`,
  });
  const projection = reading.projection;
  // Without enough history there is no projection, which is "not filling": an alert raised from
  // thinner history (as earlier versions did) clears instead of lingering.
  const hours =
    projection === null ? null : projection.enough_history ? Math.min(projection.hours_left ?? NOT_FILLING_HOURS, NOT_FILLING_HOURS) : NOT_FILLING_HOURS;
  checks.push({
    key: "disk_full",
    value: hours,
    threshold: alerts.disk_full_hours,
    direction: "below",
    message:
      `Mimir's volumes grew ${formatBytes(projection?.growth_bytes_per_hour)}/h over the last ${Math.round(projection?.history_hours ?? 0)} h; at that rate the ` +
      `${formatBytes(projection?.free_bytes)} free on the disk holding the data volume lasts ${formatHoursLeft(hours)}. ${growthAdvice(reading, config)} ` +
      `(threshold: storage.alerts.disk_full_hours.raise).`,
    clearedMessage: `The disk holding the data volume is no longer projected to fill within ${alerts.disk_full_hours.clear} h.`,
  });
  return checks;
}

/** The setting that bounds a volume's growth, in words an operator can act on. */
const GIB = 1024 ** 3;
/** The guide's THRESHOLD_GB clears once the data volume is back under this share of it. */
const THRESHOLD_GB_CLEAR_RATIO = 0.9;

/**
 * The size threshold of each watched volume and the key that sets it: storage.alerts.volume_bytes
 * per volume, and for mimir_data the guide's storage.alert_threshold_gb unless volume_bytes names it.
 */
function volumeThresholds(config: AppConfig): [StorageVolume, { threshold: Threshold; knob: string }][] {
  const { alerts, alert_threshold_gb: thresholdGb } = config.values.storage;
  const entries = (Object.entries(alerts.volume_bytes) as [StorageVolume, Threshold][]).map(
    ([volume, threshold]) =>
      [volume, { threshold, knob: `storage.alerts.volume_bytes.${volume}.raise` }] as [StorageVolume, { threshold: Threshold; knob: string }],
  );
  if (!alerts.volume_bytes.mimir_data) {
    entries.unshift([
      "mimir_data",
      { threshold: { raise: thresholdGb * GIB, clear: thresholdGb * GIB * THRESHOLD_GB_CLEAR_RATIO }, knob: "storage.alert_threshold_gb" },
    ]);
  }
  return entries;
}

function volumeKnob(volume: StorageVolume, config: AppConfig): string {
  const { persistence, logging, backups } = config.values;
  switch (volume) {
    case "mimir_logs":
      return logging.retention_days === 0
        ? "Log retention is off: set logging.retention_days"
        : `Log files are kept ${logging.retention_days} days: lower logging.retention_days`;
    case "mimir_data":
      return persistence.retention_days === 0
        ? "Execution history retention is off: set persistence.retention_days, then VACUUM on the Database page"
        : `Execution history is kept ${persistence.retention_days} days: lower persistence.retention_days, then VACUUM on the Database page`;
    case "backups":
      return `Backup sets are kept ${backups.keep_days} days: lower backups.keep_days or prune on the Backups page`;
    default:
      return `Remove files ${volume} no longer needs`;
  }
}

/** Names the volume behind most of the last day's growth and its knob, or says that no one volume is. */
function growthAdvice(reading: StorageReading, config: AppConfig): string {
  const growing = (Object.entries(reading.volumes) as [StorageVolume, { change24h: number | null }][])
    .map(([volume, v]) => [volume, v.change24h ?? 0] as const)
    .filter(([, change]) => change > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = growing.reduce((sum, [, change]) => sum + change, 0);
  const grower = growing[0];
  if (!grower) return "No volume grew in the last day";
  if (grower[1] < total * GROWER_SHARE) {
    return `The growth is spread over several volumes (${grower[0]} grew most, ${formatBytes(grower[1])} in the last day); check each on the Storage page`;
  }
  return `${grower[0]} grew ${formatBytes(grower[1])} in the last day. ${volumeKnob(grower[0], config)}`;
}

/** Whether Mimir's own volumes fill the disk, and the fix that can help either way. */
function fullDiskAdvice(reading: StorageReading, config: AppConfig): string {
  const move = "move MIMIR_DATA_DIR / MIMIR_BACKUP_DIR to a larger disk";
  const volumes = (Object.entries(reading.volumes) as [StorageVolume, { bytes: number }][]).sort((a, b) => b[1].bytes - a[1].bytes);
  const ours = volumes.reduce((sum, [, v]) => sum + v.bytes, 0);
  const used = reading.disk ? reading.disk.totalBytes - reading.disk.freeBytes : null;
  const largest = volumes[0];
  if (used !== null && ours < used * OWN_SHARE_OF_USED) {
    return `Mimir's volumes hold ${formatBytes(ours)} of the ${formatBytes(used)} used there: other programs fill this disk, so free space outside Mimir or ${move}.`;
  }
  if (!largest) return `Free space on that disk or ${move}.`;
  return `${largest[0]} is the largest volume (${formatBytes(largest[1].bytes)}). ${volumeKnob(largest[0], config)}; or ${move}.`;
}

/**
 * Applies checks to the stored alert states: raises and clears (each written to the audit log),
 * then hands every state the channels have not yet been told about to the notifier, once. Writes
 * storage_alerts and audit_log rows; queues notifications.
 */
export async function applyAlertChecks(checks: AlertCheck[]): Promise<StorageAlert[]> {
  const now = nowIso();
  const rows = new Map((await listAlertRows()).map((row) => [row.key, row]));
  const changed: StorageAlertRow[] = [];
  for (const check of checks) {
    const previous = rows.get(check.key);
    const state = nextAlertState(previous?.state as AlertState | undefined, check.value, check.threshold, check.direction);
    if (!previous && state === "cleared") continue;
    const base = {
      key: check.key,
      value: check.value ?? previous?.value ?? 0,
      raiseAt: check.threshold.raise,
      clearAt: check.threshold.clear,
      updatedAt: now,
    };
    if (previous && previous.state === state) {
      // Still raised: keep the message current (the value moves); a cleared row keeps its last message.
      if (state === "raised") changed.push({ ...previous, ...base, message: check.message });
      continue;
    }
    const row: StorageAlertRow = {
      ...base,
      state,
      message: state === "raised" ? check.message : check.clearedMessage,
      raisedAt: state === "raised" ? now : (previous?.raisedAt ?? null),
      clearedAt: state === "cleared" ? now : null,
      notifiedState: previous?.notifiedState ?? null,
    };
    changed.push(row);
    rows.set(row.key, row);
    await recordAudit({
      principal: null,
      action: state === "raised" ? "alert.raise" : "alert.clear",
      target: check.key,
      result: "ok",
      details: { value: check.value, raise: check.threshold.raise, clear: check.threshold.clear, message: row.message },
    });
    getLogger().warn(state === "raised" ? "storage alert raised" : "storage alert cleared", { alert: check.key, detail: row.message });
  }
  await saveAlertRows(changed);
  for (const row of changed) rows.set(row.key, row);
  await notifyPending([...rows.values()]);
  return [...rows.values()].map(toAlertDto);
}

async function notifyPending(rows: StorageAlertRow[]) {
  for (const row of rows) {
    if (row.notifiedState === row.state) continue;
    const payload = { alert: row.key, message: row.message, value: row.value, raise_at: row.raiseAt, clear_at: row.clearAt };
    // The notifier's outbox keeps the message from here on (and retries it), so the state counts as told.
    await notify(row.state === "raised" ? "storage.alert_raised" : "storage.alert_cleared", payload);
    await markAlertNotified(row.key, row.state);
  }
}

/** Every alert that has ever been raised, with its current state. Reads only. */
export async function listAlerts(): Promise<StorageAlert[]> {
  return (await listAlertRows()).map(toAlertDto);
}

/** The alerts raised now: the banner, /health and /metrics. Reads only. */
export async function listActiveAlerts(): Promise<StorageAlert[]> {
  return (await listAlerts()).filter((alert) => alert.state === "raised");
}

/** One reason per active alert, for /health's `degraded`; never throws (health must answer). */
export async function activeAlertReasons(): Promise<string[]> {
  try {
    return (await listActiveAlerts()).map((alert) => `storage alert ${alert.key}: ${alert.message}`);
  } catch {
    return [];
  }
}

function toAlertDto(row: StorageAlertRow): StorageAlert {
  return {
    key: row.key,
    state: row.state as AlertState,
    message: row.message,
    value: row.value,
    raise_at: row.raiseAt,
    clear_at: row.clearAt,
    raised_at: row.raisedAt,
    cleared_at: row.clearedAt,
  };
}
