import "server-only";
import crypto from "node:crypto";
import { getConfig } from "@/lib/config/service";
import { nowIso } from "@/lib/db/timestamps";
import type { NotificationChannelRow, NotificationDeliveryRow } from "@/lib/db/schema/notifications";
import { AppError, notFound } from "@/lib/errors";
import { getLogger } from "@/lib/log/logger";
import { decodeCursor, toPage, type Page } from "@/lib/pagination";
import { z } from "zod";
import { CHANNEL_KINDS, type ChannelKind } from "@/lib/notify/channel-kinds";
import { CONFIG_CHANNEL_ID, configWebhookChannel } from "@/lib/notify/channels-config";
import { attemptDelivery, kickDelivery } from "@/lib/notify/delivery";
import { EVENTS, TEST_EVENT, severityAtLeast, type EventName, type EventPayload, type Severity } from "@/lib/notify/events";
import type { CreateChannelInput, ListDeliveriesQuery, UpdateChannelInput } from "@/lib/notify/inputs";
import type { NotificationMessage } from "@/lib/notify/message";
import * as queries from "@/lib/notify/queries";
import type { ChannelDto, DeliveryDto, DeliveryStatus, QuietHours, TestResultDto } from "@/lib/notify/types";
import { openJson, sealJson } from "@/lib/secrets/sealed";
import { isWriteFrozenError } from "@/lib/db/write-freeze";

const HOUR_MS = 3_600_000;
const MINUTES_PER_DAY = 24 * 60;

// ---------------------------------------------------------------------------------------------
// The entry point

/**
 * Announces an event to every channel that subscribes to it, throttled: a problem already announced
 * to a channel is repeated at most every reminder_hours, its clearing is sent only where it was
 * announced. Writes the deliveries to the outbox and returns; sending happens in the background.
 * Never throws: a notification must not fail the work that caused it.
 */
export async function notify<E extends EventName>(event: E, payload: EventPayload<E>): Promise<void> {
  try {
    await enqueueEvent(event, payload);
  } catch (error) {
    if (isWriteFrozenError(error)) getLogger().warn("notification not queued: writes are frozen for the switch to PostgreSQL", { event });
    else getLogger().error("notification could not be queued", { event, error });
  }
}

async function enqueueEvent<E extends EventName>(event: E, payload: EventPayload<E>): Promise<void> {
  // Each definition's functions take its own payload; the union of all of them is what TypeScript sees here.
  const definition = EVENTS[event] as unknown as {
    severity: Severity;
    payload: z.ZodType<Record<string, unknown>>;
    problem: (p: unknown) => { role: "raise" | "clear"; key: string } | { role: "once" };
    title: (p: unknown) => string;
    text: (p: unknown) => string;
    page: (p: unknown) => string;
  };
  const data = definition.payload.parse(payload);
  const now = new Date();
  const base: NotificationMessage = {
    event,
    severity: definition.severity,
    title: definition.title(data),
    text: definition.text(data),
    link: consoleLink(definition.page(data)),
    occurred_at: now.toISOString(),
    reminder: false,
    data,
  };
  const problem = definition.problem(data);
  const rows: NotificationDeliveryRow[] = [];
  for (const channel of await subscribedChannels()) {
    const subscribed = (JSON.parse(channel.events) as string[]).includes(event);
    let reminder = false;
    if (problem.role === "clear") {
      // The clearing goes where the raise went, whatever the channel's minimum severity.
      const wasTold = await queries.deleteProblem(channel.id, problem.key);
      if (!wasTold || !subscribed) continue;
    } else {
      if (!subscribed || !severityAtLeast(definition.severity, channel.minSeverity as Severity)) continue;
      if (problem.role === "raise") {
        const known = await queries.findProblem(channel.id, problem.key);
        if (known) {
          const reminderMs = (channel.reminderHours ?? getConfig().values.notifications.reminder_hours) * HOUR_MS;
          if (now.getTime() - Date.parse(known.lastSentAt) < reminderMs) continue;
          reminder = true;
        }
        await queries.saveProblem(channel.id, problem.key, known?.raisedAt ?? now.toISOString(), now.toISOString());
      }
    }
    rows.push(newDelivery(channel, { ...base, reminder }, quietHoursEnd(channel, definition.severity, now) ?? now));
  }
  await queries.insertDeliveryRows(rows);
  if (rows.length > 0) kickDelivery();
}

function newDelivery(channel: Pick<NotificationChannelRow, "id" | "name">, message: NotificationMessage, dueAt: Date): NotificationDeliveryRow {
  return {
    id: crypto.randomUUID(),
    createdAt: message.occurred_at,
    event: message.event,
    severity: message.severity,
    channelId: channel.id,
    channelName: channel.name,
    status: "pending",
    attempts: 0,
    nextAttemptAt: dueAt.toISOString(),
    claimedUntil: null,
    lastError: null,
    attemptLog: "[]",
    sentAt: null,
    message: JSON.stringify(message),
  };
}

