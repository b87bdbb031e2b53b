import "server-only";
import { processState } from "@/lib/process-state";
import diagnostics from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { getConfig } from "@/lib/config/service";

/**
 * The header that carries the socket's remote address into route handlers and server actions, which
 * see only a Request. Set on every request by the server itself, over whatever a client sent in it.
 */
export const PEER_ADDRESS_HEADER = "x-mimir-peer-address";

const memo = processState("peerAddress", (): { installed?: boolean } => ({}));

/**
 * Subscribes to Node's `http.server.request.start` channel, which fires before the request reaches
 * Next.js, and stamps the socket's address on the request in PEER_ADDRESS_HEADER. Called once at boot;
 * until it has run, that header is not believed (a client could have sent it).
 */
export function installPeerAddressHeader(): void {
  if (memo.installed) return;
  diagnostics.subscribe("http.server.request.start", (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    request.headers[PEER_ADDRESS_HEADER] = socket.remoteAddress ?? "";
  });
  memo.installed = true;
}

/**
 * The caller's address for the audit log and the sign-in limits. Behind a trusted proxy
 * (server.trust_proxy) the last X-Forwarded-For entry, which that proxy appended; otherwise the
 * socket's address, since X-Forwarded-For is then whatever the client chose to send. IPv4 clients of
 * a dual-stack socket show as plain IPv4 (`::ffff:127.0.0.1` → `127.0.0.1`). Null when unknown.
 */
export function clientAddress(headers: Headers): string | null {
  const address = getConfig().values.server.trust_proxy
    ? headers.get("x-forwarded-for")?.split(",").at(-1)
    : memo.installed
      ? headers.get(PEER_ADDRESS_HEADER)
      : null;
  const trimmed = address?.trim();
  return trimmed ? normalizeAddress(trimmed).slice(0, 64) : null;
}

/** An IPv4-mapped IPv6 address as the IPv4 address it is; any other address unchanged. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
