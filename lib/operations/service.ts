import "server-only";
import { processState } from "@/lib/process-state";
import crypto from "node:crypto";
import { z } from "zod";
import { AppError, notFound } from "@/lib/errors";
import { toAppError } from "@/lib/to-app-error";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { decodeCursor, toPage, type Page, type PageQuery } from "@/lib/pagination";
import { scopeAllows, type Principal, type Scope } from "@/lib/auth/scopes";
import * as queries from "@/lib/operations/queries";
import { actingFor, currentActor, type AuditActor } from "@/lib/audit/context";
import { OPERATION_KINDS, type OperationDto, type OperationKind } from "@/lib/operations/types";
import type { OperationRow } from "@/lib/db/schema/operations";
import { formatCountOf } from "@/lib/format";
import { JOB_STARTS_LOCK, withClusterLock } from "@/lib/db/dialect";
import { currentInstanceId } from "@/lib/instances/service";
import { exemptFromFreeze, exemptFromFreezeSync } from "@/lib/db/write-freeze";
import { releasingFreedMemory } from "@/lib/freed-memory";

/** Progress is written at most this often: a backup reports thousands of chunks a second. */
const PROGRESS_WRITE_INTERVAL_MS = 250;

export interface OperationContext {
  id: string;
  /** aborted by cancelOperation(); long work checks it between chunks */
  signal: AbortSignal;
  /** reports progress: `done` of `total` units (bytes, rows, files, steps) */
  progress(done: number, total?: number | null, unit?: string): void;
  /** a short human line shown under the progress bar ("archiving mimir_logs") */
  message(text: string): void;
  /**
   * Declares that the work is now changing live data and will finish: throws the cancellation if one
   * came first (so nothing has changed yet), else refuses every later cancel with 409 too_late and
   * `reason` ("the restore is being applied"). Synchronous, so no cancel can slip in between.
   */
  pointOfNoReturn(reason: string): void;
}

export interface StartOptions {
  kind: OperationKind;
  principal: Principal | null;
  params?: unknown;
  /** restore and reset: nothing else may run beside them, and they may not start beside anything */
  exclusive?: boolean;
  /** refuse a second operation of the same kind while one runs (two backups at once) */
  singleton?: boolean;
  /**
   * The scope a caller needs to start this work, and so to cancel it (a write token must not stop an
   * admin's restore). Default admin: a kind that forgets to say is cancellable by admins only.
   */
  scope?: Scope;
  /**
   * The switch to PostgreSQL freezes every write (lib/db/write-freeze.ts) but its own: its progress and
   * outcome are written meanwhile. Only that operation says so.
   */
  writesWhileFrozen?: boolean;
}

/** The columns of an operation's row once it succeeded with `result`: what startOperation writes, for a copy of that outcome written elsewhere too. */
export function succeededOperationChange(result: unknown): { status: "succeeded"; result: string; finishedAt: string } {
  return { status: "succeeded", result: JSON.stringify(result ?? null), finishedAt: nowIso() };
}

interface RunningOperation {
  controller: AbortController;
  kind: OperationKind;
  scope: Scope;
  /** set once the work passed its point of no return: why a cancel now comes too late */
  tooLate: string | null;
  writesWhileFrozen: boolean;
}

// Process-wide, like the database handle: an operation started by a route bundle must be cancellable
// from another, and the exclusivity check must see every start in the process.
const state = processState("operations", (): { running: Map<string, RunningOperation>; starting: Promise<unknown> } => ({
  running: new Map(),
  starting: Promise.resolve(),
}));
const running = state.running;

/**
 * Starts long work and returns at once with its operation (status running); progress, result and
 * error are persisted to the operations table as the work goes. Throws 409 when an exclusive
 * operation (or, with `singleton`, one of the same kind) is running. Inserts one operations row.
 */
