import "server-only";
import { ZodError } from "zod";
import { AppError, isAppError } from "@/lib/errors";
import { plainIssueMessage } from "@/lib/issue-text";
import { isBusyError, recordBusyError } from "@/lib/db/sqlite-maintenance";

// Apart from lib/http so that operations and server actions (and so the CLI) can map errors without
// loading the HTTP layer and its metrics; apart from lib/errors, which client components import.

/** Turns any thrown value into an AppError: zod failures become 400 with every problem listed. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (error instanceof ZodError) {
    const details = error.issues.map((issue) => ({ path: issue.path.join("."), message: plainIssueMessage(issue) }));
    const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join("; ");
    return new AppError("invalid_input", summary, { details, cause: error });
  }
  if (isBusyError(error)) {
    recordBusyError();
    return new AppError("database_busy", "The database is locked by another writer; try again in a moment", { cause: error });
  }
  return new AppError("internal", "Internal error: the server log has the details", { cause: error });
}
