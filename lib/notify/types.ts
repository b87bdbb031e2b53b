import type { ChannelKind } from "@/lib/notify/channel-kinds";
import type { EventName, Severity } from "@/lib/notify/events";

export const DELIVERY_STATUSES = ["pending", "sending", "sent", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface QuietHours {
  /** "HH:MM", UTC */
  start: string;
  end: string;
}

export interface ChannelDto {
  id: string;
  name: string;
  kind: ChannelKind;
  enabled: boolean;
  /** the kind's settings that are not secret */
  settings: Record<string, unknown>;
  /** names of the secrets that are stored (their values are never returned) */
  secrets_set: string[];
  events: EventName[];
  min_severity: Severity;
  reminder_hours: number | null;
  quiet_hours: QuietHours | null;
  created_at: string;
  updated_at: string;
  /** the newest delivery that has an outcome */
  last_delivery: { status: "sent" | "failed"; at: string; error: string | null } | null;
  /** its newest delivery failed after every retry: flagged on the Overview */
  failing: boolean;
  /** made from storage.alert_webhook_url: changed in the configuration, not here */
  from_config: boolean;
}

export interface DeliveryDto {
  id: string;
  created_at: string;
  event: string;
  severity: Severity;
  channel_id: string;
  channel_name: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  sent_at: string | null;
  attempt_log: { at: string; error: string | null }[];
  title: string;
  reminder: boolean;
}

export interface TestResultDto {
  delivery_id: string;
  status: "sent" | "failed";
  error: string | null;
}

export interface JobNotificationSettingsDto {
  job_id: string;
  /** failed runs in a row before job.failed is sent */
  failure_threshold: number;
  consecutive_failures: number;
}
