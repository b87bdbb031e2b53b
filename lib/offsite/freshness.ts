import "server-only";
import { getConfig } from "@/lib/config/service";
import { notify } from "@/lib/notify/service";
import { FRESHNESS_GRACE_MS, scheduleIntervalMs } from "@/lib/backups/freshness";
import { listSetsOnDisk, passedVerification } from "@/lib/backups/store";
import { listDestinations } from "@/lib/offsite/destinations";
import type { DestinationDto } from "@/lib/offsite/types";

// Whether offsite copies keep up: for /health, the offsite.stale notification and /metrics.

export interface OffsiteProblem {
  destination: DestinationDto;
  kind: "failed" | "stale";
  reason: string;
}

/**
 * Per enabled destination: the last copy failed, or (while scheduled backups are on) the newest
 * verified copy is older than the schedule allows although a newer verified set exists locally.
 * Reads only.
 */
export async function offsiteProblems(now = new Date()): Promise<OffsiteProblem[]> {
  const destinations = (await listDestinations()).filter((destination) => destination.enabled);
  if (destinations.length === 0) return [];
  const config = getConfig();
  const allowedMs = scheduleIntervalMs(config.values.backups.schedule) + FRESHNESS_GRACE_MS;
  const newestLocal = listSetsOnDisk().find((set) => passedVerification(set.folder) !== null);
  const problems: OffsiteProblem[] = [];
  for (const destination of destinations) {
    if (destination.last_failure) {
      problems.push({
        destination,
        kind: "failed",
        reason: `the last copy to ${destination.name} (of ${destination.last_failure.backup_id}) failed: ${destination.last_failure.error ?? "no reason recorded"}`,
      });
      continue;
    }
    if (!config.values.persistence.backup_enabled || !newestLocal) continue;
    const lastSuccess = destination.last_success_at ? Date.parse(destination.last_success_at) : null;
    const localAge = now.getTime() - Date.parse(newestLocal.manifest.created_at);
    // Stale only when there was something newer to copy and time enough to copy it.
    if ((lastSuccess === null || now.getTime() - lastSuccess > allowedMs) && localAge > FRESHNESS_GRACE_MS) {
      problems.push({
        destination,
        kind: "stale",
        reason:
          lastSuccess === null
            ? `no set has been copied to ${destination.name} yet`
            : `the newest copy at ${destination.name} is older than the schedule '${config.values.backups.schedule}' allows`,
      });
    }
  }
  return problems;
}

/** Announces offsite.stale for each overdue destination (a failed copy announced itself). May queue notifications. */
export async function checkOffsiteFreshness(now = new Date()): Promise<OffsiteProblem[]> {
  const problems = await offsiteProblems(now);
  for (const problem of problems.filter((p) => p.kind === "stale")) {
    await notify("offsite.stale", { destination_id: problem.destination.id, destination: problem.destination.name, reason: problem.reason });
  }
  return problems;
}
