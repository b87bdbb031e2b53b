import { pgTable, text, integer, boolean, index, primaryKey } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/notifications.ts. */
export const notificationChannels = pgTable(
  "notification_channels",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
    enabled: boolean("enabled").notNull(),
    settings: text("settings").notNull(),
    secrets: text("secrets"),
    events: text("events").notNull(),
    minSeverity: text("min_severity").notNull(),
    reminderHours: integer("reminder_hours"),
    /** "HH:MM" of a day, not a point in time: text */
    quietStart: text("quiet_start"),
    quietEnd: text("quiet_end"),
    createdAt: isoTimestamp("created_at").notNull(),
    updatedAt: isoTimestamp("updated_at").notNull(),
  },
  (t) => [index("idx_notification_channels_name").on(t.name)],
);

export const notificationDeliveries = pgTable(
  "notification_deliveries",
  {
    id: text("id").primaryKey(),
    createdAt: isoTimestamp("created_at").notNull(),
    event: text("event").notNull(),
    severity: text("severity").notNull(),
    channelId: text("channel_id").notNull(),
    channelName: text("channel_name").notNull(),
    status: text("status").notNull(),
    attempts: integer("attempts").notNull(),
    nextAttemptAt: isoTimestamp("next_attempt_at"),
    claimedUntil: isoTimestamp("claimed_until"),
    lastError: text("last_error"),
    attemptLog: text("attempt_log").notNull(),
    sentAt: isoTimestamp("sent_at"),
    message: text("message").notNull(),
  },
  (t) => [
    index("idx_notification_deliveries_status_next").on(t.status, t.nextAttemptAt),
    index("idx_notification_deliveries_channel_created").on(t.channelId, t.createdAt),
    index("idx_notification_deliveries_created").on(t.createdAt),
  ],
);

export const notificationProblems = pgTable(
  "notification_problems",
  {
    channelId: text("channel_id").notNull(),
    problemKey: text("problem_key").notNull(),
    raisedAt: isoTimestamp("raised_at").notNull(),
    lastSentAt: isoTimestamp("last_sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.channelId, t.problemKey] })],
);

export const jobNotificationSettings = pgTable("job_notification_settings", {
  jobId: text("job_id").primaryKey(),
  failureThreshold: integer("failure_threshold").notNull(),
  consecutiveFailures: integer("consecutive_failures").notNull(),
});