export async function startOperation<R>(
  options: StartOptions & {
    /** runs once the operation succeeded and has given up its slot, e.g. a restore starting the verify of its safety set; a failure is logged */
    after?: (result: R) => Promise<unknown>;
  },
  work: (ctx: OperationContext) => Promise<R>,
): Promise<OperationDto> {
  // Admission is serialised so the check-then-insert of the exclusivity rule cannot interleave.
  const admitted = state.starting.then(() => admit(options));
  state.starting = admitted.catch(() => undefined);
  const id = await admitted;
  // The operation records its own outcome in the audit log (a restore's row says how it ended), so the
  // request that started it adds none; its rows carry the starter's address.
  const starter = currentActor();
  if (starter) starter.recorded = true;
  const operationActor: AuditActor = { principal: options.principal, ip: starter?.ip ?? null, open: true, recorded: false };

  const controller = new AbortController();
  const owner = currentInstanceId();
  // A write refused because another instance declared this one dead and failed the operation meanwhile.
  const refused = (what: string) => {
    getLogger().warn(`refused a late ${what} of an operation this instance no longer owns`, { id, kind: options.kind, instance: owner });
    if (!controller.signal.aborted) controller.abort(new AppError("interrupted", NO_LONGER_OWNED));
  };
  const entry: RunningOperation = {
    controller,
    kind: options.kind,
    scope: options.scope ?? "admin",
    tooLate: null,
    writesWhileFrozen: options.writesWhileFrozen ?? false,
  };
  running.set(id, entry);
  let lastWrite = 0;
  let pending: Partial<Parameters<typeof queries.updateOperation>[1]> = {};
  // Progress writes go one after another, and the outcome waits for the last: on a pool they would
  // otherwise race on several connections, and a progress write landing after the outcome reads as refused.
  let writes = Promise.resolve();
  const flush = (): Promise<void> => {
    const set = pending;
    pending = {};
    lastWrite = Date.now();
    if (Object.keys(set).length > 0)
      writes = writes.then(() =>
        queries
          .updateOwnedOperation(id, owner, set)
          .then((landed) => void (landed || refused("progress write")))
          .catch((error) => void getLogger().warn("progress write failed", { id, error })),
      );
    return writes;
  };
  const context: OperationContext = {
    id,
    signal: controller.signal,
    progress(done, total, unit) {
      pending.progressDone = Math.round(done);
      if (total !== undefined) pending.progressTotal = total === null ? null : Math.round(total);
      if (unit !== undefined) pending.progressUnit = unit;
      if (Date.now() - lastWrite >= PROGRESS_WRITE_INTERVAL_MS) void flush();
    },
    message(text) {
      pending.message = text;
      if (Date.now() - lastWrite >= PROGRESS_WRITE_INTERVAL_MS) void flush();
    },
    pointOfNoReturn(reason) {
      controller.signal.throwIfAborted();
      entry.tooLate = reason;
    },
  };

  const run = (body: () => Promise<void>) => (options.writesWhileFrozen ? exemptFromFreeze(body) : body());
  void run(() =>
    actingFor(operationActor, async () => {
      let succeeded: { result: R } | null = null;
      try {
        const result = await releasingFreedMemory(() => work(context));
        await flush();
        // Work that returned has done what it set out to do, whatever a late cancel asked for: the
        // record says so, so nobody believes a restore that was applied did not happen.
        if (await queries.updateOwnedOperation(id, owner, succeededOperationChange(result))) succeeded = { result };
        else refused("completion");
      } catch (error) {
        await flush();
        const appError = toAppError(error);
        const cancelled = controller.signal.aborted;
        if (!cancelled) getLogger().error("operation failed", { id, kind: options.kind, error });
        // A cancel says who or what stopped the work (a person, or the server shutting down).
        const reason = cancelled ? cancelReason(controller.signal) : null;
        await queries
          .updateOwnedOperation(id, owner, {
            status: cancelled ? "cancelled" : "failed",
            error: JSON.stringify(reason ?? { code: appError.code, message: appError.message }),
            finishedAt: nowIso(),
          })
          .then((landed) => landed || refused("completion"))
          .catch((writeError) => getLogger().error("operation result write failed", { id, writeError }));
      } finally {
        running.delete(id);
      }
      if (succeeded && options.after)
        await options.after(succeeded.result).catch((error) => getLogger().error("follow-up of an operation failed", { id, kind: options.kind, error }));
    }),
  );

  return getOperation(id);
}

