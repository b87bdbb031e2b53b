// The offline CLI: `npm run mimir -- backup|verify|restore|prune|list|pull`. It calls the same lib code
// as the server's routes, on the data root the environment names (MIMIR_HOME, MIMIR_*_DIR), and
// works while the server is stopped, as the guide's "stop, restore, start" flow needs.
import { parseArgs } from "node:util";
import { openDataRoot } from "@/lib/boot";
import { getConfig } from "@/lib/config/service";
import { closeAppDatabase } from "@/lib/db/client";
import { closeRestoredBacklog, deliveryIdle } from "@/lib/notify/delivery";
import { failInterruptedOperations, getOperation, listOperations } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import { isAppError } from "@/lib/errors";
import { formatBytes, formatTimestamp } from "@/lib/format";
import { describeServer, lockDataRoot, runningServer } from "@/lib/backups/server-lock";
import { replacedDataRemoved, writeSafetySet } from "@/lib/backups/restore-set";
import { listBackups, syncBackupCatalog } from "@/lib/backups/catalog";
import { pruneBackups, restoreBackup, startBackup } from "@/lib/backups/service";
import { verifyAllBackups, verifyBackupSet } from "@/lib/backups/verify";
import { BACKUP_ID_PATTERN } from "@/lib/backups/inputs";
import type { BackupVolume } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { getDestinationByNameOrId } from "@/lib/offsite/destinations";
import { listRemoteSets, pullSet } from "@/lib/offsite/remote-sets";
import type { AppConfig } from "@/lib/config/load";
import type { TransferProgress } from "@/lib/db/transfer/progress";

const USAGE = `Usage: npm run mimir -- <command>
  backup                         write a new backup set and verify it
  verify <id> | --all            re-run the restore drill on one set, or on every set
  restore <id> --yes [--volumes mimir_data,mimir_pipelines]
                                 replace live volumes with a set's (server must be stopped)
  prune [--dry-run]              delete sets past backups.keep_days, with the guard rails
  list                           the sets, newest first
  pull <destination> [<id>]      without an id: the sets an offsite destination holds; with one: copy
                                 that set into the backups folder, checked against its manifest, then
                                 verified (restore it with 'restore' after)
  migrate-to-postgres --to <url> [--dry-run] [--keep-config]
                                 copy the SQLite database into an empty PostgreSQL database (server
                                 must be stopped), verify it, then set persistence.backend: postgres
  migrate-to-sqlite --to <file> [--from <url>] [--dry-run] [--keep-config]
                                 the way back: PostgreSQL (the configured one, or --from) into a new
                                 SQLite file, verified, then persistence.backend: sqlite`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      yes: { type: "boolean" },
      all: { type: "boolean" },
      "dry-run": { type: "boolean" },
      volumes: { type: "string" },
      to: { type: "string" },
      from: { type: "string" },
      "keep-config": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, id, pullId] = positionals;
  if (!command || values.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }

  const config = getConfig();
  if (command === "migrate-to-postgres" || command === "migrate-to-sqlite") return migrateBackend(command, config, values);
  let server = runningServer(config);
  // A restore holds the data root's lock as a server does: no server may start, nor a second restore, while it swaps volumes.
  if (command === "restore" && (server !== null || !lockDataRoot(config, "restore"))) {
    server ??= runningServer(config) ?? { pid: null, role: "server" };
    console.error(`${describeServer(server)} is running on ${config.paths.home}. Stop it before restoring from the CLI, or restore from its Backups page.`);
    return 1;
  }
  // Folders, database and migrations as the server opens them; with no server on this root, a
  // restore a killed process left half done is rolled back there, and its operations marked failed.
  await openDataRoot(config);
  if (server === null) await failInterruptedOperations();
  await syncBackupCatalog();
  // A restore killed after its swap kept what it replaced aside: that becomes its safety set first.
  if (server === null) {
    const safetySet = await writeSafetySet({ message: (text) => process.stderr.write(`${text} (a restore was interrupted after its swap)\n`) });
    if (safetySet) process.stderr.write(`wrote the safety set ${safetySet}\n`);
  }

  try {
    switch (command) {
      case "backup": {
        const op = await follow(await startBackup(null, "cli"), "backup");
        if (op.status !== "succeeded") return fail(op);
        console.log(JSON.stringify(op.result, null, 2));
        // The set's offsite copies start once it passed its drill; this process stays until they end.
        const [copy] = (await listOperations({ limit: 1, kind: "offsite_copy" })).items;
        if (copy?.status === "running") {
          const copied = await follow(copy, "offsite copy");
          if (copied.status !== "succeeded") return fail(copied);
          console.log(JSON.stringify(copied.result, null, 2));
        }
        return 0;
      }
      case "verify": {
        if (values.all) {
          const result = await verifyAllBackups();
          console.log(JSON.stringify(result, null, 2));
          return result.failed.length === 0 ? 0 : 1;
        }
        requireId(id);
        console.log(JSON.stringify(await verifyBackupSet(id, { progress: progressLine("verify") }), null, 2));
        return 0;
      }
      case "restore": {
        requireId(id);
        if (!values.yes) {
          console.error(
            `Restoring ${id} replaces the live volumes (${values.volumes ?? "all five"}); what they hold now is kept aside and written into a safety set. Add --yes to go ahead.`,
          );
          return 2;
        }
        const volumes = parseVolumes(values.volumes);
        const result = await restoreBackup(id, volumes, { progress: progressLine("restore"), message: (text) => process.stderr.write(`\n${text}\n`) });
        // The server does this when it reopens the restored database; offline, nothing else would, and
        // the next start would send the set's old pending notifications.
        if (volumes.includes("mimir_data")) await closeRestoredBacklog();
        console.log(JSON.stringify(result, null, 2));
        // The replaced data is deleted after the swap; finish that before the process exits.
        await replacedDataRemoved();
        return 0;
      }
      case "prune":
        console.log(JSON.stringify(await pruneBackups({ dryRun: values["dry-run"] ?? false }, null), null, 2));
        return 0;
      case "list": {
        const page = await listBackups({ limit: 1000 });
        if (page.items.length === 0) console.log("No backup sets yet.");
        for (const set of page.items) {
          console.log(
            `${set.id}  ${formatTimestamp(set.created_at)}  ${formatBytes(set.bytes).padStart(9)}  ${set.trigger.padEnd(11)} ${set.encrypted ? "encrypted" : "plain    "}  verified: ${set.verify_status ?? "never"}`,
          );
        }
        return 0;
      }
      case "pull": {
        if (!id) throw new Error("Name a destination (its name or id): npm run mimir -- pull <destination> [<set id>]");
        const destination = await getDestinationByNameOrId(id);
        if (!pullId) {
          const sets = await listRemoteSets(destination.id);
          if (sets.length === 0) console.log(`${destination.name} holds no backup sets.`);
          for (const set of sets) {
            console.log(
              `${set.id}  ${formatTimestamp(set.created_at)}  ${formatBytes(set.bytes).padStart(9)}  ${set.encrypted ? "encrypted" : "plain    "}  ${set.complete ? "complete" : "INCOMPLETE"}${set.local ? "  (also here)" : ""}`,
            );
          }
          return 0;
        }
        requireId(pullId);
        const result = await pullSet(destination.id, pullId, { progress: progressLine("pull"), message: (text) => process.stderr.write(`\n${text}\n`) });
        process.stderr.write("\n");
        console.log(JSON.stringify(result, null, 2));
        return result.verify_status === "ok" ? 0 : 1;
      }
      default:
        console.error(`Unknown command '${command}'.\n${USAGE}`);
        return 2;
    }
  } finally {
    // A failed backup queues its notification and starts sending it here: finish before the database
    // closes, so no delivery is left claimed and half-sent by a process that exited.
    await deliveryIdle();
    await closeAppDatabase();
  }
}