async function subscribedChannels(): Promise<NotificationChannelRow[]> {
  const rows = (await queries.listChannelRows()).filter((row) => row.enabled);
  const fromConfig = configWebhookChannel();
  return fromConfig ? [...rows, fromConfig.row] : rows;
}

/** The console page as an absolute link, when server.public_url says where the console is. */
function consoleLink(page: string): string | null {
  const base = getConfig().values.server.public_url;
  return base ? `${base.replace(/\/+$/, "")}${page}` : null;
}

/** When quiet hours hold back a non-critical event: the end of the quiet period, else null. */
export function quietHoursEnd(channel: Pick<NotificationChannelRow, "quietStart" | "quietEnd">, severity: Severity, now: Date): Date | null {
  if (!channel.quietStart || !channel.quietEnd || severity === "critical") return null;
  const minute = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
  const start = minute(channel.quietStart);
  const end = minute(channel.quietEnd);
  const current = now.getUTCHours() * 60 + now.getUTCMinutes();
  const inside = start < end ? current >= start && current < end : current >= start || current < end;
  if (!inside) return null;
  const untilEnd = (end - current + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  const at = new Date(now);
  at.setUTCSeconds(0, 0);
  return new Date(at.getTime() + untilEnd * 60_000);
}

// ---------------------------------------------------------------------------------------------
// Channels

/** Every channel, the one made from storage.alert_webhook_url last. Reads only. */
export async function listChannels(): Promise<ChannelDto[]> {
  const rows = await queries.listChannelRows();
  const fromConfig = configWebhookChannel();
  const all = fromConfig ? [...rows, fromConfig.row] : rows;
  return Promise.all(all.map(toChannelDto));
}

export async function getChannel(id: string): Promise<ChannelDto> {
  return toChannelDto(await channelRow(id));
}

/** The channels whose newest delivery failed after every retry: the Overview flags them. Reads only. */
export async function listFailingChannels(): Promise<ChannelDto[]> {
  return (await listChannels()).filter((channel) => channel.failing);
}

/** Adds a channel; its secrets are sealed. Inserts one notification_channels row. */
export async function createChannel(input: CreateChannelInput): Promise<ChannelDto> {
  await assertNameFree(input.name, null);
  const now = nowIso();
  const row: NotificationChannelRow = {
    id: crypto.randomUUID(),
    name: input.name,
    kind: input.kind,
    enabled: input.enabled,
    settings: JSON.stringify(input.settings),
    secrets: sealSecrets(input.secrets),
    events: JSON.stringify(input.events),
    minSeverity: input.min_severity,
    reminderHours: input.reminder_hours,
    quietStart: input.quiet_hours?.start ?? null,
    quietEnd: input.quiet_hours?.end ?? null,
    createdAt: now,
    updatedAt: now,
  };
  await queries.insertChannelRow(row);
  return toChannelDto(row);
}

/**
 * Changes a channel: settings merge over the stored ones and are checked as a whole; a secret left
 * out or empty keeps its stored value. Updates one notification_channels row.
 */
export async function updateChannel(id: string, input: UpdateChannelInput): Promise<ChannelDto> {
  const row = await channelRow(id, { editable: true });
  const kind = CHANNEL_KINDS[row.kind as ChannelKind] as { settings: z.ZodType<Record<string, unknown>>; secrets: z.ZodType<Record<string, unknown>> };
  if (input.name !== undefined) await assertNameFree(input.name, id);
  const change: Partial<NotificationChannelRow> = { updatedAt: nowIso() };
  if (input.name !== undefined) change.name = input.name;
  if (input.enabled !== undefined) change.enabled = input.enabled;
  if (input.events !== undefined) change.events = JSON.stringify(input.events);
  if (input.min_severity !== undefined) change.minSeverity = input.min_severity;
  if (input.reminder_hours !== undefined) change.reminderHours = input.reminder_hours;
  if (input.quiet_hours !== undefined) {
    change.quietStart = input.quiet_hours?.start ?? null;
    change.quietEnd = input.quiet_hours?.end ?? null;
  }
  if (input.settings !== undefined) {
    const merged = { ...(JSON.parse(row.settings) as Record<string, unknown>), ...input.settings };
    change.settings = JSON.stringify(prefixed("settings", kind.settings.safeParse(merged)));
  }
  const given = Object.fromEntries(Object.entries(input.secrets ?? {}).filter(([, value]) => value !== ""));
  if (Object.keys(given).length > 0) {
    const stored = row.secrets ? storedSecrets(row.secrets) : {};
    change.secrets = sealSecrets(prefixed("secrets", kind.secrets.safeParse({ ...stored, ...given })));
  }
  await queries.updateChannelRow(id, change);
  return getChannel(id);
}

/** Deletes a channel; its log rows stay, its queued deliveries are marked failed. */
export async function deleteChannel(id: string): Promise<ChannelDto> {
  const dto = await toChannelDto(await channelRow(id, { editable: true }));
  await queries.deleteChannelRow(id);
  return dto;
}

/**
 * Sends a test message to the channel now, once, and answers with the outcome (the receiver's own
 * words when it refused). Recorded in the delivery log like any other.
 */
export async function testChannel(id: string): Promise<TestResultDto> {
  const channel = await channelRow(id);
  const now = new Date();
  const message: NotificationMessage = {
    event: TEST_EVENT,
    severity: "info",
    title: "Test notification",
    text: `This is a test from the Mimir AIP console, sent to the channel '${channel.name}'.`,
    link: consoleLink("/settings"),
    occurred_at: now.toISOString(),
    reminder: false,
    data: {},
  };
  const row = { ...newDelivery(channel, message, now), status: "sending" };
  await queries.insertDeliveryRows([row]);
  const outcome = await attemptDelivery(row, { retry: false });
  return { delivery_id: row.id, status: outcome.status === "sent" ? "sent" : "failed", error: outcome.error };
}

async function channelRow(id: string, options: { editable?: boolean } = {}): Promise<NotificationChannelRow> {
  if (id === CONFIG_CHANNEL_ID) {
    const fromConfig = configWebhookChannel();
    if (!fromConfig) throw notFound("Notification channel", id);
    if (options.editable)
      throw new AppError("not_editable", "This channel is storage.alert_webhook_url: change or empty it under Runtime overrides (or in config.yaml)");
    return fromConfig.row;
  }
  const row = await queries.findChannelRow(id);
  if (!row) throw notFound("Notification channel", id);
  return row;
}

async function assertNameFree(name: string, except: string | null) {
  const clash = (await queries.listChannelRows()).find((row) => row.name.toLowerCase() === name.toLowerCase() && row.id !== except);
  if (clash) throw new AppError("already_exists", `A channel named '${name}' exists already`);
}

function prefixed<T>(field: string, result: z.ZodSafeParseResult<T>): T {
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({ path: [field, ...issue.path].join("."), message: issue.message }));
  throw new AppError("invalid_input", details.map((d) => `${d.path}: ${d.message}`).join("; "), { details });
}

