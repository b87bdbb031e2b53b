import "server-only";
import { getLogger } from "@/lib/log/logger";
import { outboundFetch } from "@/lib/net/outbound";

/** A receiver that has not answered by then is given up on; the caller decides whether to retry. */
export const WEBHOOK_TIMEOUT_MS = 5_000;

export interface WebhookPayload {
  /** the human message: Slack and Discord both render a top-level `text` field */
  text: string;
  [key: string]: unknown;
}

/**
 * POSTs `payload` as JSON to `url` (a redirect counts as a refusal). Returns whether the receiver answered 2xx; never throws. The URL
 * is logged by host only: webhook URLs carry their secret in the path (Slack, Discord).
 */
export async function sendWebhook(url: string, payload: WebhookPayload): Promise<boolean> {
  const host = safeHost(url);
  try {
    // Through the outbound guard: no loopback, private or link-local destination unless allowed, no redirects.
    const response = await outboundFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: payload.text, ...payload }),
      timeoutMs: WEBHOOK_TIMEOUT_MS,
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) getLogger().warn("webhook refused", { host, status: response.status });
    return response.ok;
  } catch (error) {
    getLogger().warn("webhook not delivered", { host, reason: unreachableReason(error) });
    return false;
  }
}

/**
 * Why a fetch did not get an answer, in words an operator can act on. Node's fetch says only
 * "fetch failed"; the cause underneath says "connect ECONNREFUSED 10.0.0.5:443", "getaddrinfo
 * ENOTFOUND hooks.example", or names the certificate problem. Addresses only, never the URL's path.
 */
export function unreachableReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return "timeout";
  if (error.name === "AppError") return error.message;
  const cause = error.cause;
  if (cause instanceof Error) return cause.message || ("code" in cause ? String(cause.code) : error.message);
  return error.message;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid url)";
  }
}
