import "server-only";
import { processState } from "@/lib/process-state";
import { getLogger } from "@/lib/log/logger";
import { isWriteLockHeldElsewhere } from "@/lib/db/dialect";
import type { InstanceRow } from "@/lib/db/schema/instances";
import {
  describeInstance,
  findStoppedOwnersOfRunningWork,
  LEASE_EXPIRED,
  PROCESS_GONE,
  heartbeatMs,
  joinCluster,
  leaveCluster,
  renewThisInstanceLease,
  stopExpiredInstances,
} from "@/lib/instances/service";
import { failExecutionsOf, isExecutionRunningFor, listCancelRequestedExecutions } from "@/lib/executions/service";
import { findJobRow, recordJobRun } from "@/lib/jobs/service";
import { abandonOperationsTakenAway, cancelOperationsRequestedElsewhere, failOperationsOf } from "@/lib/operations/service";
import { activeRunIds, cancelRun } from "@/lib/scheduler/active-runs";
import { currentInstanceId } from "@/lib/instances/service";
import { notify } from "@/lib/notify/service";
import { createSerialQueue } from "@/lib/serial-queue";
import { writesRefusedHere } from "@/lib/db/write-freeze";

/**
 * This instance's part in a deployment of several (study §4.4, the Quartz check-in model): it renews
 * its lease, and every instance looks for others whose lease passed and fails their runs and
 * operations; each dead instance is claimed by exactly one survivor (one UPDATE … RETURNING). Nothing
 * is re-run behind anyone's back: a run that was cut off ends failed, and the job's next slot fires
 * as usual. On SQLite the same code runs with one instance.
 */

/** Written into the runs of a process that stopped while they ran, when nobody can say which instance it was (rows from before instances). */
export const INTERRUPTED_RUN_REASON = "Interrupted: the server process stopped (exit, crash or kill) while this run was in progress";

/** How often an instance looks for requests from other instances (stop a run, cancel an operation). */
export const CONTROL_POLL_MS = 1_000;

const timers = processState("clusterTimers", (): { heartbeat?: NodeJS.Timeout; control?: NodeJS.Timeout } => ({}));

/** The reason written into the work of an instance found dead. */
export function interruptedBy(instance: Pick<InstanceRow, "id" | "host" | "pid" | "stopReason">): string {
  // The earlier life of a restarted server says what an operator of one server expects to read.
  if (instance.stopReason === PROCESS_GONE) return `${INTERRUPTED_RUN_REASON} (instance ${describeInstance(instance)})`;
  return `Interrupted: instance ${describeInstance(instance)} ${instance.stopReason ?? LEASE_EXPIRED} while this was in progress`;
}

/** What a dead instance was doing when another closed it: its failed runs and operations. */
interface LostWork {
  runs: { execution_id: string; job_id: string }[];
  operations: { operation_id: string; kind: string }[];
}

/**
 * Fails the running runs and operations of instances declared stopped, and records each failed run as
 * its job's last result. Returns how many runs and operations it closed, and what each instance lost.
 * Updates rows.
 */
export async function failWorkOf(
  dead: InstanceRow[],
  { unowned = false }: { unowned?: boolean } = {},
): Promise<{ runs: number; operations: number; lost: Map<string, LostWork> }> {
  let runs = 0;
  let operations = 0;
  const lost = new Map<string, LostWork>();
  const groups: { owners: string[]; reason: string; unowned: boolean }[] = dead.map((instance) => ({
    owners: [instance.id],
    reason: interruptedBy(instance),
    unowned: false,
  }));
  if (unowned) groups.push({ owners: [], reason: INTERRUPTED_RUN_REASON, unowned: true });
  for (const group of groups) {
    const failed = await failExecutionsOf(group.owners, group.reason, { unowned: group.unowned });
    for (const run of failed) {
      const job = await findJobRow(run.jobId);
      if (!job) continue;
      await recordJobRun(job.id, {
        lastRun: run.startTime,
        lastResult: { success: false, error: group.reason, executed_at: run.endTime, status: "failed", execution_id: run.id },
        nextRun: job.nextRun,
      });
    }
    const failedOperations = await failOperationsOf(group.owners, group.reason, { unowned: group.unowned });
    runs += failed.length;
    operations += failedOperations.length;
    if (group.owners.length === 1)
      lost.set(group.owners[0]!, {
        runs: failed.map((run) => ({ execution_id: run.id, job_id: run.jobId })),
        operations: failedOperations.map((op) => ({ operation_id: op.id, kind: op.kind })),
      });
  }
  return { runs, operations, lost };
}

/**
 * Tells the channels that subscribe to `instance.lost` about each instance this one found past its
 * lease, with what it was running. Each dead instance is found by exactly one survivor (one UPDATE …
 * RETURNING), so the event goes out once. Queues notifications.
 */
