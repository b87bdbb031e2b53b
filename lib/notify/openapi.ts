import { z } from "zod";
import { pageOf, type ApiRoute } from "@/lib/openapi-registry";
import { CHANNEL_KIND_NAMES } from "@/lib/notify/channel-kinds";
import { EVENT_NAMES, EVENTS, SEVERITIES } from "@/lib/notify/events";
import { channelIdParams, createChannelInput, listDeliveriesQuery, updateChannelInput } from "@/lib/notify/inputs";
import { DELIVERY_STATUSES, type ChannelDto, type DeliveryDto, type TestResultDto } from "@/lib/notify/types";

const TAG = "Notifications";

const channel = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(CHANNEL_KIND_NAMES),
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    secrets_set: z.array(z.string()),
    events: z.array(z.enum(EVENT_NAMES)),
    min_severity: z.enum(SEVERITIES),
    reminder_hours: z.number().nullable(),
    quiet_hours: z.object({ start: z.string(), end: z.string() }).nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    last_delivery: z.object({ status: z.enum(["sent", "failed"]), at: z.string(), error: z.string().nullable() }).nullable(),
    failing: z.boolean(),
    from_config: z.boolean(),
  })
  .loose() satisfies z.ZodType<ChannelDto>;

const delivery = z
  .object({
    id: z.string(),
    created_at: z.string(),
    event: z.string(),
    severity: z.enum(SEVERITIES),
    channel_id: z.string(),
    channel_name: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    sent_at: z.string().nullable(),
    attempt_log: z.array(z.object({ at: z.string(), error: z.string().nullable() })),
    title: z.string(),
    reminder: z.boolean(),
  })
  .loose() satisfies z.ZodType<DeliveryDto>;

const testResult = z.object({ delivery_id: z.string(), status: z.enum(["sent", "failed"]), error: z.string().nullable() }) satisfies z.ZodType<TestResultDto>;
const eventInfo = z.object({ name: z.enum(EVENT_NAMES), severity: z.enum(SEVERITIES), description: z.string() });

const noChannel = { 404: { description: "No such channel" } };
const fromConfig = { 400: { description: "Bad input; or the channel is storage.alert_webhook_url, changed in the configuration (code not_editable)" } };

/** The event catalogue for a script author: each name, its severity and what its `data` holds. */
const EVENTS_DESCRIPTION =
  "Each event, its severity and the fields of `data` in a webhook body:\n\n" +
  EVENT_NAMES.map(
    (name) => `- \`${name}\` (${EVENTS[name].severity}): ${EVENTS[name].description}; data: ${Object.keys(EVENTS[name].payload.shape).join(", ")}`,
  ).join("\n");

/** The notification routes, for the OpenAPI document. */
export const NOTIFY_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/notifications/channels",
    summary: "Notification channels with their last delivery; secrets are named, never returned",
    tag: TAG,
    access: "admin",
    responses: { 200: { description: "Every channel (one page)", schema: pageOf(channel) } },
  },
  {
    method: "post",
    path: "/api/v1/notifications/channels",
    summary: "Add a channel: e-mail (SMTP), Slack, Discord, Teams, Telegram, ntfy, Gotify or a JSON webhook; secrets are sealed at rest",
    tag: TAG,
    access: "admin",
    body: createChannelInput,
    responses: { 201: { description: "The channel", schema: channel }, 409: { description: "The name is taken (code already_exists)" } },
  },
  {
    method: "get",
    path: "/api/v1/notifications/channels/{channelId}",
    summary: "One channel",
    tag: TAG,
    access: "admin",
    params: channelIdParams,
    responses: { 200: { description: "The channel", schema: channel }, ...noChannel },
  },
  {
    method: "patch",
    path: "/api/v1/notifications/channels/{channelId}",
    summary: "Change a channel: settings merge over the stored ones; a secret left out or empty keeps its stored value",
    tag: TAG,
    access: "admin",
    params: channelIdParams,
    body: updateChannelInput,
    responses: { 200: { description: "The channel", schema: channel }, ...noChannel, ...fromConfig },
  },
  {
    method: "delete",
    path: "/api/v1/notifications/channels/{channelId}",
    summary: "Delete a channel; its deliveries stay in the log",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: channelIdParams,
    responses: { 200: { description: "The channel as it was", schema: channel }, ...noChannel, ...fromConfig },
  },
  {
    method: "post",
    path: "/api/v1/notifications/channels/{channelId}/test",
    summary: "Send a test message now and answer with the outcome (the receiver's own words when it refused)",
    tag: TAG,
    access: "admin",
    params: channelIdParams,
    responses: { 200: { description: "Sent or failed, with the reason", schema: testResult }, ...noChannel },
  },
  {
    method: "get",
    path: "/api/v1/notifications/deliveries",
    summary: "The delivery log, newest first: event, channel, status, attempts and each attempt's error",
    tag: TAG,
    access: "admin",
    query: listDeliveriesQuery,
    responses: { 200: { description: "A page of deliveries", schema: pageOf(delivery) } },
  },
  {
    method: "get",
    path: "/api/v1/notifications/events",
    summary: "The events a channel can subscribe to",
    description: EVENTS_DESCRIPTION,
    tag: TAG,
    access: "read",
    responses: { 200: { description: "Every event (one page)", schema: pageOf(eventInfo) } },
  },
];