/** Why an operation stops when its row was taken from this instance (another declared it dead while it was paused or cut off). */
const NO_LONGER_OWNED = "This instance no longer owns the operation: another instance declared it stopped and failed the operation";

/** How a 409 names the instance doing the running work. */
function onInstance(op: OperationRow): string {
  return op.ownerInstance ? ` on instance ${op.ownerInstance.slice(0, 8)}` : "";
}

/**
 * Admits an operation and inserts its row, owned by this instance. Cluster-wide: the check and the
 * insert run under one lock (a PostgreSQL advisory lock; on SQLite one server owns the database), so
 * two instances asked at the same moment cannot both admit a backup.
 */
async function admit(options: StartOptions): Promise<string> {
  // An exclusive operation also holds JOB_STARTS_LOCK while it is admitted: a job run's start either
  // committed before this row exists (it runs on, like a run already under way) or sees the row.
  return withClusterLock(options.exclusive ? ["operations-admit", JOB_STARTS_LOCK] : "operations-admit", async () => {
    const active = await queries.listRunningOperations();
    const exclusive = active.find((op) => op.exclusive);
    if (exclusive) {
      throw new AppError("operation_running", `A ${exclusive.kind} is running${onInstance(exclusive)}; try again when it has finished`, {
        details: { operation_id: exclusive.id, instance: exclusive.ownerInstance },
      });
    }
    if (options.exclusive && active.length > 0) {
      throw new AppError(
        "operation_running",
        `${formatCountOf(active.length, "operation")} ${active.length === 1 ? "is" : "are"} running (${active.map((op) => `${op.kind}${onInstance(op)}`).join(", ")}); ${options.kind} needs them finished first`,
        {
          details: { operation_ids: active.map((op) => op.id) },
        },
      );
    }
    const same = options.singleton ? active.find((op) => op.kind === options.kind) : undefined;
    if (same) {
      throw new AppError("operation_running", `A ${options.kind} is already running${onInstance(same)} (operation ${same.id})`, {
        details: { operation_id: same.id, instance: same.ownerInstance },
      });
    }

    const id = crypto.randomUUID();
    const now = nowIso();
    await queries.insertOperation({
      id,
      kind: options.kind,
      status: "running",
      exclusive: options.exclusive ?? false,
      params: options.params === undefined ? null : JSON.stringify(options.params),
      createdBy: options.principal?.name ?? "system",
      createdAt: now,
      startedAt: now,
      ownerInstance: currentInstanceId(),
    });
    return id;
  });
}

/** What holds every instance's jobs back: the running exclusive operation and the instance that runs it. */
export interface SchedulerPause {
  operation_id: string;
  kind: string;
  instance: string | null;
}

/**
 * The pause every instance's scheduler and "Run now" honour while a restore, a reset or a move to
 * PostgreSQL runs anywhere in the deployment, or null. It is the operation's own row, so it lifts
 * however the operation ends: finished, failed, cancelled, or failed by a survivor when its instance
 * died (its lease expired). Reads one row.
 */
export async function findSchedulerPause(): Promise<SchedulerPause | null> {
  const row = await queries.findRunningExclusiveOperation();
  return row ? { operation_id: row.id, kind: row.kind, instance: row.ownerInstance } : null;
}

/** The 409 a run asked for during a pause answers, naming the operation and its instance. */
export function pausedByOperation(pause: SchedulerPause): AppError {
  const on = pause.instance ? ` on instance ${pause.instance.slice(0, 8)}` : "";
  return new AppError("operation_running", `A ${pause.kind} is running${on}: jobs do not run on any instance until it has finished`, {
    details: { operation_id: pause.operation_id, instance: pause.instance },
  });
}

/** One operation, or 404. */
export async function getOperation(id: string): Promise<OperationDto> {
  const row = await queries.findOperation(id);
  if (!row) throw notFound("Operation", id);
  return queries.toOperationDto(row);
}

