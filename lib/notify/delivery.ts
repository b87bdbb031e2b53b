import "server-only";
import { processState } from "@/lib/process-state";
import { getConfig } from "@/lib/config/service";
import { onAppDatabaseReopened } from "@/lib/db/client";
import { nowIso } from "@/lib/db/timestamps";
import type { NotificationDeliveryRow } from "@/lib/db/schema/notifications";
import { getLogger } from "@/lib/log/logger";
import { CHANNEL_KINDS, type ChannelKind } from "@/lib/notify/channel-kinds";
import { sendToChannel, type ChannelTarget } from "@/lib/notify/channels/send";
import { CONFIG_CHANNEL_ID, configWebhookChannel } from "@/lib/notify/channels-config";
import type { NotificationMessage } from "@/lib/notify/message";
import * as queries from "@/lib/notify/queries";
import { openJson } from "@/lib/secrets/sealed";
import { onWritesThawed, runUnlessFrozen, writesFrozenReason, writesRefusedHere } from "@/lib/db/write-freeze";

/** Deliveries claimed per round; a hanging receiver holds one slot for at most the delivery timeout. */
const BATCH = 20;
/** Log rows older than this are dropped when the notifier starts. */
export const DELIVERY_LOG_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

interface NotifierState {
  running: Promise<void> | null;
  again: boolean;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
  followsRestores: boolean;
  followsThaws: boolean;
}

// Process-wide: route bundles and instrumentation share one worker per process.
const memo = processState("notifier", (): { notifier?: NotifierState } => ({}));
function state(): NotifierState {
  memo.notifier ??= { running: null, again: false, timer: null, stopped: false, followsRestores: false, followsThaws: false };
  return memo.notifier;
}

/** At boot: drops old log rows and sends whatever the last process left queued. */
export async function startNotifier(): Promise<void> {
  const current = state();
  current.stopped = false;
  if (!current.followsRestores) {
    current.followsRestores = true;
    // Never throws: a restore must not fail over its notifications.
    onAppDatabaseReopened(async () => {
      await closeRestoredBacklog().catch((error: unknown) =>
        getLogger().warn("could not close the restored notification backlog", { error: (error as Error).message }),
      );
    });
  }
  if (!current.followsThaws) {
    current.followsThaws = true;
    // Deliveries wait in the outbox while writes are frozen for a switch to PostgreSQL; a failed switch lets them go.
    onWritesThawed(() => {
      if (!state().stopped) kickDelivery();
    });
  }
  const pruned = await queries.pruneDeliveryRows(new Date(Date.now() - DELIVERY_LOG_RETENTION_DAYS * DAY_MS).toISOString());
  if (pruned > 0) getLogger().info("dropped old notification log rows", { count: pruned });
  kickDelivery();
}

export const RESTORED_BACKLOG_REASON = "not sent: the database was restored to a time before this was delivered";

/**
 * After a restore swapped the database in: what the restored file still held as unsent was due
 * before the set was taken; sent now it would announce old news (or repeat what went out since), so
 * it is closed unsent, with the reason in the log. Returns how many.
 */
export async function closeRestoredBacklog(): Promise<number> {
  const closed = await queries.closeUnsentBefore(nowIso(), RESTORED_BACKLOG_REASON);
  if (closed > 0) getLogger().info("closed notifications the restored database held unsent", { count: closed });
  return closed;
}

/** Stops the timer (tests, shutdown); a round in progress finishes. */
export function stopNotifier(): Promise<void> {
  const current = state();
  current.stopped = true;
  if (current.timer) clearTimeout(current.timer);
  current.timer = null;
  return current.running ?? Promise.resolve();
}

/**
 * Sends every due delivery in the background. Returns at once; rounds never overlap in one process,
 * and a kick during a round runs another after it. Then sleeps until the next retry is due.
 */
export function kickDelivery(): void {
  const current = state();
  if (current.running) {
    current.again = true;
    return;
  }
  current.again = false;
  // Frozen for a switch to PostgreSQL: the claims and results would be written to a file being left
  // behind. The outbox keeps them (due ones go out after the restart, from PostgreSQL); a thaw kicks again.
  if (writesRefusedHere() !== null) return;
  // One write as the freeze counts them: a freeze that starts during a round waits for its results.
  current.running = runUnlessFrozen(drain)
    .catch((error: unknown) => {
      getLogger().error("notification delivery round failed", { error });
    })
    .finally(() => {
      current.running = null;
      if (current.again) kickDelivery();
      else void scheduleNextRound();
    });
}

