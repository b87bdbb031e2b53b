import "server-only";
import crypto from "node:crypto";
import os from "node:os";
import packageJson from "@/package.json";
import { processState } from "@/lib/process-state";
import { getConfig } from "@/lib/config/service";
import { isPostgres } from "@/lib/db/dialect";
import type { InstanceRow } from "@/lib/db/schema/instances";
import * as queries from "@/lib/instances/queries";
import type { InstanceDto } from "@/lib/instances/types";
import { yieldToEventLoop } from "@/lib/event-loop";
import { isProcessAlive } from "@/lib/pids";

/**
 * This process as one member of the deployment: an id for this life (a restart is a new instance),
 * a row in `instances` and a lease it renews. Other instances judge it by the lease alone, on the
 * database's clock (lib/db/dialect.ts databaseTime).
 */
interface Identity {
  id: string;
  host: string;
  pid: number;
  version: string;
  startedAt: string;
  dataRootId: string | null;
  joined: boolean;
}

const identity = processState("instance", (): Identity => ({
  id: crypto.randomUUID(),
  host: os.hostname(),
  pid: process.pid,
  version: packageJson.version,
  startedAt: new Date().toISOString(),
  dataRootId: null,
  joined: false,
}));

/** Why an instance is no longer live (instances.stop_reason); each reads after "instance <host/pid>". */
export const LEASE_EXPIRED = "stopped answering (its lease expired)";
export const PROCESS_GONE = "stopped: its server process stopped (exit, crash or kill), found at the next start on its host";
export const SHUT_DOWN = "shut down";

/** This process's instance id (stable for its life; owner of the runs and operations it starts). */
export function currentInstanceId(): string {
  return identity.id;
}

/** How a message names an instance: "host/pid (id…)". */
export function describeInstance(row: Pick<InstanceRow, "id" | "host" | "pid">): string {
  return `${row.host}/${row.pid} (${row.id.slice(0, 8)})`;
}

/** The lease an instance holds: another instance treats it as dead once this long passes without a heartbeat. */
export function leaseMs(): number {
  return getConfig().values.scheduler.instance_lease_seconds * 1000;
}

/** How often the lease is renewed: three heartbeats per lease, so one slow or lost one does not kill a live instance. */
export function heartbeatMs(): number {
  return Math.max(500, Math.floor(leaseMs() / 3));
}

/**
 * Enters this process in `instances` and declares stopped the instances that cannot be alive: on
 * SQLite every other one (one server owns the file, the data root's lock says so), on PostgreSQL an
 * earlier life of this host whose process is gone. Returns those it declared stopped, whose work the
 * caller fails. Inserts one row; updates rows.
 */
export async function joinCluster(dataRootId: string | null): Promise<InstanceRow[]> {
  identity.dataRootId = dataRootId;
  await enterRow(dataRootId);
  identity.joined = true;
  const stopped: InstanceRow[] = [];
  for (const other of await queries.selectLiveInstances()) {
    if (other.id === identity.id) continue;
    const gone = !isPostgres() || (other.host === identity.host && (other.pid === process.pid || !isProcessAlive(other.pid)));
    if (!gone) continue;
    const row = await queries.stopInstance(other.id, PROCESS_GONE);
    if (row) stopped.push(row);
  }
  return stopped;
}

async function enterRow(dataRootId: string | null): Promise<void> {
  await queries.insertInstance(
    { id: identity.id, host: identity.host, pid: identity.pid, version: identity.version, dataRootId, startedAt: identity.startedAt },
    leaseMs(),
  );
}

/**
 * Renews this instance's lease. Returns "renewed", or "revived" when another instance had declared
 * it dead meanwhile (it was paused or cut off past its lease): its work was failed by then, and the
 * caller must abandon what it still runs. Updates one row.
 */
export async function renewThisInstanceLease(): Promise<"renewed" | "revived" | "not_joined"> {
  if (!identity.joined) return "not_joined";
  if (await queries.renewLease(identity.id, leaseMs())) return "renewed";
  if (await queries.reviveInstance(identity.id, leaseMs())) return "revived";
  // No row at all (a restore brought back a database from before this instance started): nobody declared it dead.
  await enterRow(identity.dataRootId);
  return "renewed";
}