const operationCursor = z.object({ created_at: z.string(), id: z.string() });

/** Operations newest first, paged. */
export async function listOperations(query: PageQuery & { kind?: string }): Promise<Page<OperationDto>> {
  // A kind the console never starts has no operations (the query accepts any well-formed name).
  if (query.kind !== undefined && !(OPERATION_KINDS as readonly string[]).includes(query.kind)) return { items: [], next_cursor: null };
  const after = decodeCursor(query.cursor, operationCursor);
  const rows = await queries.listOperationRows(query.limit, after, query.kind as OperationKind | undefined);
  const page = toPage(rows, query.limit, (row) => ({ created_at: row.createdAt, id: row.id }));
  return { items: page.items.map(queries.toOperationDto), next_cursor: page.next_cursor };
}

/**
 * Asks a running operation to stop; it ends as cancelled at its next check. The caller needs the
 * scope the operation's kind needs (403). 404 unknown, 409 already finished, 409 too_late once the
 * work is changing live data (a restore past its swap). Changes no row itself.
 */
export async function cancelOperation(id: string, principal: Principal | null): Promise<OperationDto> {
  // The in-process entry first: during a restore's swap the database that holds the row is closed.
  const entry = running.get(id);
  if (!entry) return requestCancelElsewhere(id, principal);
  if (principal && !scopeAllows(principal.scope, entry.scope)) {
    throw new AppError(
      "forbidden",
      `Cancelling a ${entry.kind} needs the '${entry.scope}' scope; ${principal.kind} '${principal.name}' has '${principal.scope}'`,
    );
  }
  if (entry.tooLate) throw new AppError("too_late", `Too late: ${entry.tooLate}; the operation will finish and say how it went`);
  entry.controller.abort(new AppError("cancelled", "Cancelled"));
  return getOperation(id);
}

/**
 * The operation runs on another instance: the request is written into its row, and the owner cancels
 * it on its next poll (lib/scheduler/cluster.ts), with the same rules as here. Without this
 * instance's knowledge of the kind's scope, only an admin may ask.
 */
async function requestCancelElsewhere(id: string, principal: Principal | null): Promise<OperationDto> {
  const operation = await getOperation(id);
  if (operation.status !== "running" || !operation.instance || operation.instance === currentInstanceId()) {
    throw new AppError("conflict", `Operation ${id} is ${operation.status}; only a running one can be cancelled`);
  }
  if (principal && !scopeAllows(principal.scope, "admin")) {
    throw new AppError(
      "forbidden",
      `Cancelling an operation that runs on another instance needs the 'admin' scope; ${principal.kind} '${principal.name}' has '${principal.scope}'`,
    );
  }
  await queries.markOperationCancelRequested(id, nowIso());
  return getOperation(id);
}

/** Cancels the operations of this instance that were asked to stop on another instance; returns their ids. */
export async function cancelOperationsRequestedElsewhere(): Promise<string[]> {
  const ids: string[] = [];
  for (const id of await queries.selectCancelRequestedOperations(currentInstanceId())) {
    const entry = running.get(id);
    if (!entry || entry.tooLate || entry.controller.signal.aborted) continue;
    entry.controller.abort(new AppError("cancelled", "Cancelled (asked on another instance)"));
    ids.push(id);
  }
  return ids;
}

/**
 * Marks failed the running operations of the given (dead) owners, with `message`; `unowned` also
 * those from before owners were recorded. Returns their ids. Updates rows.
 */
export async function failOperationsOf(
  owners: string[],
  message: string,
  { unowned = false }: { unowned?: boolean } = {},
): Promise<{ id: string; kind: string }[]> {
  return queries.failRunningOperationsOf(owners, unowned, {
    status: "failed",
    error: JSON.stringify({ code: "interrupted", message }),
    finishedAt: nowIso(),
  });
}

/**
 * This instance was declared dead while it still worked: each operation whose row no longer reads
 * running and owned by it (another instance failed it) is abandoned. Returns how many.
 */
