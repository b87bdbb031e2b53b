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
 * A write admitted before the freeze finishes (its statements pass while it runs, and the freeze waits
 * for it), and so does the migration's own bookkeeping (its operation and audit rows, inside
 * `exemptFromFreeze`): each holds a pass in its async context that closes when it ends, so a timer or
 * promise it leaves behind does not carry the pass into the next freeze. In-process, like the write
 * gate: the CLI migrates with the server stopped instead.
 */
interface FreezeState {
  reason: string | null;
  /** changing requests and background writes under way, which a freeze waits for */
  inFlight: number;
  /** admitted writes that have ended, ever (endedWrites) */
  ended: number;
  drained: Set<() => void>;
  thawed: Set<() => void>;
  pass: AsyncLocalStorage<Pass>;
}

/** Lets the writes of one admitted write or of the migration through the freeze, while `open`. */
interface Pass {
  open: boolean;
}

// Process-wide: the migration freezes from a route bundle, the sampler and scheduler run in instrumentation's.
const state = processState("writeFreeze", (): FreezeState => ({
  reason: null,
  inFlight: 0,
  ended: 0,
  drained: new Set(),
  thawed: new Set(),
  pass: new AsyncLocalStorage<Pass>(),
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

/** Why a write from here would be refused now, or null (inside an admitted write or the migration's own bookkeeping). */
export function writesRefusedHere(): string | null {
  return state.reason !== null && state.pass.getStore()?.open !== true ? state.reason : null;
}

export function assertWritesOpen(): void {
  const reason = writesRefusedHere();
  if (reason !== null) throw new AppError("migrating", reason);
}

/** Whether `error` is a write refused by the freeze. */
export function isWriteFrozenError(error: unknown): boolean {
  return isAppError(error) && error.code === "migrating";
}

export interface AdmittedWrite {
  /** runs `work` as part of this write: its statements pass a freeze that began after admission */
  run<T>(work: () => T): T;
  /** ends the write (idempotent); a freeze waiting for the writes under way may go on */
  end(): void;
}

/**
 * Admits one write (a changing request, a background writer's turn) or throws `migrating`. A freeze
 * waits for every admitted write to end before the copy starts; until then what runs inside it passes.
 */
export function enterWrite(): AdmittedWrite {
  assertWritesOpen();
  state.inFlight += 1;
  const pass: Pass = { open: true };
  return {
    run: (work) => state.pass.run(pass, work),
    end: () => {
      if (!pass.open) return;
      pass.open = false;
      state.inFlight -= 1;
      state.ended += 1;
      if (state.inFlight === 0) for (const resolve of state.drained) resolve();
    },
  };
}

/**
 * How many admitted writes (changing requests, server actions, background writers' turns) this process
 * has ended: what a reader that keeps facts derived from the database (/health's, lib/health/service.ts)
 * compares to know that this process may have changed them since it read them.
 */
export function endedWrites(): number {
  return state.ended;
}

/** `write` as one admitted write (see enterWrite): refused with `migrating` while frozen. */
export async function runUnlessFrozen<T>(write: () => Promise<T>): Promise<T> {
  const admitted = enterWrite();
  try {
    return await admitted.run(write);
  } finally {
    admitted.end();
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

/** Runs `work` as the migration's own bookkeeping: its writes pass the freeze until it has settled. */
export async function exemptFromFreeze<T>(work: () => Promise<T>): Promise<T> {
  const pass: Pass = { open: true };
  try {
    return await state.pass.run(pass, work);
  } finally {
    pass.open = false;
  }
}

/** exemptFromFreeze for synchronous work (a signal handler's last write). */
export function exemptFromFreezeSync<T>(work: () => T): T {
  const pass: Pass = { open: true };
  try {
    return state.pass.run(pass, work);
  } finally {
    pass.open = false;
  }
}

/** Runs `work` with no pass: for what the migration restarts (timers keep the context they were made in). */
export function outsideFreezeExemption<T>(work: () => T): T {
  return state.pass.run({ open: false }, work);
}

/** Called each time a freeze ends without a switch (a failed or cancelled migration); returns the unsubscribe. */
export function onWritesThawed(listener: () => void): () => void {
  state.thawed.add(listener);
  return () => state.thawed.delete(listener);
}
