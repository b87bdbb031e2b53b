import "server-only";
import { getConfig } from "@/lib/config/service";

/**
 * The scheme a browser uses when nothing in front says otherwise: `next start` (and the image)
 * serve plain HTTP; TLS is a proxy's job, and only a trusted proxy's X-Forwarded-Proto says https.
 */
const DIRECT_SCHEME = "http";
/** Loopback names are always answered: a DNS-rebinding page carries its own name in Host, never these. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const HOST_AND_PORT = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/;

/** What these checks read of a request's headers: a fetch Headers, or Node's (lib/request-gate.ts). */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * The host the browser addressed, lowercased: the Host header, or X-Forwarded-Host's first entry
 * when server.trust_proxy says a proxy in front sets it (and drops whatever a client sent).
 */
export function requestHost(headers: HeaderReader, requestUrl: string): string {
  const forwarded = getConfig().values.server.trust_proxy ? firstEntry(headers.get("x-forwarded-host")) : null;
  return (forwarded ?? headers.get("host") ?? new URL(requestUrl).host).toLowerCase();
}

/** This site's origin (scheme, host and port) as the browser sees it, or null when the headers make no URL. */
export function requestOrigin(headers: Headers, requestUrl: string): string | null {
  const forwardedProto = getConfig().values.server.trust_proxy ? firstEntry(headers.get("x-forwarded-proto"))?.toLowerCase() : null;
  const scheme = forwardedProto === "https" || forwardedProto === "http" ? forwardedProto : DIRECT_SCHEME;
  try {
    return new URL(`${scheme}://${requestHost(headers, requestUrl)}`).origin;
  } catch {
    return null;
  }
}

/**
 * Whether the request is for a host this console answers to (server.allowed_hosts; any while the
 * list is empty). An entry without a port allows that name on any port.
 */
export function isAllowedHost(headers: HeaderReader, requestUrl: string): boolean {
  const allowed = getConfig().values.server.allowed_hosts;
  if (allowed.length === 0) return true;
  const host = requestHost(headers, requestUrl);
  const name = HOST_AND_PORT.exec(host)?.[1] ?? host;
  if (LOOPBACK_HOSTS.has(name)) return true;
  return allowed.some((entry) => entry === host || (entry === name && !HOST_AND_PORT.exec(entry)?.[2]));
}

function firstEntry(value: string | null): string | null {
  const first = value?.split(",")[0]?.trim();
  return first ? first : null;
}
