import "server-only";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { volumeFolders } from "@/lib/config/data-root";
import { FILE_MODE, FOLDER_MODE } from "@/lib/files";
import { findModeDrift } from "@/lib/files";
import { BUSY_TIMEOUT_MS, getDb, JOURNAL_SIZE_LIMIT_BYTES } from "@/lib/db/client";
import { busyErrorStats, readSqliteFileStats, type CheckpointResult } from "@/lib/db/sqlite-maintenance";
import { WalCheckpointWorker } from "@/lib/db/sqlite-checkpoint-worker";
import { formatBytes, formatPercent, formatTimestamp, formatCountOf } from "@/lib/format";
import { getLastIntegrityResult } from "@/lib/maintenance/service";
import { getEngine } from "@/lib/db/engine/index";
import type { PostgresMaintenance } from "@/lib/db/engine/types";
import type { PgSession } from "@/lib/db/engine/postgres/maintenance";
import type { CheckStatus, TroubleshootingCheck } from "@/lib/maintenance/types";
import { DAY_MS } from "@/lib/time";

/** Free space under this share of a filesystem is a problem (writes fail soon: "disk I/O error"). */
const DISK_PROBLEM_RATIO = 0.05;
/** Under this share it is worth a warning. */
const DISK_WARNING_RATIO = 0.15;
/** An integrity result older than this is worth refreshing. */
const INTEGRITY_STALE_MS = 7 * DAY_MS;

/**
 * The guide's troubleshooting symptoms checked live: lock contention, disk space, integrity, and
 * file ownership and permissions, each with what was found and the fix in plain words. Runs one
 * PASSIVE WAL checkpoint on a worker thread (it only copies frames no reader needs), reused for
 * CHECKPOINT_PROBE_REUSE_MS; otherwise reads only.
 */
export async function runTroubleshootingChecks(): Promise<TroubleshootingCheck[]> {
  // Together: the checkpoint probe waits on its thread while the others stat and walk.
  return Promise.all([checkLocks(), checkDiskSpace(), checkIntegrity(), checkPermissions()]);
}

function worst(statuses: CheckStatus[]): CheckStatus {
  return statuses.includes("problem") ? "problem" : statuses.includes("warning") ? "warning" : "ok";
}

/**
 * Starting the checkpoint's worker thread and checkpointing took 90–210 ms of a Database page load on
 * a loaded machine; a snapshot held long enough to matter is held for minutes, so a page load reuses a
 * probe this young.
 */
const CHECKPOINT_PROBE_REUSE_MS = 30_000;
let lastProbe: { file: string; at: number; result: Promise<CheckpointResult> } | null = null;

/** One PASSIVE checkpoint, on its own thread: it fsyncs the database file, which must not stall the page's request. */
function probeCheckpoint(file: string): Promise<CheckpointResult> {
  if (lastProbe && lastProbe.file === file && Date.now() - lastProbe.at < CHECKPOINT_PROBE_REUSE_MS) return lastProbe.result;
  const worker = new WalCheckpointWorker(file);
  const result = worker.checkpoint("PASSIVE").finally(() => worker.close());
  const probe = { file, at: Date.now(), result };
  lastProbe = probe;
  // A failed probe is not reused: the next load tries again.
  result.catch(() => {
    if (lastProbe === probe) lastProbe = null;
  });
  return result;
}