function sealSecrets(secrets: Record<string, unknown>): string | null {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, value]) => value !== undefined && value !== ""));
  return Object.keys(present).length > 0 ? sealJson(present) : null;
}

function storedSecrets(sealed: string): Record<string, unknown> {
  try {
    return openJson(sealed) as Record<string, unknown>;
  } catch {
    // Unreadable under the current key: the new values given must then be complete on their own.
    return {};
  }
}

async function toChannelDto(row: NotificationChannelRow): Promise<ChannelDto> {
  const fromConfig = row.id === CONFIG_CHANNEL_ID;
  const last = await queries.findLastOutcome(row.id);
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as ChannelKind,
    enabled: row.enabled,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secrets_set: fromConfig ? ["url"] : row.secrets ? Object.keys(storedSecrets(row.secrets)) : [],
    events: JSON.parse(row.events) as EventName[],
    min_severity: row.minSeverity as Severity,
    reminder_hours: row.reminderHours,
    quiet_hours: row.quietStart && row.quietEnd ? ({ start: row.quietStart, end: row.quietEnd } satisfies QuietHours) : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    last_delivery: last ? { status: last.status as "sent" | "failed", at: last.sentAt ?? lastAttemptAt(last) ?? last.createdAt, error: last.lastError } : null,
    // A disabled channel is not expected to deliver, so it is not flagged.
    failing: row.enabled && last?.status === "failed",
    from_config: fromConfig,
  };
}

function lastAttemptAt(row: NotificationDeliveryRow): string | null {
  const log = JSON.parse(row.attemptLog) as { at: string }[];
  return log.at(-1)?.at ?? null;
}

// ---------------------------------------------------------------------------------------------
// The delivery log

const deliveryCursor = z.object({ created_at: z.string(), id: z.string() });

/** The delivery log, newest first, optionally for one channel or status. Reads only. */
export async function listDeliveries(query: ListDeliveriesQuery): Promise<Page<DeliveryDto>> {
  const before = decodeCursor(query.cursor, deliveryCursor);
  const rows = await queries.listDeliveryRows({ channelId: query.channel_id, status: query.status, before, limit: query.limit + 1 });
  return toPage(rows.map(toDeliveryDto), query.limit, (row) => ({ created_at: row.created_at, id: row.id }));
}

export async function getDelivery(id: string): Promise<DeliveryDto> {
  const row = await queries.findDeliveryRow(id);
  if (!row) throw notFound("Delivery", id);
  return toDeliveryDto(row);
}

function toDeliveryDto(row: NotificationDeliveryRow): DeliveryDto {
  const message = JSON.parse(row.message) as NotificationMessage;
  return {
    id: row.id,
    created_at: row.createdAt,
    event: row.event,
    severity: row.severity as Severity,
    channel_id: row.channelId,
    channel_name: row.channelName,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    next_attempt_at: row.status === "pending" ? row.nextAttemptAt : null,
    last_error: row.lastError,
    sent_at: row.sentAt,
    attempt_log: JSON.parse(row.attemptLog) as { at: string; error: string | null }[],
    title: message.title,
    reminder: message.reminder,
  };
}
