import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { probeDatabase } from "@/lib/db/probe";
import { appDatabaseLocation, isAppDatabaseOpen } from "@/lib/db/client";
import { backupFreshnessProblem } from "@/lib/backups/freshness";
import { offsiteProblems } from "@/lib/offsite/freshness";
import { nowIso } from "@/lib/db/timestamps";
import { activeAlertReasons } from "@/lib/storage/alerts";
import { filesystemSpace } from "@/lib/storage/usage";
import type { HealthReasonCode, HealthReport, HealthStatus, PublicHealthReport } from "@/lib/health/types";
import type { Principal } from "@/lib/auth/scopes";
import { databaseCorruptionReason } from "@/lib/maintenance/service";

/** Free space below this share of the filesystem marks the deployment degraded. */
export const LOW_DISK_FREE_RATIO = 0.05;

/**
 * The guide's health document: `{status, time, persistence: {status, backend, path}}` plus the vector
 * database, disk free space, and the reasons (texts and codes) for any status other than healthy.
 * Names absolute paths and sizes: for identified callers (getHealthFor). Reads only.
 */
export function getHealth(): Promise<HealthReport> {
  health.inflight ??= readHealth().finally(() => {
    health.inflight = null;
  });
  return health.inflight;
}

/**
 * The report being read, shared by every caller that asks while it is: 32 probes at once cost one set
 * of reads (seven queries and two file-system calls), not 32. A caller gets reads that began at most
 * one report's time (a few milliseconds) before it asked; a caller after them starts fresh ones.
 */
// Per bundle (each route bundle sharing among its own callers is all a probe storm needs).
const health: { inflight: Promise<HealthReport> | null } = { inflight: null };

async function readHealth(): Promise<HealthReport> {
  const config = getConfig();
  const reasons: string[] = [];
  const codes = new Set<HealthReasonCode>();
  const persistence: HealthReport["persistence"] = {
    status: "healthy",
    backend: config.values.persistence.backend,
    path: config.paths.database,
    ...postgresLocation(),
  };
  try {
    persistence.schema_version = (await probeDatabase()).schemaVersion;
  } catch (error) {
    persistence.status = "unhealthy";
    persistence.error = (error as Error).message;
    reasons.push(`database cannot be read: ${(error as Error).message}`);
    codes.add("database_unreadable");
  }
  const corruption = persistence.status === "healthy" ? await databaseCorruptionReason() : null;
  if (corruption) {
    persistence.status = "unhealthy";
    persistence.error = corruption;
    reasons.push(corruption);
    codes.add("database_corrupt");
  }

  const vectorBytes = await fileSize(config.paths.vectorDb);
  const disk = await diskUsage(config.paths.data);
  if (disk && disk.free_ratio < LOW_DISK_FREE_RATIO) {
    reasons.push(`disk holding the data volume is ${Math.round((1 - disk.free_ratio) * 100)}% full`);
    codes.add("disk_low");
  }

  const backupProblem = await backupFreshnessProblem().catch(() => null);
  if (backupProblem) {
    reasons.push(`backups: ${backupProblem}`);
    codes.add("backup_problem");
  }
  for (const problem of await offsiteProblems().catch(() => [])) {
    reasons.push(`offsite copies: ${problem.reason}`);
    codes.add("offsite_problem");
  }
  // Last, and counted: the Overview shows these once, in the alert banner, not again as reasons.
  // The alert states live in the database: when it cannot be read, that is the one reason to give.
  const alertReasons = persistence.status === "unhealthy" ? [] : await activeAlertReasons();
  reasons.push(...alertReasons);
  if (alertReasons.length > 0) codes.add("storage_alert");

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
    reason_codes: [...codes],
    storage_alerts: alertReasons.length,
    uptime_seconds: Math.round(process.uptime()),
  };
}

/**
 * The guide's document and reason codes, for anyone (probes, load balancers): no absolute path, no
 * sizes, no alert or error text. Reads only.
 */
export async function getPublicHealth(): Promise<PublicHealthReport> {
  const report = await getHealth();
  return {
    status: report.status,
    time: report.time,
    persistence:
      report.persistence.backend === "postgres"
        ? {
            status: report.persistence.status,
            backend: "postgres",
            path: report.persistence.path,
            host: report.persistence.host,
            database: report.persistence.database,
          }
        : { status: report.persistence.status, backend: report.persistence.backend, path: guidePath(report.persistence.path, getConfig().paths.home) },
    reason_codes: report.reason_codes,
  };
}

/** /health by caller: the whole report for any identified caller (read is the least scope), the public one otherwise. Reads only. */
export async function getHealthFor(caller: Principal | null): Promise<HealthReport | PublicHealthReport> {
  return caller ? getHealth() : getPublicHealth();
}

/**
 * A path as the guide writes it: `./data/mimir.db` under MIMIR_HOME. A database kept elsewhere
 * (MIMIR_DATABASE_PATH) shows its file name alone, since its folders describe the host.
 */
export function guidePath(file: string, home: string): string {
  const relative = path.relative(home, file);
  if (relative === "" || relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return path.basename(file);
  return `./${relative.split(path.sep).join("/")}`;
}

/** On PostgreSQL: where the database is, as a password-free URL plus host and database. */
function postgresLocation(): { path: string; host: string; database: string } | Record<string, never> {
  if (!isAppDatabaseOpen()) return {};
  const location = appDatabaseLocation();
  if (location.backend !== "postgres") return {};
  return { path: `postgres://${location.host}:${location.port}/${location.database}`, host: location.host, database: location.database };
}

/** 503 only when the database cannot be read; degraded still answers 200 so load balancers keep routing. */
export function healthHttpStatus(report: { status: HealthStatus }): number {
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
  return {
    path: folder,
    free_bytes: space.free_bytes,
    total_bytes: space.total_bytes,
    free_ratio: space.total_bytes > 0 ? space.free_bytes / space.total_bytes : 0,
  };
}
