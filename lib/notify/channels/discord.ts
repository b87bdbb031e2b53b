import type { ChannelSecrets } from "@/lib/notify/channel-kinds";
import type { NotificationMessage } from "@/lib/notify/message";
import { clip, jsonRequest, type HttpRequest } from "@/lib/notify/channels/http-request";

/** Discord refuses a `content` longer than 2000 characters. */
const DISCORD_CONTENT_MAX = 2000;

/** A webhook message: markdown `content`; mentions are switched off so a job name cannot ping @everyone. */
export function formatDiscord(message: NotificationMessage, secrets: ChannelSecrets<"discord">): HttpRequest {
  const title = message.reminder ? `${message.title} (still ongoing)` : message.title;
  const lines = [`**${title}**`, message.text];
  if (message.link) lines.push(`<${message.link}>`);
  return jsonRequest(secrets.webhook_url, { content: clip(lines.join("\n"), DISCORD_CONTENT_MAX), allowed_mentions: { parse: [] } });
}
