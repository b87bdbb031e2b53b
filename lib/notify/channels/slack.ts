import type { ChannelSecrets } from "@/lib/notify/channel-kinds";
import type { NotificationMessage } from "@/lib/notify/message";
import { clip, jsonRequest, type HttpRequest } from "@/lib/notify/channels/http-request";

/** Slack's section text holds 3000 characters. */
const SLACK_TEXT_MAX = 3000;

/** An incoming-webhook message: mrkdwn `text` (also the push notification), the link as Slack's <url|label>. */
export function formatSlack(message: NotificationMessage, secrets: ChannelSecrets<"slack">): HttpRequest {
  const title = message.reminder ? `${message.title} (still ongoing)` : message.title;
  const lines = [`${SEVERITY_MARK[message.severity]} *${escapeSlack(title)}*`, escapeSlack(message.text)];
  if (message.link) lines.push(`<${message.link}|Open in the Mimir console>`);
  return jsonRequest(secrets.webhook_url, { text: clip(lines.join("\n"), SLACK_TEXT_MAX) });
}

const SEVERITY_MARK = { info: ":white_check_mark:", warning: ":warning:", critical: ":rotating_light:" } as const;

/** Slack's three control characters in mrkdwn. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