/**
 * migrate-to-postgres / migrate-to-sqlite: under the data root's lock (no server may run on this data
 * while its database is copied, or what it writes meanwhile would be missing from the copy), without
 * opening the data root (that would migrate, and so write, the SQLite file that is the way back).
 */
async function migrateBackend(
  command: string,
  config: AppConfig,
  values: { to?: string; from?: string; "dry-run"?: boolean; "keep-config"?: boolean },
): Promise<number> {
  if (!values.to) {
    console.error(
      command === "migrate-to-postgres" ? "Name the target: --to postgres://user@host:5432/database" : "Name the new file: --to ./data/mimir-from-postgres.db",
    );
    return 2;
  }
  const server = runningServer(config);
  if (server !== null || !lockDataRoot(config, "migrate")) {
    console.error(
      `${describeServer(server ?? runningServer(config) ?? { pid: null, role: "server" })} is running on ${config.paths.home}. Stop it first: what it wrote during the copy would be missing from the copy.`,
    );
    return 1;
  }
  // Imported here: the backup commands need neither pg nor the PostgreSQL schema.
  const migrate = await import("@/lib/maintenance/migrate-backend");
  const options = { writeConfig: !values["keep-config"], onProgress: transferProgressLine(), onMessage: (text: string) => console.error(text) };
  const toPostgres = command === "migrate-to-postgres";
  const from = values.from ?? config.values.persistence.connection_string;
  if (!toPostgres && !from) {
    console.error("Name the PostgreSQL database to copy from: --from postgres://… (or set persistence.connection_string)");
    return 2;
  }
  try {
    if (values["dry-run"]) {
      const preflight = toPostgres ? await migrate.preflightSqliteToPostgres(values.to) : await migrate.preflightPostgresToSqlite(from, values.to);
      for (const note of preflight.notes) console.error(note);
      for (const [table, rows] of Object.entries(preflight.sourceRows)) console.log(`${table.padEnd(28)} ${rows.toLocaleString("en-US").padStart(12)} rows`);
      return reportProblems(preflight.problems) ? 1 : 0;
    }
    const result = toPostgres ? await migrate.migrateSqliteToPostgres(values.to, options) : await migrate.migratePostgresToSqlite(from, values.to, options);
    process.stderr.write("\n");
    console.log(
      `${"table".padEnd(28)} ${"source rows".padStart(12)} ${"target rows".padStart(12)}  ${"source checksum".padEnd(16)}  ${"target checksum".padEnd(16)}`,
    );
    for (const t of result.tables) {
      console.log(
        `${t.table.padEnd(28)} ${t.sourceRows.toLocaleString("en-US").padStart(12)} ${t.targetRows.toLocaleString("en-US").padStart(12)}  ${t.sourceChecksum}  ${t.targetChecksum}  ${t.ok ? "ok" : "MISMATCH"}`,
      );
    }
    console.log(
      `${result.rows.toLocaleString("en-US")} rows in ${result.seconds.toFixed(1)} s (copy ${result.copySeconds.toFixed(1)} s, verify ${result.verifySeconds.toFixed(1)} s) into ${result.target}`,
    );
    if (result.source_sha256_before)
      console.log(`${config.paths.database} unchanged: sha256 ${result.source_sha256_after} before and after; it is the way back.`);
    console.log(
      result.config_written
        ? `config.yaml now says persistence.backend: ${toPostgres ? "postgres" : "sqlite"}. Start the server to use it; anything written after this point is not in the ${toPostgres ? "SQLite file" : "PostgreSQL database"}.`
        : "config.yaml was left as it was (--keep-config).",
    );
    if (toPostgres) console.log(`${config.paths.vectorDb} (the vector database) stays a file in mimir_data.`);
    return 0;
  } catch (error) {
    process.stderr.write("\n");
    if (isAppError(error) && error.code === "preflight_failed" && Array.isArray(error.details)) {
      reportProblems(error.details as string[]);
      return 1;
    }
    throw error;
  }
}