async function announceLost(expired: InstanceRow[], lost: Map<string, LostWork>): Promise<void> {
  for (const instance of expired) {
    const work = lost.get(instance.id) ?? { runs: [], operations: [] };
    // Only a loss that cost work is news. A clean stop cancels its own work but cannot wait for its leave
    // to be written (lib/shutdown.ts), and a switch to PostgreSQL copies the old instance's row: both are
    // found past their lease with nothing running, and would otherwise raise an alarm at every deploy.
    if (work.runs.length + work.operations.length === 0) {
      getLogger().info("an instance stopped answering with nothing running", { instance: describeInstance(instance), last_seen: instance.lastSeen });
      continue;
    }
    await notify("instance.lost", {
      instance_id: instance.id,
      instance: describeInstance(instance),
      host: instance.host,
      reason: instance.stopReason ?? LEASE_EXPIRED,
      last_seen: instance.lastSeen,
      ...work,
    });
  }
}

/**
 * Boot: enters this instance, closes the work of instances that cannot be alive (an earlier life of
 * this process on this host; on SQLite every earlier one; rows from before instances existed) and of
 * those whose lease has passed, and starts the heartbeat and the control poll. Never touches the work
 * of another live instance. Returns how many runs and operations it closed.
 */
export async function joinDeployment(dataRootId: string | null): Promise<{ runs: number; operations: number }> {
  const previous = await joinCluster(dataRootId);
  const expired = await stopExpiredInstances();
  const { lost, ...closed } = await failWorkOf([...previous, ...expired], { unowned: true });
  if (closed.runs + closed.operations > 0)
    getLogger().warn("closed the work of instances that stopped while it ran", { ...closed, instances: [...previous, ...expired].map(describeInstance) });
  // An earlier life of this process is no news to anyone: only instances whose lease passed are announced.
  await announceLost(expired, lost);
  startTimers();
  return closed;
}

function startTimers(): void {
  stopTimers();
  let beating = false;
  timers.heartbeat = setInterval(() => {
    // Paused while writes are frozen for a switch to PostgreSQL (the lease would be renewed in a file being
    // left behind); on SQLite no other instance waits on it, and a failed switch resumes it at the next beat.
    if (beating || writesRefusedHere() !== null) return;
    beating = true;
    void heartbeat()
      .catch((error) => getLogger().warn("instance heartbeat failed", { error }))
      .finally(() => (beating = false));
  }, heartbeatMs());
  timers.heartbeat.unref();
  let polling = false;
  timers.control = setInterval(() => {
    if (polling) return;
    polling = true;
    void followRequestsFromOtherInstances()
      .catch((error) => getLogger().warn("could not read requests from other instances", { error }))
      .finally(() => (polling = false));
  }, CONTROL_POLL_MS);
  timers.control.unref();
}

function stopTimers(): void {
  if (timers.heartbeat) clearInterval(timers.heartbeat);
  if (timers.control) clearInterval(timers.control);
  timers.heartbeat = undefined;
  timers.control = undefined;
}

/**
 * Heartbeats of this process run one after another (the timer's and one asked for directly), so two
 * never split one dead instance's work between them: the one that declared it stopped fails all of
 * it and says what it was running.
 */
const beatInTurn = createSerialQueue();

/** One heartbeat: renew the lease (or learn that this instance was declared dead), then reap the others. */
export async function heartbeat(): Promise<void> {
  return beatInTurn(beatOnce);
}

async function beatOnce(): Promise<void> {
  // Another connection holds SQLite's write lock (a VACUUM in its child, a restore): this round's
  // writes would wait it out with the event loop, and so every request, stopped. The lease outlasts
  // three rounds; one that found the lock held before would have failed after busy_timeout anyway.
  if (isWriteLockHeldElsewhere()) return;
  const lease = await renewThisInstanceLease();
  if (lease === "revived") {
    // Paused or cut off past the lease: the others failed this instance's work; what they failed is abandoned, not finished twice.
    const reason = "This instance was declared stopped by another (it did not renew its lease in time); the run was failed there";
    let runs = 0;
    for (const id of activeRunIds()) {
      if (await isExecutionRunningFor(id, currentInstanceId())) continue;
      if (cancelRun(id, reason)) runs += 1;
    }
    const operations = await abandonOperationsTakenAway();
    getLogger().error("this instance was declared stopped by another while it still ran: the work failed there was abandoned, it serves again from now", {
      runs,
      operations,
    });
  }
  // Expired leases, and rows a zombie wrote after it was declared stopped (nobody would close them otherwise).
  const expired = await stopExpiredInstances();
  const dead = [...new Map([...expired, ...(await findStoppedOwnersOfRunningWork())].map((row) => [row.id, row])).values()];
  if (dead.length === 0) return;
  const { lost, ...closed } = await failWorkOf(dead);
  getLogger().warn("instances stopped answering: their work was marked failed", { instances: dead.map(describeInstance), ...closed });
  await announceLost(expired, lost);
}

/** Stops the runs and operations of this instance that someone asked to stop on another instance. */
async function followRequestsFromOtherInstances(): Promise<void> {
  for (const id of await listCancelRequestedExecutions(currentInstanceId())) cancelRun(id, "Stopped from another instance");
  await cancelOperationsRequestedElsewhere();
}

/** A clean shutdown: the heartbeat stops and the instance leaves at once, so nobody waits for its lease. */
export async function leaveDeployment(): Promise<void> {
  stopTimers();
  await leaveCluster();
}
