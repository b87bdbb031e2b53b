import "server-only";
import type { ChannelKind, ChannelSecrets, ChannelSettings } from "@/lib/notify/channel-kinds";
import type { NotificationMessage } from "@/lib/notify/message";
import { postNotification } from "@/lib/notify/transport";
import type { HttpRequest } from "@/lib/notify/channels/http-request";
import { sendEmail } from "@/lib/notify/channels/email";
import { formatSlack } from "@/lib/notify/channels/slack";
import { formatDiscord } from "@/lib/notify/channels/discord";
import { formatTeams } from "@/lib/notify/channels/teams";
import { formatTelegram } from "@/lib/notify/channels/telegram";
import { formatNtfy } from "@/lib/notify/channels/ntfy";
import { formatGotify } from "@/lib/notify/channels/gotify";
import { formatWebhook } from "@/lib/notify/channels/webhook";

export interface ChannelTarget {
  kind: ChannelKind;
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/** One attempt to deliver `message` to a channel; resolves when the receiver accepted it, else throws DeliveryError. */
export async function sendToChannel(target: ChannelTarget, message: NotificationMessage): Promise<void> {
  if (target.kind === "email") return sendEmail(message, target.settings as ChannelSettings<"email">, target.secrets as ChannelSecrets<"email">);
  const request = formatRequest(target, message);
  await postNotification(request.url, { headers: request.headers, body: request.body });
}

function formatRequest({ kind, settings, secrets }: ChannelTarget, message: NotificationMessage): HttpRequest {
  switch (kind) {
    case "slack":
      return formatSlack(message, secrets as ChannelSecrets<"slack">);
    case "discord":
      return formatDiscord(message, secrets as ChannelSecrets<"discord">);
    case "teams":
      return formatTeams(message, secrets as ChannelSecrets<"teams">);
    case "telegram":
      return formatTelegram(message, settings as ChannelSettings<"telegram">, secrets as ChannelSecrets<"telegram">);
    case "ntfy":
      return formatNtfy(message, settings as ChannelSettings<"ntfy">, secrets as ChannelSecrets<"ntfy">);
    case "gotify":
      return formatGotify(message, settings as ChannelSettings<"gotify">, secrets as ChannelSecrets<"gotify">);
    case "webhook":
      return formatWebhook(message, secrets as ChannelSecrets<"webhook">);
    case "email":
      throw new Error("e-mail is not an HTTP channel");
  }
}
