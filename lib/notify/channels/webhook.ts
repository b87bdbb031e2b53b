import crypto from "node:crypto";
import type { ChannelSecrets } from "@/lib/notify/channel-kinds";
import { plainText, type NotificationMessage } from "@/lib/notify/message";
import type { HttpRequest } from "@/lib/notify/channels/http-request";

export const SIGNATURE_HEADER = "X-Mimir-Signature";
export const EVENT_HEADER = "X-Mimir-Event";

/**
 * The generic JSON webhook. `text` and `content` carry the whole message as plain text, so a Slack or
 * Discord URL pasted here (as storage.alert_webhook_url often is) still shows it; the rest is for
 * scripts. With a signing secret, X-Mimir-Signature is `sha256=` + the hex HMAC-SHA256 of the body.
 */
export function formatWebhook(message: NotificationMessage, secrets: ChannelSecrets<"webhook">): HttpRequest {
  const text = plainText(message);
  const body = JSON.stringify({
    event: message.event,
    severity: message.severity,
    title: message.title,
    text,
    content: text,
    message: message.text,
    link: message.link,
    occurred_at: message.occurred_at,
    reminder: message.reminder,
    data: message.data,
  });
  const headers: Record<string, string> = { "Content-Type": "application/json", [EVENT_HEADER]: message.event };
  if (secrets.signing_secret) headers[SIGNATURE_HEADER] = `sha256=${crypto.createHmac("sha256", secrets.signing_secret).update(body).digest("hex")}`;
  return { url: secrets.url, headers, body };
}
