import "server-only";

/**
 * Process-wide state. Next.js compiles instrumentation and each route into separate bundles, so a
 * module-level `let` exists once per bundle; a slot here exists once per process (the instrumentation
 * bundle starts the scheduler, a route bundle reschedules a job: both must see one state). Add a slot
 * only for state that must be shared (connections, timers, locks, listeners, registries, work in
 * flight); a cache that is fine per bundle stays a module-level variable.
 */
export const PROCESS_SLOTS = [
  "db",
  "dbReopenListeners",
  "config",
  "configListeners",
  "logger",
  "processLocks",
  "writeGate",
  "writeFreeze",
  "operations",
  "jobListeners",
  "builtinPlugins",
  "builtinJobs",
  "scheduler",
  "activeRuns",
  "adhocRuns",
  "pipelineWatcher",
  "walkWorkers",
  "storageUsage",
  "storageSampler",
  "metrics",
  "metricsTableScans",
  "sqliteReadWorker",
  "postgresBackgroundPasses",
  "outboundAgent",
  "requestGate",
  "requestActivity",
  "directRoutes",
  "routeLabels",
  "restoreDiscard",
  "auditPrune",
  "auditRefusals",
  "auditScope",
  "peerAddress",
  "phaseHooks",
  "integrity",
  "busyErrors",
  "activeTempFolders",
  "notifier",
  "stepChecker",
  "jobChangesTimer",
  "shutdownHandlers",
  "backupSetVerifiedListeners",
  "schemaBackend",
  "pgConsole",
  "instance",
  "clusterTimers",
  "writeLockWaiters",
  "autoCheckpointHolds",
  "freedMemory",
] as const;

export type ProcessSlot = (typeof PROCESS_SLOTS)[number];

/** The process's one value for `slot`, made by `create` on first use. The caller names the type; one slot, one type. */
export function processState<T>(slot: ProcessSlot, create: () => T): T {
  const store = globalThis as unknown as Record<symbol, unknown>;
  const key = Symbol.for(`mimir.${slot}`);
  if (!(key in store)) store[key] = create();
  return store[key] as T;
}
