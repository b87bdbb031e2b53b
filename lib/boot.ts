import "server-only";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import type { AppConfig } from "@/lib/config/load";
import { configureLogging } from "@/lib/log/logger";
import { appDatabaseLocation, closeAppDatabase, closeDatabase, isAppDatabaseOpen, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase, type MigrationReport } from "@/lib/db/migrate";
import { openIdleConnections, openPostgresAppDatabase } from "@/lib/db/postgres";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { bindSchemaBackend } from "@/lib/db/schema/select";
import { seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { installPeerAddressHeader } from "@/lib/client-address";
import { bootScheduler } from "@/lib/scheduler/boot";
import { registerBuiltins } from "@/lib/builtins";
import { startStorageSampler } from "@/lib/storage/sampler";
import { startReleasingFreedMemory } from "@/lib/freed-memory";
import { startNotifier } from "@/lib/notify/delivery";
import { runningServer, takeServerLock } from "@/lib/backups/server-lock";
import { recoverInterruptedRestore } from "@/lib/backups/restore-set";
import { resumeInterruptedVerifies } from "@/lib/backups/verify";
import { resumeSafetySet } from "@/lib/backups/service";
import { syncBackupCatalog } from "@/lib/backups/catalog";
import { cleanLeftovers } from "@/lib/backups/store";
import { installShutdownHandlers } from "@/lib/shutdown";
import { joinDeployment } from "@/lib/scheduler/cluster";
import { countOtherLiveInstances } from "@/lib/instances/service";
import { assertSharedDataRoot } from "@/lib/instances/data-root";
import { failInterruptedCopies } from "@/lib/offsite/plugin";
import { setStepChecker } from "@/lib/pipelines/step-checks";
import { checkStepPlugin } from "@/lib/scheduler/plugin-catalog";

/** Whether several instances may share this deployment's database (PostgreSQL), so the volumes must be shared too. */
function persistenceIsShared(config: AppConfig): boolean {
  return config.values.persistence.backend === "postgres";
}

/** Every file this process creates is private to the service account (0600 files, 0700 folders). */
const PRIVATE_UMASK = 0o077;

/**
 * What the server and every CLI command need first: the built-in plugins and jobs registered (a
 * pipeline's steps are judged by them), the folders, and the database open and migrated (an existing
 * Mimir AIP database is adopted). Creates folders and the database file when missing.
 */
export async function openDataRoot(config: AppConfig): Promise<MigrationReport> {
  process.umask(PRIVATE_UMASK);
  registerBuiltins();
  ensureDataRoot(config);
  const persistence = config.values.persistence;
  if (persistence.backend === "postgres") {
    const report = await openPostgresAppDatabase(persistence.connection_string, persistence.pool);
    // A restore killed during its swap is finished the way its database transaction went: forward if
    // it committed, back if not (never under a live server).
    if (runningServer(config) === null) await recoverInterruptedRestore();
    return { adopted: false, preAdoptionSnapshot: null, normalisedTimestamps: 0, ...report };
  }
  bindSchemaBackend("sqlite");
  // A restore killed during its swap is rolled back before anything opens the database (never under a live server).
  if (runningServer(config) === null) await recoverInterruptedRestore();
  const db = openDatabase(config.paths.database);
  try {
    const report = migrateDatabase(db, config.paths.database);
    setAppDatabase(db, config.paths.database);
    return report;
  } catch (error) {
    closeDatabase(db);
    throw error;
  }
}

/**
 * Boot, once per server process: config → folders → log → database + migrations → credentials →
 * recovery of interrupted work. Throws on anything that would leave the server unable to serve;
 * the caller exits non-zero.
 */
export async function boot(): Promise<void> {
  const config = getConfig();
  process.umask(PRIVATE_UMASK);
  // Before the first request: the audit log and the sign-in limits need the socket's address.
  installPeerAddressHeader();
  takeServerLock(config);
  const report = await openDataRoot(config);
  const log = configureLogging(config);
  try {
    if (report.adopted) {
      log.warn("adopted an existing Mimir AIP database", {
        database: config.paths.database,
        snapshot: report.preAdoptionSnapshot && path.basename(report.preAdoptionSnapshot),
        normalisedTimestamps: report.normalisedTimestamps,
      });
    }
    // Next.js ends the process with exit(143) on SIGTERM; closing here checkpoints the WAL into mimir.db.
    process.once("exit", () => void closeAppDatabase());
    await seedCredentialsFromEnvironment(config);
    await syncBackupCatalog();
    // Several instances on one PostgreSQL must share the volumes: a second one on other folders stops here.
    const dataRootId = persistenceIsShared(config) ? await assertSharedDataRoot(config, await countOtherLiveInstances()) : null;
    // Closes the work of instances that stopped while it ran (on SQLite: the last process); never a live instance's.
    await joinDeployment(dataRootId);
    // What only a deployment with no other live instance may clean up: another's copy or half-written set is its live work.
    const alone = (await countOtherLiveInstances()) === 0;
    if (alone) {
      await failInterruptedCopies();
      // Half-written sets and scratch folders of work the last process did not finish: nothing runs yet.
      const removed = cleanLeftovers();
      if (removed.length > 0) log.info("removed leftovers of interrupted backup work", { removed });
    }
    // Saving and validating a pipeline check its steps against the plugins that exist.
    setStepChecker(checkStepPlugin);
    await bootScheduler(config);
    await startNotifier();
    startStorageSampler();
    startReleasingFreedMemory();
    installShutdownHandlers();
    if (alone) {
      await resumeInterruptedVerifies();
      // A restore killed after its swap: what it replaced is still kept aside, and becomes its safety set now.
      await resumeSafetySet();
    }
    // The pool's idle connections open now rather than on the first requests' way.
    const pool = appPostgresPool();
    if (pool) await openIdleConnections(pool, config.values.persistence.pool.max_idle);
    log.info("booted", {
      home: config.paths.home,
      // the file, or host/port/database on PostgreSQL: never the connection string (it holds the password)
      database: appDatabaseLocation(),
      schemaVersion: report.schemaVersion,
      appliedMigrations: report.appliedMigrations,
      configFile: config.configFileExists ? config.configFile : null,
      unknownConfigKeys: config.unknownKeys,
    });
  } catch (error) {
    if (isAppDatabaseOpen()) await closeAppDatabase();
    throw error;
  }
}