async function checkLocks(): Promise<TroubleshootingCheck> {
  const postgres = getEngine().postgres;
  if (postgres) return checkPostgresLocks(postgres);
  const db = getDb();
  const file = getConfig().paths.database;
  const stats = readSqliteFileStats(db, file);
  const busy = busyErrorStats();
  const checkpoint = await probeCheckpoint(file);
  const findings: string[] = [];
  const fix: string[] = [];
  const statuses: CheckStatus[] = [];

  findings.push(
    `${formatCountOf(busy.count, '"database is locked" error')} since the server started${busy.last ? `, the last at ${formatTimestamp(busy.last)}` : ""}.`,
  );
  if (busy.count > 0) {
    statuses.push("warning");
    fix.push(
      `Writers waited longer than the ${BUSY_TIMEOUT_MS / 1000} s busy timeout. Look for another program writing to ${path.basename(file)} (a sqlite3 shell left open inside a transaction, a second server on the same volume) and close it.`,
    );
  }
  findings.push(`Journal mode is ${stats.journalMode}; busy timeout ${BUSY_TIMEOUT_MS} ms.`);
  if (stats.journalMode !== "wal") {
    statuses.push("problem");
    fix.push("The database is not in WAL mode, so readers and writers block each other. Restart the console: it switches the file to WAL when it opens it.");
  }
  const stuckFrames = checkpoint.logFrames - checkpoint.checkpointedFrames;
  findings.push(`WAL is ${formatBytes(stats.walBytes)} (kept under ${formatBytes(JOURNAL_SIZE_LIMIT_BYTES)} after checkpoints).`);
  if (checkpoint.logFrames > 0 && stuckFrames > 0) {
    statuses.push("warning");
    findings.push(`${stuckFrames} of ${checkpoint.logFrames} WAL frames could not be checkpointed: a connection is holding a long read transaction.`);
    fix.push(
      "Something keeps an old snapshot open (a long export, a sqlite3 shell inside BEGIN, a stuck script). Let it finish or close it; the WAL then shrinks at the next checkpoint.",
    );
  }
  return { id: "lock_contention", title: "Database locked", status: worst(statuses), findings, fix };
}

/** PostgreSQL's "database is locked": long transactions and lock waits from pg_stat_activity, with the fix. */
async function checkPostgresLocks(postgres: PostgresMaintenance): Promise<TroubleshootingCheck> {
  const report = await postgres.lockReport();
  const describe = (session: PgSession) =>
    `pid ${session.pid} (${session.application || session.user}, ${session.state})${session.transaction_seconds === null ? "" : ` in a transaction for ${Math.round(session.transaction_seconds)} s`}${session.blocked_by.length > 0 ? `, waiting for pid ${session.blocked_by.join(", ")}` : ""}.`;
  const findings = [
    `${formatCountOf(report.long_transactions.length, "long transaction")} open; ${formatCountOf(report.lock_waits.length, "session")} waiting for a lock.`,
    ...report.lock_waits.map(describe),
    ...report.long_transactions.map(describe),
  ];
  const status: CheckStatus = report.lock_waits.length > 0 || report.long_transactions.length > 0 ? "warning" : "ok";
  return { id: "lock_contention", title: "Database locked", status, findings, fix: report.fix };
}

async function checkDiskSpace(): Promise<TroubleshootingCheck> {
  const config = getConfig();
  const folders = { ...volumeFolders(config), backups: config.paths.backups };
  const findings: string[] = [];
  const statuses: CheckStatus[] = [];
  for (const [name, folder] of Object.entries(folders)) {
    try {
      const space = await fs.promises.statfs(folder);
      const total = space.blocks * space.bsize;
      const free = space.bavail * space.bsize;
      const ratio = total > 0 ? free / total : 0;
      findings.push(`${name} (${folder}): ${formatBytes(free)} free of ${formatBytes(total)} (${formatPercent(ratio)}).`);
      statuses.push(ratio < DISK_PROBLEM_RATIO ? "problem" : ratio < DISK_WARNING_RATIO ? "warning" : "ok");
    } catch (error) {
      findings.push(`${name} (${folder}): cannot be measured (${(error as NodeJS.ErrnoException).code ?? "error"}).`);
      statuses.push("warning");
    }
  }
  const status = worst(statuses);
  return {
    id: "disk_space",
    title: "Out of disk space",
    status,
    findings,
    fix:
      status === "ok"
        ? []
        : [
            "Run a retention cleanup to delete old execution history and its log files.",
            "Lower persistence.retention_days, then run VACUUM to give the freed space back.",
            "Delete old backup sets, or grow the disk behind the volume.",
          ],
  };
}

