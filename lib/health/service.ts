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
import { endedWrites } from "@/lib/db/write-freeze";

/** Free space below this share of the filesystem marks the deployment degraded. */
export const LOW_DISK_FREE_RATIO = 0.05;

/**
 * How old the facts of a /health answer other than the database probe (integrity verdict, vector
 * database, disk space, backup and offsite freshness, storage alerts) may be. A change this process
 * makes itself (a changing request, a server action, a background writer's turn: an admitted write,
 * lib/db/write-freeze.ts) shows in the next answer; one made elsewhere (another instance, a file
 * changed by hand, the disk filling) within this bound.
 */
export const HEALTH_FACTS_MAX_AGE_MS = 1000;

/**
 * The guide's health document: `{status, time, persistence: {status, backend, path}}` plus the vector
 * database, disk free space, and the reasons (texts and codes) for any status other than healthy,
 * every part read now. Names absolute paths and sizes: for identified callers. Reads only.
 */
export function getHealth(): Promise<HealthReport> {
  health.inflight ??= Promise.all([probe(), readFacts()])
    .then(([database, facts]) => assemble(database, facts))
    .finally(() => {
      health.inflight = null;
    });
  return health.inflight;
}

/**
 * Reads shared by every caller that asks while they are under way: 32 probes at once cost one set of
 * reads, not 32. A caller gets reads that began at most one read's time (a few milliseconds) before it
 * asked; a caller after them starts fresh ones.
 */
// Per bundle (each route bundle sharing among its own callers is all a probe storm needs).
const health: {
  inflight: Promise<HealthReport> | null;
  facts: { read: Promise<HealthFacts>; at: number; writes: number } | null;
} = { inflight: null, facts: null };

/** What a report says besides the database probe: each part read on its own, none of them throws. */
interface HealthFacts {
  corruption: string | null;
  vectorBytes: number | null;
  disk: HealthReport["disk"];
  backupProblem: string | null;
  offsiteReasons: string[];
  alertReasons: string[];
}

async function readFacts(): Promise<HealthFacts> {
  const config = getConfig();
  const [corruption, vectorBytes, disk, backupProblem, offsite, alertReasons] = await Promise.all([
    databaseCorruptionReason().catch(() => null),
    fileSize(config.paths.vectorDb),
    diskUsage(config.paths.data),
    backupFreshnessProblem().catch(() => null),
    offsiteProblems().catch(() => []),
    activeAlertReasons(),
  ]);
  return { corruption, vectorBytes, disk, backupProblem, offsiteReasons: offsite.map((problem) => problem.reason), alertReasons };
}

/**
 * The facts at most HEALTH_FACTS_MAX_AGE_MS old and read after this process's last admitted write:
 * the kept ones, or a fresh read shared by every caller until it is kept in turn.
 */
function keptFacts(): Promise<HealthFacts> {
  const now = Date.now();
  const writes = endedWrites();
  const kept = health.facts;
  if (kept && kept.writes === writes && now - kept.at < HEALTH_FACTS_MAX_AGE_MS) return kept.read;
  const read = readFacts();
  health.facts = { read, at: now, writes };
  // Never keep a failed read: the next caller tries again.
  read.catch(() => {
    if (health.facts?.read === read) health.facts = null;
  });
  return read;
}

/** The probe every answer makes itself: proves the database answers now, or says why it does not. */
async function probe(): Promise<{ schemaVersion: string | null } | Error> {
  try {
    return await probeDatabase();
  } catch (error) {
    return error as Error;
  }
}

function assemble(database: { schemaVersion: string | null } | Error, facts: HealthFacts): HealthReport {
  const config = getConfig();
  const reasons: string[] = [];
  const codes = new Set<HealthReasonCode>();
  const persistence: HealthReport["persistence"] = {
    status: "healthy",
    backend: config.values.persistence.backend,
    path: config.paths.database,
    ...postgresLocation(),
  };
  if (database instanceof Error) {
    persistence.status = "unhealthy";
    persistence.error = database.message;
    reasons.push(`database cannot be read: ${database.message}`);
    codes.add("database_unreadable");
  } else {
    persistence.schema_version = database.schemaVersion;
    if (facts.corruption) {
      persistence.status = "unhealthy";
      persistence.error = facts.corruption;
      reasons.push(facts.corruption);
      codes.add("database_corrupt");
    }
  }
  const disk = facts.disk;
  if (disk && disk.free_ratio < LOW_DISK_FREE_RATIO) {
    reasons.push(`disk holding the data volume is ${Math.round((1 - disk.free_ratio) * 100)}% full`);
    codes.add("disk_low");
  }
  if (facts.backupProblem) {
    reasons.push(`backups: ${facts.backupProblem}`);
    codes.add("backup_problem");
  }
  for (const reason of facts.offsiteReasons) {
    reasons.push(`offsite copies: ${reason}`);
    codes.add("offsite_problem");
  }
  // Last, and counted: the Overview shows these once, in the alert banner, not again as reasons.
  // The alert states live in the database: when it cannot be read, that is the one reason to give.
  const alertReasons = persistence.status === "unhealthy" ? [] : facts.alertReasons;
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
      exists: facts.vectorBytes !== null,
      bytes: facts.vectorBytes,
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
 * sizes, no alert or error text. Every part read now. Reads only.
 */
export async function getPublicHealth(): Promise<PublicHealthReport> {
  return publicView(await getHealth());
}

/**
 * /health by caller: the whole report for any identified caller (read is the least scope), the public
 * one otherwise. The database is probed for this answer; the other facts are at most
 * HEALTH_FACTS_MAX_AGE_MS old (keptFacts), so a probe storm costs one probe query per request. Reads only.
 */
export async function getHealthFor(caller: Principal | null): Promise<HealthReport | PublicHealthReport> {
  const [database, facts] = await Promise.all([probe(), keptFacts()]);
  const report = assemble(database, facts);
  return caller ? report : publicView(report);
}

function publicView(report: HealthReport): PublicHealthReport {
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
