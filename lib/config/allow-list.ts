import ipaddr from "ipaddr.js";

/**
 * network.allowed_destinations entries, read by the config schema (to refuse a bad entry at boot)
 * and by lib/net/outbound.ts (to let a destination through). No server-only import: the schema is
 * shared with the Settings form's types.
 */
export type AllowEntry =
  { kind: "host"; name: string; port: number | null } | { kind: "range"; range: [ipaddr.IPv4 | ipaddr.IPv6, number]; port: number | null };

/**
 * Parses one allow-list entry: `host`, `host:port`, `1.2.3.4`, `1.2.3.4:8080`, `10.0.0.0/8`,
 * `10.0.0.0/8:8080`, `::1`, `[::1]:9000`, `fd00::/8`. Throws on an entry that is none of these.
 */
export function parseAllowEntry(entry: string): AllowEntry {
  let text = entry.trim().toLowerCase();
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    text = bracketed[1]!;
    port = bracketed[2] === undefined ? null : Number(bracketed[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    // One colon: host:port or v4:port (a bare IPv6 address has several).
    const [host, portText] = text.split(":") as [string, string];
    if (!/^\d+$/.test(portText)) throw new Error(`'${entry}': the part after ':' is not a port`);
    text = host;
    port = Number(portText);
  }
  if (port !== null && (port < 1 || port > 65_535)) throw new Error(`'${entry}': port ${port} is out of range`);
  if (text.includes("/")) {
    try {
      return { kind: "range", range: ipaddr.parseCIDR(text), port };
    } catch {
      throw new Error(`'${entry}' is not a valid CIDR range`);
    }
  }
  if (ipaddr.isValid(text)) {
    const address = ipaddr.process(text);
    return { kind: "range", range: [address, address.kind() === "ipv4" ? 32 : 128], port };
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(text))
    throw new Error(`'${entry}' is not a host name, IP address or CIDR range`);
  return { kind: "host", name: text.replace(/\.$/, ""), port };
}