export async function abandonOperationsTakenAway(): Promise<number> {
  let count = 0;
  for (const [id, entry] of running) {
    if (entry.controller.signal.aborted) continue;
    const row = await queries.findOperation(id);
    if (row?.status === "running" && row.ownerInstance === currentInstanceId()) continue;
    entry.controller.abort(new AppError("interrupted", NO_LONGER_OWNED));
    count += 1;
  }
  return count;
}

function cancelReason(signal: AbortSignal): { code: string; message: string } {
  const reason = signal.reason as unknown;
  return reason instanceof AppError ? { code: String(reason.code), message: reason.message } : { code: "cancelled", message: "Cancelled" };
}

/** Why an operation ended when the server was stopped by a signal (SIGTERM from Docker or systemd, Ctrl-C). */
export function shutdownReason(signal: string): AppError {
  return new AppError("interrupted", `Cancelled: the server was stopped (${signal}) while this operation ran`);
}

/**
 * Graceful shutdown: cancels every running operation of this process and records each as cancelled
 * with `reason` at once. Synchronous on purpose: a signal handler cannot await, Next.js exits as soon
 * as its HTTP server has closed. Returns the ids it cancelled. Updates rows.
 */
export function cancelRunningOperationsForShutdown(reason: AppError): string[] {
  const ids: string[] = [];
  for (const [id, entry] of running) {
    // Past its point of no return (a restore's swap) the work is not cancelled: the boot after this
    // stop finishes or rolls it back from its journal and records what really happened.
    if (entry.tooLate) continue;
    entry.controller.abort(reason);
    ids.push(id);
    const record = () =>
      queries.recordOperationEndSync(id, { status: "cancelled", error: JSON.stringify({ code: reason.code, message: reason.message }), finishedAt: nowIso() });
    // The switch to PostgreSQL, stopped during its freeze: its own row is the one write that still passes.
    if (entry.writesWhileFrozen) exemptFromFreezeSync(record);
    else record();
  }
  return ids;
}

/**
 * At boot: an operation still marked running belonged to a process that died. Marks each failed with
 * that reason (the capability's own recovery, e.g. a restore rollback, runs separately). Updates rows.
 */
export async function failInterruptedOperations(): Promise<number> {
  const stale = (await queries.listRunningOperations()).filter((row) => !running.has(row.id));
  for (const row of stale) {
    await queries.updateOperation(row.id, {
      status: "failed",
      error: JSON.stringify({ code: "interrupted", message: "The server stopped while this operation ran" }),
      finishedAt: nowIso(),
    });
  }
  return stale.length;
}

/**
 * A restore swaps the database under running work: the rows of this process's running operations
 * (the restore itself) are read before the swap and written into the restored database after it,
 * and the operations the restored snapshot recorded as running are marked failed.
 */
export async function captureRunningOperations(): Promise<OperationRow[]> {
  const rows = await Promise.all([...running.keys()].map((id) => queries.findOperation(id)));
  return rows.filter((row): row is OperationRow => row !== null && row !== undefined);
}

/**
 * Operations the live database saw finish at or after `since`, read before a restore swaps in a
 * snapshot taken since then. That snapshot still records them as running (the backup that wrote the
 * set, at least, was running while it snapshotted itself); their real outcome is known, and carried over.
 */
export async function captureOperationsFinishedSince(since: string): Promise<OperationRow[]> {
  return queries.listOperationsFinishedSince(since);
}

export async function reinstateOperations(rows: OperationRow[], finishedSince: OperationRow[] = []): Promise<void> {
  for (const row of finishedSince) {
    if ((await queries.findOperation(row.id))?.status === "running") await queries.updateOperation(row.id, row);
  }
  await failInterruptedOperations();
  for (const row of rows) if (!(await queries.findOperation(row.id))) await queries.insertOperation(row);
}

/** Resolves when the operation has finished (tests, the CLI). */
export async function waitForOperation(id: string, pollMs = 50): Promise<OperationDto> {
  for (;;) {
    const operation = await getOperation(id);
    if (operation.status !== "running") return operation;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
