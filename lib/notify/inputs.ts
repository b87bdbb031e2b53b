import { z } from "zod";
import { pageQuery } from "@/lib/pagination";
import { CHANNEL_KINDS, CHANNEL_KIND_NAMES, type ChannelKind } from "@/lib/notify/channel-kinds";
import { EVENT_NAMES, SEVERITIES } from "@/lib/notify/events";
import { DELIVERY_STATUSES } from "@/lib/notify/types";

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time of day as HH:MM (UTC)");
/** A reminder at most once a month: beyond that an ongoing problem is better served by the Overview. */
export const MAX_REMINDER_HOURS = 720;

const quietHours = z
  .object({ start: clock, end: clock })
  .refine((q) => q.start !== q.end, { message: "start and end must differ" })
  .nullable();

const channelBase = {
  name: z.string().trim().min(1).max(100),
  enabled: z.boolean().default(true),
  /** the events this channel gets; all of them when left out */
  events: z
    .array(z.enum(EVENT_NAMES))
    .max(EVENT_NAMES.length)
    .default([...EVENT_NAMES]),
  min_severity: z.enum(SEVERITIES).default("info"),
  /** null: notifications.reminder_hours */
  reminder_hours: z.number().int().min(1).max(MAX_REMINDER_HOURS).nullable().default(null),
  quiet_hours: quietHours.default(null),
};

function kindInput<K extends ChannelKind>(kind: K) {
  return z
    .object({
      kind: z.literal(kind),
      ...channelBase,
      settings: z.preprocess((value) => value ?? {}, CHANNEL_KINDS[kind].settings),
      secrets: z.preprocess((value) => value ?? {}, CHANNEL_KINDS[kind].secrets),
    })
    .strict();
}

/** POST /api/v1/notifications/channels: one shape per kind. */
export const createChannelInput = z.discriminatedUnion(
  "kind",
  CHANNEL_KIND_NAMES.map((kind) => kindInput(kind)) as unknown as [ReturnType<typeof kindInput<"email">>, ...ReturnType<typeof kindInput<ChannelKind>>[]],
);
export type CreateChannelInput = z.output<typeof createChannelInput>;

/** PATCH: any field; `settings` merge over the stored ones; a secret left out (or "") keeps the stored value. */
export const updateChannelInput = z
  .object({
    name: channelBase.name,
    enabled: z.boolean(),
    events: z.array(z.enum(EVENT_NAMES)).max(EVENT_NAMES.length),
    min_severity: z.enum(SEVERITIES),
    reminder_hours: z.number().int().min(1).max(MAX_REMINDER_HOURS).nullable(),
    quiet_hours: quietHours,
    settings: z.record(z.string().max(64), z.unknown()),
    secrets: z.record(z.string().max(64), z.string().max(4096)),
  })
  .partial()
  .strict();
export type UpdateChannelInput = z.output<typeof updateChannelInput>;

export const channelIdParams = z.object({ channelId: z.string().min(1).max(64) });

export const listDeliveriesQuery = pageQuery.extend({
  channel_id: z.string().max(64).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
});
export type ListDeliveriesQuery = z.output<typeof listDeliveriesQuery>;
