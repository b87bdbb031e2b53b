import "server-only";
import { getConfig } from "@/lib/config/service";
import { EVENT_NAMES } from "@/lib/notify/events";
import type { NotificationChannelRow } from "@/lib/db/schema/notifications";

/**
 * storage.alert_webhook_url, kept working as it was: a generic webhook channel that gets every event,
 * made from the configuration on each read (so a change on the Settings page applies at once) and
 * never stored. Its URL stays in config.yaml, where it always was; it is not sealed.
 */
export const CONFIG_CHANNEL_ID = "config-alert-webhook";

export function configWebhookChannel(): { row: NotificationChannelRow; secrets: { url: string } } | null {
  const url = getConfig().values.storage.alert_webhook_url;
  if (!url) return null;
  const epoch = new Date(0).toISOString();
  return {
    row: {
      id: CONFIG_CHANNEL_ID,
      name: "storage.alert_webhook_url",
      kind: "webhook",
      enabled: true,
      settings: "{}",
      secrets: null,
      events: JSON.stringify(EVENT_NAMES),
      minSeverity: "info",
      reminderHours: null,
      quietStart: null,
      quietEnd: null,
      createdAt: epoch,
      updatedAt: epoch,
    },
    secrets: { url },
  };
}
