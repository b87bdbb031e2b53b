import type { Severity } from "@/lib/notify/events";

/** What every channel formats: rendered once when the event happens, stored with the delivery. */
export interface NotificationMessage {
  event: string;
  severity: Severity;
  title: string;
  text: string;
  /** the console page about it, absolute when server.public_url is set, else null */
  link: string | null;
  occurred_at: string;
  /** a repeat of a problem already announced */
  reminder: boolean;
  /** the event's payload */
  data: Record<string, unknown>;
}

/** The message as one plain block: title, text, link. */
export function plainText(message: NotificationMessage): string {
  const title = message.reminder ? `${message.title} (reminder: still ongoing)` : message.title;
  return [title, message.text, message.link ? `Open: ${message.link}` : null].filter(Boolean).join("\n");
}
