import "server-only";
import fs from "node:fs/promises";
import { getConfig } from "@/lib/config/service";
import { probeDatabase } from "@/lib/db/probe";
import { backupFreshnessProblem } from "@/lib/backups/freshness";
import { nowIso } from "@/lib/db/timestamps";
import { activeAlertReasons } from "@/lib/storage/alerts";
import { filesystemSpace } from "@/lib/storage/usage";
import type { HealthReport, HealthStatus } from "@/lib/health/types";
import { databaseCorruptionReason } from "@/lib/maintenance/service";

/** Free space below this share of the filesystem marks the deployment degraded. */
export const LOW_DISK_FREE_RATIO = 0.05;

/**
 * The guide's health document: `{status, time, persistence: {status, backend, path}}` plus the vector
 * database, disk free space, and the reasons for any status other than healthy. Reads only.
 */
export async function getHealth(): Promise<HealthReport> {
  const config = getConfig();
  const reasons: string[] = [];
  const persistence: HealthReport["persistence"] = {
    status: "healthy",
    backend: config.values.persistence.backend,
    path: config.paths.database,
  };
  try {
    persistence.schema_version = (await probeDatabase()).schemaVersion;
  } catch (error) {
    persistence.status = "unhealthy";
    persistence.error = (error as Error).message;
    reasons.push(`database cannot be read: ${(error as Error).message}`);
  }
  const corruption = persistence.status === "healthy" ? await databaseCorruptionReason() : null;
  if (corruption) {
    persistence.status = "unhealthy";
    persistence.error = corruption;
    reasons.push(corruption);
  }

  const vectorBytes = await fileSize(config.paths.vectorDb);
  const disk = await diskUsage(config.paths.data);
  if (disk && disk.free_ratio < LOW_DISK_FREE_RATIO) {
    reasons.push(`disk holding the data volume is ${Math.round((1 - disk.free_ratio) * 100)}% full`);
  }

  const backupProblem = await backupFreshnessProblem().catch(() => null);
  if (backupProblem) reasons.push(`backups: ${backupProblem}`);
  // Last, and counted: the Overview shows these once, in the alert banner, not again as reasons.
  const alertReasons = await activeAlertReasons();
  reasons.push(...alertReasons);

  const status: HealthStatus = persistence.status === "unhealthy" ? "unhealthy" : reasons.length > 0 ? "degraded" : "healthy";
  return {
    status,
    time: nowIso(),
    persistence,
    vector_db: {
      enabled: config.values.persistence.enable_vector_db,
      path: config.paths.vectorDb,
      exists: vectorBytes !== null,
      bytes: vectorBytes,
    },
    disk,
    reasons,
    storage_alerts: alertReasons.length,
    uptime_seconds: Math.round(process.uptime()),
  };
}

/** 503 only when the database cannot be read; degraded still answers 200 so load balancers keep routing. */
export function healthHttpStatus(report: HealthReport): number {
  return report.status === "unhealthy" ? 503 : 200;
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return null;
  }
}

/** The disk holding the data volume, from the same statfs reading the Storage page and the samples use. */
async function diskUsage(folder: string): Promise<HealthReport["disk"]> {
  const space = await filesystemSpace(folder);
  if (!space) return null;
  return { path: folder, free_bytes: space.free_bytes, total_bytes: space.total_bytes, free_ratio: space.total_bytes > 0 ? space.free_bytes / space.total_bytes : 0 };
}
