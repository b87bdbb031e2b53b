import "server-only";
import net from "node:net";
import type { ChannelSecrets, ChannelSettings } from "@/lib/notify/channel-kinds";
import { plainText, type NotificationMessage } from "@/lib/notify/message";
import { DeliveryError, deliveryTimeoutMs, resolveSmtpHost } from "@/lib/notify/transport";

// Loaded on first use: nodemailer is ~5 MB of a server's memory that a console without an e-mail
// channel never needs, and every route's code (which reaches this file) is loaded at boot.
const loadNodemailer = async () => (await import("nodemailer")).default;

/** Sends one plain-text e-mail through the channel's SMTP server; throws DeliveryError with the server's reason. */
export async function sendEmail(message: NotificationMessage, settings: ChannelSettings<"email">, secrets: ChannelSecrets<"email">): Promise<void> {
  const timeout = deliveryTimeoutMs();
  const nodemailer = await loadNodemailer();
  const transport = nodemailer.createTransport({
    host: await resolveSmtpHost(settings.host, settings.port),
    port: settings.port,
    secure: settings.security === "tls",
    requireTLS: settings.security === "starttls",
    ignoreTLS: settings.security === "none",
    auth: settings.username ? { user: settings.username, pass: secrets.password ?? "" } : undefined,
    // The certificate is checked against the name the operator typed, whatever address it resolved to
    // (an address typed as such is no TLS server name: RFC 6066).
    tls: { ...(net.isIP(settings.host) ? {} : { servername: settings.host }), rejectUnauthorized: settings.verify_certificate },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const subject = `[Mimir] ${message.reminder ? `${message.title} (still ongoing)` : message.title}`;
  try {
    await transport.sendMail({
      from: settings.from,
      to: settings.to,
      subject,
      text: `${plainText(message)}\n\nEvent: ${message.event} (${message.severity}) at ${message.occurred_at}\n`,
      headers: { "X-Mimir-Event": message.event },
    });
  } catch (error) {
    throw new DeliveryError(`SMTP ${settings.host}:${settings.port}: ${(error as Error).message}`);
  } finally {
    transport.close();
  }
}
