import type { ChannelSecrets, ChannelSettings } from "@/lib/notify/channel-kinds";
import type { NotificationMessage } from "@/lib/notify/message";
import { jsonRequest, type HttpRequest } from "@/lib/notify/channels/http-request";

/** ntfy priorities: 3 is the default, 4 high, 5 urgent (breaks through Do Not Disturb on phones). */
const PRIORITY = { info: 3, warning: 4, critical: 5 } as const;
const TAGS = { info: ["white_check_mark"], warning: ["warning"], critical: ["rotating_light"] } as const;

/** ntfy's JSON publishing: POST to the server root with the topic in the body. */
export function formatNtfy(message: NotificationMessage, settings: ChannelSettings<"ntfy">, secrets: ChannelSecrets<"ntfy">): HttpRequest {
  const body = {
    topic: settings.topic,
    title: message.reminder ? `${message.title} (still ongoing)` : message.title,
    message: message.text,
    priority: PRIORITY[message.severity],
    tags: TAGS[message.severity],
    ...(message.link ? { click: message.link } : {}),
  };
  return jsonRequest(settings.server_url.replace(/\/+$/, "") + "/", body, secrets.access_token ? { Authorization: `Bearer ${secrets.access_token}` } : {});
}
