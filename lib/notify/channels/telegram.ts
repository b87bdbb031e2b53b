import type { ChannelSecrets, ChannelSettings } from "@/lib/notify/channel-kinds";
import { plainText, type NotificationMessage } from "@/lib/notify/message";
import { clip, jsonRequest, type HttpRequest } from "@/lib/notify/channels/http-request";

/** The Bot API refuses messages longer than 4096 characters. */
const TELEGRAM_TEXT_MAX = 4096;

/** sendMessage as plain text: no parse_mode, so nothing in a job name or an error needs escaping. */
export function formatTelegram(message: NotificationMessage, settings: ChannelSettings<"telegram">, secrets: ChannelSecrets<"telegram">): HttpRequest {
  const url = `${settings.api_url.replace(/\/+$/, "")}/bot${secrets.bot_token}/sendMessage`;
  return jsonRequest(url, { chat_id: settings.chat_id, text: clip(plainText(message), TELEGRAM_TEXT_MAX), link_preview_options: { is_disabled: true } });
}