function reportProblems(problems: string[]): boolean {
  if (problems.length === 0) {
    console.error("Preflight: no problems found.");
    return false;
  }
  console.error(`Refused: ${problems.length} problem(s) to fix first; nothing was changed.`);
  for (const problem of problems) console.error(`  - ${problem}`);
  return true;
}

function transferProgressLine() {
  return (p: TransferProgress) => {
    const eta = p.etaSeconds === null ? "" : `  ETA ${Math.floor(p.etaSeconds / 60)}:${String(Math.round(p.etaSeconds % 60)).padStart(2, "0")}`;
    if (p.phase === "index") {
      process.stderr.write(`\rbuilding  ${p.table.padEnd(26)} ${p.done} of ${p.total} indexes and foreign keys${eta}   `);
      return;
    }
    process.stderr.write(
      `\r${p.phase === "copy" ? "copying  " : "verifying"} ${p.table.padEnd(26)} ${p.done.toLocaleString("en-US")} of ${p.total.toLocaleString("en-US")} rows  ${Math.round(p.rowsPerSecond).toLocaleString("en-US")} rows/s${eta}   `,
    );
  };
}

function requireId(id: string | undefined): asserts id is string {
  if (!id || !BACKUP_ID_PATTERN.test(id)) throw new Error(`Name a backup id like 20250115-020000 (see 'npm run mimir -- list')`);
}

function parseVolumes(text: string | undefined): BackupVolume[] {
  if (!text) return [...VOLUMES];
  const volumes = text.split(",").map((v) => v.trim());
  const unknown = volumes.filter((v) => !(VOLUMES as readonly string[]).includes(v));
  if (unknown.length > 0) throw new Error(`Unknown volume(s): ${unknown.join(", ")}; choose from ${VOLUMES.join(", ")}`);
  return volumes as BackupVolume[];
}

function progressLine(label: string) {
  let last = 0;
  return (done: number, total: number) => {
    if (Date.now() - last < 500 && done < total) return;
    last = Date.now();
    process.stderr.write(`\r${label}: ${formatBytes(done)} of ${formatBytes(total)}   `);
  };
}

async function follow(op: OperationDto, label: string): Promise<OperationDto> {
  const show = progressLine(label);
  for (;;) {
    const current = await getOperation(op.id);
    if (current.status !== "running") {
      process.stderr.write("\n");
      return current;
    }
    show(current.progress.done, current.progress.total ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function fail(op: OperationDto): number {
  console.error(`${op.kind} ${op.status}: ${op.error?.message ?? "no reason recorded"}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
