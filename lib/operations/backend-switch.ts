import "server-only";
import { processState } from "@/lib/process-state";
import { AppError } from "@/lib/errors";

/**
 * While this server copies its SQLite database into PostgreSQL, and after that copy succeeded until
 * the restart that switches to it, a change made here would land in the SQLite file only and be
 * missing from PostgreSQL. So every changing request (route() for POST/PUT/PATCH/DELETE,
 * defineAction for actions that are not read-only) is refused with 503 `migrating` meanwhile;
 * reads, sign-in and cancelling the migration itself still work. In-process, like the write gate:
 * the CLI migrates with the server stopped instead.
 */
const state = processState("backendSwitch", (): { reason: string | null } => ({ reason: null }));

export function freezeWrites(reason: string): void {
  state.reason = reason;
}

export function thawWrites(): void {
  state.reason = null;
}

/** Why changes are refused now, or null. */
export function writesFrozenReason(): string | null {
  return state.reason;
}

export function assertWritesOpen(): void {
  if (state.reason !== null) throw new AppError("migrating", state.reason);
}
