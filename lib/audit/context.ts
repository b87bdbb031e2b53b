import "server-only";
import { processState } from "@/lib/process-state";
import { AsyncLocalStorage } from "node:async_hooks";
import type { Principal } from "@/lib/auth/scopes";

/**
 * Who is acting, for the audit rows written while a request (or an operation it started) runs. The
 * route and action wrappers open one per call and close it when the call ends; an operation opens
 * its own for its lifetime. Rows read the caller and address from it, and mark it, so the wrapper
 * writes a row of its own only when no capability wrote one: one row per change, one owner.
 */
export interface AuditActor {
  principal: Principal | null;
  ip: string | null;
  /** false once the call ended: timers it scheduled (a job's next fire) act for the system, not for it */
  open: boolean;
  /** a capability recorded this call's change itself, or started an operation that will */
  recorded: boolean;
}

interface AuditScope {
  actor: AuditActor | null;
  /** inside a change that records its own row: the rows of the steps it is made of are not written */
  quiet: boolean;
}

// Process-wide: route bundles and the instrumentation bundle may each load this module, and an
// operation started from one is audited from another.
const storage = processState("auditScope", () => new AsyncLocalStorage<AuditScope>());

/** Runs `fn` acting for `actor` (a request, or an operation's lifetime); closes the actor when it ends. */
export async function actingFor<T>(actor: AuditActor, fn: () => Promise<T>): Promise<T> {
  try {
    return await storage.run({ actor, quiet: false }, fn);
  } finally {
    actor.open = false;
  }
}

/** The actor of the request or operation running now, while it is open. */
export function currentActor(): AuditActor | null {
  const actor = storage.getStore()?.actor ?? null;
  return actor?.open ? actor : null;
}

/**
 * Says that the running call changed nothing worth a row (a dry run, a check): the wrapper then
 * writes none for it either.
 */
export function noChangeToRecord(): void {
  const actor = currentActor();
  if (actor) actor.recorded = true;
}

/** Whether audit rows are held back here (the steps of a change that writes one row for the whole). */
export function auditIsQuiet(): boolean {
  return storage.getStore()?.quiet ?? false;
}

/**
 * Runs the steps of one change (turning scheduled backups on enables three jobs and writes the
 * config) without their own audit rows: the caller records the change once.
 */
export function withoutStepAudit<T>(fn: () => Promise<T>): Promise<T> {
  return storage.run({ actor: storage.getStore()?.actor ?? null, quiet: true }, fn);
}
