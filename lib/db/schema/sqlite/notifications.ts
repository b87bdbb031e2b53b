import { sqliteTable, text, integer, index, primaryKey } from "drizzle-orm/sqlite-core";

/** A place notifications go (an SMTP mailbox, a Slack webhook, an ntfy topic, …) and what it subscribes to. */
export const notificationChannels = sqliteTable(
  "notification_channels",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** email | slack | discord | teams | telegram | ntfy | gotify | webhook */
    kind: text("kind").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    /** JSON of the kind's settings that are not secret (SMTP host, chat id, topic) */
    settings: text("settings").notNull(),
    /** JSON of the kind's secrets, sealed by lib/secrets (AES-256-GCM); never returned by the API */
    secrets: text("secrets"),
    /** JSON array of event names */
    events: text("events").notNull(),
    /** info | warning | critical: events below it are not sent to this channel */
    minSeverity: text("min_severity").notNull(),
    /** hours between reminders of a problem still raised; null: notifications.reminder_hours */
    reminderHours: integer("reminder_hours"),
    /** "HH:MM" UTC; while inside [start, end) only critical events go out at once, the rest wait for the end */
    quietStart: text("quiet_start"),
    quietEnd: text("quiet_end"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("idx_notification_channels_name").on(t.name)],
);

/**
 * The outbox and the delivery log in one: a row per (event, channel), written when the event happens
 * and updated by each attempt, so a restart loses nothing and the Settings page shows every outcome.
 */
export const notificationDeliveries = sqliteTable(
  "notification_deliveries",
  {
    id: text("id").primaryKey(),
    createdAt: text("created_at").notNull(),
    event: text("event").notNull(),
    severity: text("severity").notNull(),
    /** the channel's id; channel_name keeps the log readable after the channel is deleted */
    channelId: text("channel_id").notNull(),
    channelName: text("channel_name").notNull(),
    /** pending | sending | sent | failed */
    status: text("status").notNull(),
    attempts: integer("attempts").notNull(),
    nextAttemptAt: text("next_attempt_at"),
    /** until when the process that set status 'sending' owns the row; a later claim may take it over */
    claimedUntil: text("claimed_until"),
    lastError: text("last_error"),
    /** JSON array of {at, error|null}: one entry per attempt */
    attemptLog: text("attempt_log").notNull(),
    sentAt: text("sent_at"),
    /** JSON of the rendered message (title, text, link, data): what every attempt sends */
    message: text("message").notNull(),
  },
  (t) => [
    index("idx_notification_deliveries_status_next").on(t.status, t.nextAttemptAt),
    index("idx_notification_deliveries_channel_created").on(t.channelId, t.createdAt),
    index("idx_notification_deliveries_created").on(t.createdAt),
  ],
);

/** Which ongoing problems each channel has been told about, for throttling and for sending the "cleared" once. */
export const notificationProblems = sqliteTable(
  "notification_problems",
  {
    channelId: text("channel_id").notNull(),
    /** "backup", "job:<id>", "storage:<alert>" */
    problemKey: text("problem_key").notNull(),
    raisedAt: text("raised_at").notNull(),
    lastSentAt: text("last_sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.problemKey] })],
);

/** Per job, how many failed runs in a row it takes to notify; beside scheduled_jobs so Mimir's table keeps its shape. */
export const jobNotificationSettings = sqliteTable("job_notification_settings", {
  jobId: text("job_id").primaryKey(),
  failureThreshold: integer("failure_threshold").notNull(),
  consecutiveFailures: integer("consecutive_failures").notNull(),
});

export type NotificationChannelRow = typeof notificationChannels.$inferSelect;
export type NotificationDeliveryRow = typeof notificationDeliveries.$inferSelect;
export type NotificationProblemRow = typeof notificationProblems.$inferSelect;
export type JobNotificationSettingsRow = typeof jobNotificationSettings.$inferSelect;
