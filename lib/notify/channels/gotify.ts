import type { ChannelSecrets, ChannelSettings } from "@/lib/notify/channel-kinds";
import type { NotificationMessage } from "@/lib/notify/message";
import { jsonRequest, type HttpRequest } from "@/lib/notify/channels/http-request";

/** Gotify's priorities as its Android app treats them: 8 and above sound and pop up. */
const PRIORITY = { info: 2, warning: 5, critical: 8 } as const;

/** POST /message with the application token in X-Gotify-Key (not in the URL, where proxies log it). */
export function formatGotify(message: NotificationMessage, settings: ChannelSettings<"gotify">, secrets: ChannelSecrets<"gotify">): HttpRequest {
  const body = {
    title: message.reminder ? `${message.title} (still ongoing)` : message.title,
    message: message.link ? `${message.text}\n${message.link}` : message.text,
    priority: PRIORITY[message.severity],
    ...(message.link ? { extras: { "client::notification": { click: { url: message.link } } } } : {}),
  };
  return jsonRequest(`${settings.server_url.replace(/\/+$/, "")}/message`, body, { "X-Gotify-Key": secrets.app_token });
}