async function checkIntegrity(): Promise<TroubleshootingCheck> {
  const last = await getLastIntegrityResult();
  if (!last) {
    return {
      id: "integrity",
      title: "Corruption",
      status: "warning",
      findings: ["The database has not been checked yet."],
      fix: ["Run the integrity check in Maintenance above."],
    };
  }
  const findings = [
    `${last.mode} at ${formatTimestamp(last.checked_at)}: ${last.ok ? "ok" : formatCountOf(last.problems.length, "problem")}.`,
    ...last.problems.slice(0, 10),
  ];
  if (!last.ok) {
    return {
      id: "integrity",
      title: "Corruption",
      status: "problem",
      findings,
      fix: [
        "Restore the newest verified backup if you have one (Backups page).",
        "Otherwise run Recover: it writes a new database from everything still readable, shows what was and was not saved, and swaps it in only when you confirm, keeping a copy of the damaged file.",
      ],
    };
  }
  const stale = Date.now() - new Date(last.checked_at).getTime() > INTEGRITY_STALE_MS;
  return {
    id: "integrity",
    title: "Corruption",
    status: stale ? "warning" : "ok",
    findings,
    fix: stale ? ["The last check is over a week old; run it again."] : [],
  };
}

/** How many drifted entries the panel lists; the fix covers them all. */
const DRIFT_SHOWN = 5;

async function checkPermissions(): Promise<TroubleshootingCheck> {
  const config = getConfig();
  const uid = process.getuid?.() ?? null;
  const findings: string[] = [];
  const fix: string[] = [];
  const statuses: CheckStatus[] = [];
  const expect = (target: string, mode: number, kind: "file" | "folder") => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(target);
    } catch {
      return;
    }
    const actual = stat.mode & 0o777;
    const wrongOwner = uid !== null && stat.uid !== uid;
    const tooOpen = (actual & ~mode) !== 0;
    const text = `${target}: mode ${actual.toString(8).padStart(4, "0")}, owner uid ${stat.uid}`;
    if (wrongOwner) {
      statuses.push("problem");
      findings.push(`${text}: not owned by the service user (uid ${uid}).`);
      fix.push(`chown ${uid} ${target}   # the console must own its ${kind}s to write them`);
    } else if (tooOpen) {
      statuses.push("warning");
      findings.push(`${text}: other users can read it.`);
      fix.push(`chmod ${mode.toString(8)} ${target}   # only the service user should read this ${kind}`);
    } else {
      findings.push(`${text}: ok.`);
    }
  };
  const database = config.paths.database;
  for (const suffix of ["", "-wal", "-shm"]) expect(database + suffix, FILE_MODE, "file");
  for (const folder of new Set([path.dirname(database), ...Object.values(volumeFolders(config)), config.paths.backups])) expect(folder, FOLDER_MODE, "folder");
  // Every other file and folder in the volumes: what a `cp` or `tar x` by hand may have left readable.
  const { drift, checked, truncated } = await findModeDrift([...Object.values(volumeFolders(config)), config.paths.backups]);
  if (drift.length > 0) {
    statuses.push("warning");
    findings.push(`${drift.length} of ${checked} entries in the volumes${truncated ? " (first part checked)" : ""} can be read by other users, e.g.:`);
    for (const entry of drift.slice(0, DRIFT_SHOWN)) findings.push(`${entry.path}: mode ${entry.mode}, expected ${entry.expected}.`);
    fix.push(`chmod -R go-rwx ${Object.values(volumeFolders(config)).join(" ")} ${config.paths.backups}   # only the service user should read the data`);
  } else {
    findings.push(`All ${checked} entries in the volumes${truncated ? " checked" : ""} are private to the service user.`);
  }
  return { id: "permissions", title: "Permission issues", status: worst(statuses), findings, fix };
}