/** Settles when the round in progress (if any) is done: for tests and the CLI. */
export function deliveryIdle(): Promise<void> {
  return state().running ?? Promise.resolve();
}

async function drain(): Promise<void> {
  const leaseMs = getConfig().values.notifications.timeout_seconds * 1000 * 2 + 5_000;
  for (;;) {
    // The round itself holds a pass (runUnlessFrozen), so ask whether a freeze began, not whether this write may pass it.
    if (writesFrozenReason() !== null) return;
    const now = Date.now();
    const rows = await queries.claimDueDeliveries(new Date(now).toISOString(), new Date(now + leaseMs).toISOString(), BATCH);
    if (rows.length === 0) return;
    await Promise.all(rows.map((row) => attemptDelivery(row, { retry: true })));
  }
}

async function scheduleNextRound(): Promise<void> {
  const current = state();
  if (current.stopped || writesRefusedHere() !== null) return;
  try {
    const next = await queries.nextDueTime();
    if (current.timer) clearTimeout(current.timer);
    current.timer = null;
    if (next === null) return;
    current.timer = setTimeout(
      () => {
        current.timer = null;
        kickDelivery();
      },
      Math.max(0, Date.parse(next) - Date.now()),
    );
    current.timer.unref();
  } catch (error) {
    getLogger().warn("cannot schedule the next notification retry", { error: (error as Error).message });
  }
}

/**
 * One attempt at a claimed delivery, recorded on its row: sent, or failed with the reason and, when
 * `retry` and attempts remain, due again after a doubling backoff. Never throws.
 */
export async function attemptDelivery(
  row: NotificationDeliveryRow,
  options: { retry: boolean },
): Promise<{ status: "sent" | "failed" | "pending"; error: string | null }> {
  const { retry_base_seconds: base, max_attempts: maxAttempts } = getConfig().values.notifications;
  const attempts = row.attempts + 1;
  const log = JSON.parse(row.attemptLog) as { at: string; error: string | null }[];
  const at = nowIso();
  let error: string | null = null;
  let permanent = false;
  try {
    const target = await resolveTarget(row.channelId);
    if (typeof target === "string") {
      error = target;
      permanent = true;
    } else {
      await sendToChannel(target, JSON.parse(row.message) as NotificationMessage);
    }
  } catch (sendError) {
    error = (sendError as Error).message || String(sendError);
  }
  log.push({ at, error });
  const status = error === null ? "sent" : !permanent && options.retry && attempts < maxAttempts ? "pending" : "failed";
  await queries.updateDeliveryRow(row.id, {
    status,
    attempts,
    attemptLog: JSON.stringify(log),
    lastError: error,
    sentAt: status === "sent" ? at : null,
    claimedUntil: null,
    nextAttemptAt: status === "pending" ? new Date(Date.now() + base * 1000 * 2 ** (attempts - 1)).toISOString() : null,
  });
  if (error !== null)
    getLogger().warn("notification not delivered", { delivery: row.id, channel: row.channelName, event: row.event, attempts, status, reason: error });
  return { status, error };
}

/** The channel as it is now (a change since the event applies), or why it cannot be sent to. */
async function resolveTarget(channelId: string): Promise<ChannelTarget | string> {
  if (channelId === CONFIG_CHANNEL_ID) {
    const channel = configWebhookChannel();
    return channel ? { kind: "webhook", settings: {}, secrets: channel.secrets } : "storage.alert_webhook_url was emptied";
  }
  const row = await queries.findChannelRow(channelId);
  if (!row) return "the channel was deleted";
  if (!row.enabled) return "the channel is disabled";
  const kind = row.kind as ChannelKind;
  if (!(kind in CHANNEL_KINDS)) return `unknown channel kind '${row.kind}'`;
  let secrets: Record<string, unknown> = {};
  try {
    secrets = row.secrets ? (openJson(row.secrets) as Record<string, unknown>) : {};
  } catch (error) {
    return (error as Error).message;
  }
  return { kind, settings: JSON.parse(row.settings) as Record<string, unknown>, secrets };
}
