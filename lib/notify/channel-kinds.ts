import { z } from "zod";
import type { KindFieldSpec } from "@/lib/kind-fields";

/**
 * The kinds of channel, their settings (stored as they are) and secrets (stored sealed, never shown
 * again), and the fields the Settings page asks for. No server-only code: the form reads it too.
 */
// No user:password@ inside: fetch refuses such a URL with an error that repeats it whole, and the
// credentials belong in the channel's secret fields or headers.
const httpUrl = z
  .url({ protocol: /^https?$/, error: "an http(s) URL" })
  .max(2048)
  .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), "an http(s) URL without user:password@ in it (put credentials in the secret fields)");
const secretUrl = httpUrl;
const optionalSecret = z.string().max(4096).optional();

export const CHANNEL_KINDS = {
  email: {
    label: "E-mail (SMTP)",
    settings: z.object({
      host: z.string().trim().min(1).max(255),
      port: z.coerce.number().int().min(1).max(65535).default(587),
      /** starttls: plain connection upgraded (port 587); tls: TLS from the start (port 465); none: neither */
      security: z.enum(["starttls", "tls", "none"]).default("starttls"),
      username: z.string().max(255).default(""),
      from: z.email().max(255),
      to: z.array(z.email().max(255)).min(1).max(20),
      /** off only for a server with a self-signed certificate on a trusted network */
      verify_certificate: z.boolean().default(true),
    }),
    secrets: z.object({ password: optionalSecret }),
    fields: [
      { name: "host", label: "SMTP server", placeholder: "smtp.example.com" },
      { name: "port", label: "Port", type: "number", placeholder: "587" },
      { name: "security", label: "Security", type: "select", options: ["starttls", "tls", "none"], help: "starttls on 587, tls on 465" },
      { name: "username", label: "User name", placeholder: "alerts@example.com" },
      { name: "password", label: "Password", secret: true },
      { name: "from", label: "From", placeholder: "mimir@example.com" },
      { name: "to", label: "To (comma-separated)", type: "list", placeholder: "ops@example.com" },
      { name: "verify_certificate", label: "Verify the server's certificate", type: "checkbox" },
    ],
  },
  slack: {
    label: "Slack",
    settings: z.object({}),
    secrets: z.object({ webhook_url: secretUrl }),
    fields: [{ name: "webhook_url", label: "Incoming webhook URL", secret: true, placeholder: "https://hooks.slack.com/services/…" }],
  },
  discord: {
    label: "Discord",
    settings: z.object({}),
    secrets: z.object({ webhook_url: secretUrl }),
    fields: [{ name: "webhook_url", label: "Webhook URL", secret: true, placeholder: "https://discord.com/api/webhooks/…" }],
  },
  teams: {
    label: "Microsoft Teams",
    settings: z.object({}),
    secrets: z.object({ webhook_url: secretUrl }),
    fields: [
      {
        name: "webhook_url",
        label: "Workflow webhook URL",
        secret: true,
        help: "from a Teams workflow 'Post to a channel when a webhook request is received'",
      },
    ],
  },
  telegram: {
    label: "Telegram",
    settings: z.object({
      chat_id: z.string().trim().min(1).max(64),
      /** the Bot API's address; another one only for a self-hosted Bot API server */
      api_url: httpUrl.default("https://api.telegram.org"),
    }),
    secrets: z.object({
      bot_token: z
        .string()
        .trim()
        .min(1)
        .max(256)
        .regex(/^[A-Za-z0-9:_-]+$/, "a bot token like 123456:ABC-DEF…"),
    }),
    fields: [
      { name: "bot_token", label: "Bot token", secret: true, placeholder: "123456:ABC-DEF…" },
      { name: "chat_id", label: "Chat id", placeholder: "-1001234567890" },
      { name: "api_url", label: "Bot API address", placeholder: "https://api.telegram.org" },
    ],
  },
  ntfy: {
    label: "ntfy",
    settings: z.object({
      server_url: httpUrl.default("https://ntfy.sh"),
      topic: z
        .string()
        .trim()
        .regex(/^[-_A-Za-z0-9]{1,64}$/, "letters, digits, - and _ (at most 64)"),
    }),
    secrets: z.object({ access_token: optionalSecret }),
    fields: [
      { name: "server_url", label: "Server", placeholder: "https://ntfy.sh" },
      { name: "topic", label: "Topic", placeholder: "mimir-alerts" },
      { name: "access_token", label: "Access token (optional)", secret: true },
    ],
  },
  gotify: {
    label: "Gotify",
    settings: z.object({ server_url: httpUrl }),
    secrets: z.object({ app_token: z.string().trim().min(1).max(256) }),
    fields: [
      { name: "server_url", label: "Server", placeholder: "https://gotify.example.com" },
      { name: "app_token", label: "Application token", secret: true },
    ],
  },
  webhook: {
    label: "Webhook (JSON)",
    settings: z.object({}),
    secrets: z.object({ url: secretUrl, signing_secret: optionalSecret }),
    fields: [
      { name: "url", label: "URL", secret: true, placeholder: "https://hooks.example.com/mimir" },
      { name: "signing_secret", label: "Signing secret (optional)", secret: true, help: "signs the body: X-Mimir-Signature: sha256=<hex HMAC>" },
    ],
  },
} satisfies Record<string, { label: string; settings: z.ZodObject; secrets: z.ZodObject; fields: KindFieldSpec[] }>;

export type ChannelKind = keyof typeof CHANNEL_KINDS;
export const CHANNEL_KIND_NAMES = Object.keys(CHANNEL_KINDS) as [ChannelKind, ...ChannelKind[]];
export type ChannelSettings<K extends ChannelKind> = z.output<(typeof CHANNEL_KINDS)[K]["settings"]>;
export type ChannelSecrets<K extends ChannelKind> = z.output<(typeof CHANNEL_KINDS)[K]["secrets"]>;
