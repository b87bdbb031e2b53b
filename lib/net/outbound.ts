import "server-only";
import { processState } from "@/lib/process-state";
import dns from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { Duplex } from "node:stream";
import ipaddr from "ipaddr.js";
import { Agent, buildConnector, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from "undici";
import { AppError } from "@/lib/errors";
import { getConfig } from "@/lib/config/service";
import { parseAllowEntry, type AllowEntry } from "@/lib/config/allow-list";

/**
 * The one gate for every request the console makes to another host (pipeline webhooks, storage and
 * backup alerts, and any future SMTP/SFTP/S3 client): a destination in a loopback, private,
 * link-local, CGNAT, multicast or otherwise reserved range is refused unless the operator allowed
 * it in network.allowed_destinations. The check runs on the addresses a name resolves to, and the
 * connection is made to the address that was checked, so a DNS answer that changes between check
 * and connect (rebinding) cannot lead anywhere else.
 */

/** A connection that is not up by then is given up on. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface AllowedDestination {
  address: string;
  family: 4 | 6;
}

function allowList(): AllowEntry[] {
  const entries: AllowEntry[] = [];
  for (const entry of getConfig().values.network.allowed_destinations) {
    try {
      entries.push(parseAllowEntry(entry));
    } catch {
      // Validated at boot (lib/config/schema.ts); an entry that cannot be read allows nothing.
    }
  }
  return entries;
}

function portMatches(entry: AllowEntry, port: number): boolean {
  return entry.port === null || entry.port === port;
}

function addressAllowedByList(address: ipaddr.IPv4 | ipaddr.IPv6, port: number, entries: AllowEntry[]): boolean {
  return entries.some((entry) => entry.kind === "range" && portMatches(entry, port) && address.kind() === entry.range[0].kind() && address.match(entry.range));
}

/**
 * Whether an address may be called without an allow-list entry: only ordinary global unicast.
 * IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it carries; NAT64, 6to4 and
 * Teredo addresses, which can carry a private IPv4 address, are not ordinary unicast and are refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === "unicast";
}

function forbidden(host: string, port: number): AppError {
  // The same words whatever the port and whether anything listens there, so that refusals cannot be
  // used to map the console's network; the address a name resolved to is not echoed either.
  return new AppError(
    "destination_forbidden",
    `${host.includes(":") ? `[${host}]` : host}:${port} is not an allowed destination: it is, or resolves to, a loopback, private, link-local or reserved address. An operator can allow it in network.allowed_destinations (MIMIR_ALLOWED_DESTINATIONS)`,
    { details: { host, port } },
  );
}

/**
 * Resolves `host` and checks every address it resolves to; returns the one to connect to, or throws
 * 403 destination_forbidden. For clients that connect themselves (SMTP, SFTP): connect to the
 * returned address, not to `host`, so the check holds. Reads DNS and the configuration only.
 */
export async function resolveAllowedDestination(host: string, port: number): Promise<AllowedDestination> {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new AppError("invalid_input", `Port ${port} is out of range (1 to 65535)`);
  if (name === "") throw new AppError("invalid_input", "The destination has no host name");
  const entries = allowList();
  const hostAllowed = entries.some((entry) => entry.kind === "host" && entry.name === name && portMatches(entry, port));
  let resolved: { address: string; family: number }[];
  if (net.isIP(name)) {
    resolved = [{ address: name, family: net.isIP(name) }];
  } else {
    // getaddrinfo also reads the other IPv4 spellings (2130706433, 0x7f000001, 0177.0.0.1) as addresses.
    resolved = await dns.lookup(name, { all: true, verbatim: true }).catch((error: NodeJS.ErrnoException) => {
      throw new AppError("destination_unreachable", `${name} could not be resolved (${error.code ?? "DNS error"})`, { cause: error });
    });
  }
  if (resolved.length === 0) throw new AppError("destination_unreachable", `${name} could not be resolved`);
  // Every address must pass, not just one: a name that resolves to a public and a private address
  // would otherwise reach the private one whenever the system resolver put it first.
  for (const { address } of resolved) {
    if (hostAllowed || isPublicAddress(address)) continue;
    if (ipaddr.isValid(address) && addressAllowedByList(ipaddr.process(address), port, entries)) continue;
    throw forbidden(name, port);
  }
  const first = resolved[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

const connectDirect = buildConnector({ timeout: CONNECT_TIMEOUT_MS });

/** undici's connector, with the destination checked and pinned: the socket goes to the checked address. */
const connectChecked: buildConnector.connector = (options, callback) => {
  const port = Number(options.port) || (options.protocol === "https:" ? 443 : 80);
  resolveAllowedDestination(options.hostname, port).then(
    // `host` stays the name the caller gave, so TLS still checks the certificate for that name (SNI).
    ({ address }) => connectDirect({ ...options, hostname: address }, callback),
    (error: Error) => callback(error, null),
  );
};

const agent = () => processState("outboundAgent", () => new Agent({ connect: connectChecked }));

/**
 * fetch() through the destination check (403 destination_forbidden). Redirects are never followed
 * (a 3xx is returned as it is): a redirect could point anywhere, and following it would skip the
 * caller's own checks on the URL. `timeoutMs` bounds the whole request.
 */
export async function outboundFetch(url: string | URL, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new AppError("destination_forbidden", `Only http:// and https:// destinations can be called, not ${target.protocol}`);
  }
  const { timeoutMs, signal, ...rest } = init;
  const signals = [signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s instanceof AbortSignal);
  try {
    const response = await undiciFetch(target, {
      ...(rest as UndiciRequestInit),
      redirect: "manual",
      dispatcher: agent(),
      signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
    });
    // undici's Response is the class Node's global fetch returns; only the type names differ.
    return response as unknown as Response;
  } catch (error) {
    const cause = (error as Error).cause;
    if (cause instanceof AppError) throw cause;
    throw error;
  }
}

/**
 * The undici dispatcher behind outboundFetch(), for clients that need undici's request() (a streamed
 * PUT with its own Content-Length, WebDAV's PROPFIND and MOVE): every connection is checked and pinned
 * as above. Shared by the process; never close it.
 */
export function outboundDispatcher(): Agent {
  return agent();
}

type SocketCallback = (error: Error | null, socket: Duplex) => void;

/** Resolves and checks the agent's destination, then lets `connect` open the socket to the checked address. */
function checkedCreateConnection(options: http.ClientRequestArgs, callback: SocketCallback, connect: (options: http.ClientRequestArgs) => Duplex): void {
  const host = options.hostname ?? options.host ?? "localhost";
  const port = Number(options.port) || (options.protocol === "https:" ? 443 : 80);
  resolveAllowedDestination(host, port).then(
    // `servername` (set by the https agent before this call) keeps TLS checking the certificate against
    // the name the caller gave, while the socket goes to the address that was checked.
    ({ address }) => {
      let socket: Duplex;
      try {
        socket = connect({ ...options, host: address, hostname: address });
      } catch (error) {
        callback(error as Error, undefined as unknown as Duplex);
        return;
      }
      callback(null, socket);
    },
    (error: Error) => callback(error, undefined as unknown as Duplex),
  );
}

class CheckedHttpAgent extends http.Agent {
  override createConnection(options: http.ClientRequestArgs, callback?: SocketCallback): Duplex {
    checkedCreateConnection(options, callback!, (checked) => net.connect(checked as net.NetConnectOpts));
    // Node's agent waits for the callback when nothing is returned.
    return undefined as unknown as Duplex;
  }
}

class CheckedHttpsAgent extends https.Agent {
  override createConnection(options: http.ClientRequestArgs, callback?: SocketCallback): Duplex {
    checkedCreateConnection(options, callback!, (checked) => super.createConnection(checked) as Duplex);
    return undefined as unknown as Duplex;
  }
}

/**
 * Node http/https agents that check and pin every connection like outboundFetch() does, for SDKs
 * that take agents rather than a fetch (the AWS SDK's NodeHttpHandler). A new pair per call, with
 * keep-alive: the caller destroys them when its client closes.
 */
export function createOutboundAgents(): { http: http.Agent; https: https.Agent } {
  return { http: new CheckedHttpAgent({ keepAlive: true }), https: new CheckedHttpsAgent({ keepAlive: true }) };
}
