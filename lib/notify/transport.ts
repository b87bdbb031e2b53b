import "server-only";
import { getConfig } from "@/lib/config/service";
import { isAppError } from "@/lib/errors";
import { outboundFetch, resolveAllowedDestination } from "@/lib/net/outbound";

/**
 * The only ways notifications leave the process: every HTTP channel posts through
 * `postNotification`, the SMTP channel resolves its server through `resolveSmtpHost`. Both go through
 * the outbound guard (lib/net/outbound.ts: loopback and private addresses refused unless allowed).
 */

/** What a receiver may answer that is read, at most: enough for its error message, never a whole page. */
export const MAX_RESPONSE_BYTES = 2048;

/** A failed attempt, with the reason in words an operator can act on; never holds the URL (it may carry a token). */
export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeliveryError";
  }
}

export function deliveryTimeoutMs(): number {
  return getConfig().values.notifications.timeout_seconds * 1000;
}

/**
 * POSTs (or whatever `init.method` says) to `url` without following redirects, within the delivery
 * timeout, and reads at most MAX_RESPONSE_BYTES of the answer. Resolves on 2xx; throws DeliveryError
 * with the status and the start of the receiver's answer otherwise.
 */
export async function postNotification(url: string, init: RequestInit): Promise<void> {
  let response: Response;
  try {
    // The guard never follows a redirect: a 3xx answer is a failed attempt below.
    response = await outboundFetch(url, { method: "POST", ...init, timeoutMs: deliveryTimeoutMs() });
  } catch (error) {
    if (isAppError(error)) throw new DeliveryError(`${hostOf(url)}: ${error.message}`);
    const reason =
      error instanceof Error && error.name === "TimeoutError"
        ? `no answer within ${getConfig().values.notifications.timeout_seconds} s`
        : unreachableReason(error);
    throw new DeliveryError(`${hostOf(url)}: ${reason}`);
  }
  const answer = await readCapped(response).catch(() => "");
  if (!response.ok) throw new DeliveryError(`${hostOf(url)} answered ${response.status}${answer ? `: ${answer}` : ""}`);
}

/**
 * The address the mail transport connects to: the SMTP server's name resolved and checked by the
 * outbound guard, so the connection goes to the address that was checked (no rebinding).
 */
export async function resolveSmtpHost(host: string, port: number): Promise<string> {
  try {
    return (await resolveAllowedDestination(host, port)).address;
  } catch (error) {
    if (isAppError(error)) throw new DeliveryError(`SMTP ${host}:${port}: ${error.message}`);
    throw new DeliveryError(`SMTP ${host}:${port}: ${unreachableReason(error)}`);
  }
}

async function readCapped(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString("utf8").replace(/\s+/g, " ").trim().slice(0, 300);
}

/**
 * Why a fetch did not get an answer. Node's fetch says only "fetch failed"; the cause underneath says
 * "connect ECONNREFUSED 10.0.0.5:443", "getaddrinfo ENOTFOUND hooks.example", or names the
 * certificate problem. Addresses only, never the URL's path.
 */
export function unreachableReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return "timeout";
  const cause = error.cause;
  if (cause instanceof Error) return cause.message || ("code" in cause ? String(cause.code) : error.message);
  return error.message;
}

/** The URL's host, for messages and logs: webhook URLs carry their secret in the path (Slack, Discord). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid url)";
  }
}
