import type { ChannelSecrets } from "@/lib/notify/channel-kinds";
import type { NotificationMessage } from "@/lib/notify/message";
import { jsonRequest, type HttpRequest } from "@/lib/notify/channels/http-request";

/**
 * An Adaptive Card in the envelope Teams workflows ("when a Teams webhook request is received")
 * expect; the retired Office 365 connectors' MessageCard is not accepted by new webhooks.
 */
export function formatTeams(message: NotificationMessage, secrets: ChannelSecrets<"teams">): HttpRequest {
  const card = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    body: [
      {
        type: "TextBlock",
        size: "Medium",
        weight: "Bolder",
        wrap: true,
        color: COLOR[message.severity],
        text: message.reminder ? `${message.title} (still ongoing)` : message.title,
      },
      { type: "TextBlock", wrap: true, text: message.text },
    ],
    actions: message.link ? [{ type: "Action.OpenUrl", title: "Open in the Mimir console", url: message.link }] : [],
  };
  return jsonRequest(secrets.webhook_url, {
    type: "message",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card }],
  });
}

const COLOR = { info: "Good", warning: "Warning", critical: "Attention" } as const;