/** The instances whose lease passed, declared stopped by this call (each by exactly one survivor). Updates rows. */
export async function stopExpiredInstances(): Promise<InstanceRow[]> {
  if (!identity.joined) return [];
  return queries.stopExpiredInstances(identity.id, LEASE_EXPIRED);
}

/** Instances already declared stopped whose runs or operations still read running (written after they were declared dead). Reads only. */
export async function findStoppedOwnersOfRunningWork(): Promise<InstanceRow[]> {
  if (!identity.joined) return [];
  return queries.selectStoppedOwnersOfRunningWork();
}

/** A clean shutdown: this instance leaves the cluster at once instead of when its lease runs out. Updates one row. */
export async function leaveCluster(): Promise<void> {
  if (!identity.joined) return;
  identity.joined = false;
  await queries.stopInstance(identity.id, SHUT_DOWN);
}

/** How many instances other than this one hold a live lease (not stopped, lease not passed). Reads only. */
export async function countOtherLiveInstances(): Promise<number> {
  return queries.countLiveInstancesExcept(identity.id);
}

/** Whether instance `id` holds a live lease. Reads only. */
export async function isInstanceLive(id: string): Promise<boolean> {
  return queries.isLive(id);
}

/** Whether this instance has joined (the cluster timers and fenced writes apply from then on). */
export function hasJoinedCluster(): boolean {
  return identity.joined;
}

/** A turn may be taken again after this share of its interval: timers of different instances drift a little. */
const TURN_SLACK = 0.9;

/**
 * Work that must happen once per interval across every instance (storage sampling): true for the one
 * instance that takes this interval's turn, false for the others. Writes one system_metadata row.
 */
export async function takeTurnOnce(name: string, intervalMs: number, now = Date.now()): Promise<boolean> {
  return queries.takeTurn(`turn:${name}`, new Date(now).toISOString(), new Date(now - intervalMs * TURN_SLACK).toISOString());
}

/** How many instance rows the list shows: every live one and the most recent stopped ones. */
const INSTANCE_LIST_LIMIT = 50;

/** The instances sharing the database, live first, with what each runs now. Reads only. */
export async function listInstances(): Promise<InstanceDto[]> {
  const [rows, work] = await Promise.all([queries.selectInstances(INSTANCE_LIST_LIMIT), queries.selectRunningWork()]);
  return rows.map((row) => ({
    id: row.id,
    host: row.host,
    pid: row.pid,
    version: row.version,
    started_at: row.startedAt,
    last_seen: row.lastSeen,
    lease_until: row.leaseUntil,
    stopped_at: row.stoppedAt,
    stop_reason: row.stopReason,
    self: row.id === identity.id,
    running: work.filter((item) => item.owner === row.id).map(({ kind, id, label }) => ({ kind, id, label })),
  }));
}

/** How long the row of a stopped instance stays listed (Overview, /api/v1/instances) before retention deletes it. */
export const STOPPED_INSTANCE_KEEP_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Fire claims deleted per statement: short writes, so a large backlog never holds the database for long. */
const FIRE_CLAIM_BATCH = 5_000;

/**
 * The daily retention pass's share of the cluster's bookkeeping: fire claims made before `firesBefore`
 * (the history's retention cutoff; null keeps them, as the history is kept) and the rows of instances
 * stopped more than STOPPED_INSTANCE_KEEP_DAYS before `now`. A claim that old can never be fired
 * again (a missed fire is caught up within the hour), so deleting it cannot run a slot twice.
 * Deletes rows in batches; returns how many of each.
 */
export async function pruneClusterRecords(
  firesBefore: string | null,
  now: Date,
  signal?: AbortSignal,
): Promise<{ fire_claims_deleted: number; stopped_instances_deleted: number }> {
  let fires = 0;
  while (firesBefore !== null && !signal?.aborted) {
    const deleted = await queries.deleteFireClaimsBefore(firesBefore, FIRE_CLAIM_BATCH);
    fires += deleted;
    if (deleted < FIRE_CLAIM_BATCH) break;
    await yieldToEventLoop();
  }
  const instances = await queries.deleteInstancesStoppedBefore(new Date(now.getTime() - STOPPED_INSTANCE_KEEP_DAYS * DAY_MS).toISOString());
  return { fire_claims_deleted: fires, stopped_instances_deleted: instances };
}
