import "server-only";
import { processState } from "@/lib/process-state";
import { getLogger } from "@/lib/log/logger";
import { cancelRunningOperationsForShutdown, shutdownReason } from "@/lib/operations/service";
import { stopScheduler } from "@/lib/scheduler/engine";
import { cancelAllRuns } from "@/lib/scheduler/active-runs";
import { cleanLeftovers } from "@/lib/backups/store";
import { leaveDeployment } from "@/lib/scheduler/cluster";
import { isPostgres } from "@/lib/db/dialect";

const memo = processState("shutdownHandlers", (): { installed?: boolean } => ({}));

/**
 * SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) stop the server gracefully: no new fires, runs in
 * progress and running operations cancelled and recorded as such, half-written backup folders
 * removed, one log line; then Next.js closes the HTTP server and exits. Everything here is
 * synchronous: Next.js's own handler exits as soon as the HTTP server has closed, without waiting.
 */
export function installShutdownHandlers(): void {
  if (memo.installed) return;
  memo.installed = true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stopScheduler();
    const runs = cancelAllRuns(`Stopped: the server was stopped (${signal}) while this run was in progress`);
    const operations = cancelRunningOperationsForShutdown(shutdownReason(signal));
    let removed: string[] = [];
    try {
      // On PostgreSQL other instances may be writing sets into the shared backups folder: only this process's folders go.
      removed = cleanLeftovers({ includeActive: true, ownOnly: isPostgres() });
    } catch (error) {
      getLogger().warn("could not remove the temporary folders of cancelled backup work; the next start removes them", { error });
    }
    getLogger().warn("stopping: cancelled running work", { signal, operations, runs, removed });
    // Sent, not awaited (nothing here may wait): if the process ends first, the others find its lease passed.
    void leaveDeployment().catch(() => undefined);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
