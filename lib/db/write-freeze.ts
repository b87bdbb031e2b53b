import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";
import { processState } from "@/lib/process-state";
import { AppError, isAppError } from "@/lib/errors";

/**
 * While this server copies its SQLite database into PostgreSQL, and after that copy succeeded until
 * the restart that switches to it, a write to the SQLite file would be missing from PostgreSQL: lost
 * at the switch. So the freeze refuses every write, whichever path it comes by:
 * - changing requests (route() for POST/PUT/PATCH/DELETE, defineAction unless read-only, sign-in
 *   included) get 503 `migrating` before they start (`enterWrite`), and the freeze waits for those
 *   already running to end (`drainWrites`), so none lands after the copy's snapshot;
 * - background writers (scheduler, storage sampler, notifier, instance heartbeat) skip their turns
 *   while `writesRefusedHere()` says why, and carry on by themselves once thawed;
 * - whatever else tries, on the app's SQLite connection, is refused by the connection itself
 *   (lib/db/client.ts) with the same `migrating` error: loud, never silently dropped.
 * Only the migration's own bookkeeping (its operation row and audit row) is written meanwhile, inside
 * `exemptFromFreeze`. In-process, like the write gate: the CLI migrates with the server stopped instead.
 */
interface FreezeState {
  reason: string | null;
  /** changing requests and background writes under way, which a freeze waits for */
  inFlight: number;
  drained: Set<() => void>;
  thawed: Set<() => void>;
  exempt: AsyncLocalStorage<boolean>;
}

// Process-wide: the migration freezes from a route bundle, the sampler and scheduler run in instrumentation's.
const state = processState("writeFreeze", (): FreezeState => ({
  reason: null,
  inFlight: 0,
  drained: new Set(),
  thawed: new Set(),
  exempt: new AsyncLocalStorage<boolean>(),
}));

/** Refuses new writes from now on with `reason` (also to change the reason of a freeze in force). */
export function freezeWrites(reason: string): void {
  state.reason = reason;
}

/** Ends the freeze; the background writers that skipped their turns are told to resume. */
export function thawWrites(): void {
  if (state.reason === null) return;
  state.reason = null;
  // Outside the migration's exemption: a writer resumed from inside it would keep passing the next freeze.
  for (const listener of state.thawed) outsideFreezeExemption(listener);
}

/** Why changes are refused now, or null. */
export function writesFrozenReason(): string | null {
  return state.reason;
}

/** Why a write from here would be refused now, or null (the migration's own bookkeeping is never refused). */
export function writesRefusedHere(): string | null {
  return state.reason !== null && state.exempt.getStore() !== true ? state.reason : null;
}

export function assertWritesOpen(): void {
  const reason = writesRefusedHere();
  if (reason !== null) throw new AppError("migrating", reason);
}

/** Whether `error` is a write refused by the freeze. */
export function isWriteFrozenError(error: unknown): boolean {
  return isAppError(error) && error.code === "migrating";
}

/**
 * Admits one write (a changing request, a background writer's turn) or throws `migrating`; the
 * returned function ends it. A freeze waits for every admitted write to end before the copy starts.
 */
export function enterWrite(): () => void {
  assertWritesOpen();
  state.inFlight += 1;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    state.inFlight -= 1;
    if (state.inFlight === 0) for (const resolve of state.drained) resolve();
  };
}

/** `write` as one admitted write (see enterWrite): refused with `migrating` while frozen. */
export async function runUnlessFrozen<T>(write: () => Promise<T>): Promise<T> {
  const end = enterWrite();
  try {
    return await write();
  } finally {
    end();
  }
}

/**
 * Resolves once no admitted write is under way; throws `operation_running` after `timeoutMs` (the
 * freeze stays: the caller thaws). Call after freezeWrites, so no new write is admitted meanwhile.
 */
export async function drainWrites(timeoutMs: number): Promise<void> {
  if (state.inFlight === 0) return;
  let resolve!: () => void;
  const drained = new Promise<void>((r) => (resolve = r));
  state.drained.add(resolve);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  try {
    if ((await Promise.race([drained, timedOut])) === "timeout") {
      throw new AppError(
        "operation_running",
        `${state.inFlight} change(s) still in progress after ${Math.round(timeoutMs / 1000)} s; try again when they have finished`,
      );
    }
  } finally {
    clearTimeout(timer);
    state.drained.delete(resolve);
  }
}

/** Runs `work` as the migration's own bookkeeping: its writes pass the freeze (and so does what it starts: keep it to that). */
export function exemptFromFreeze<T>(work: () => T): T {
  return state.exempt.run(true, work);
}

/** Runs `work` outside any exemption: for what the migration restarts (timers keep the context they were made in). */
export function outsideFreezeExemption<T>(work: () => T): T {
  return state.exempt.run(false, work);
}

/** Called each time a freeze ends without a switch (a failed or cancelled migration); returns the unsubscribe. */
export function onWritesThawed(listener: () => void): () => void {
  state.thawed.add(listener);
  return () => state.thawed.delete(listener);
}
