import http from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * How an HTTP receiver answers: `ok` (200), `fail-twice` (500 twice, then 200), `hang` (reads the
 * request and never answers), or a status to answer every time with a body of its own.
 */
export type ReceiverMode = "ok" | "fail-twice" | "hang" | { status: number; body: string };

export interface HttpReceiver {
  url: string;
  received: ReceivedRequest[];
  /** every request that arrived, answered or not */
  hits: () => number;
  close: () => Promise<void>;
}

/** A real HTTP server on a loopback port that records what arrives. */
export async function startHttpReceiver(mode: ReceiverMode = "ok"): Promise<HttpReceiver> {
  const received: ReceivedRequest[] = [];
  let hits = 0;
  const server = http.createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      hits += 1;
      received.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers, body });
      if (mode === "hang") return;
      if (mode === "fail-twice" && hits <= 2) {
        response.writeHead(500, { "Content-Type": "text/plain" }).end(`failure number ${hits}`);
        return;
      }
      if (typeof mode === "object") {
        response.writeHead(mode.status, { "Content-Type": "text/plain" }).end(mode.body);
        return;
      }
      response.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    hits: () => hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** the raw message as it arrived (headers and body) */
  raw: string;
  /** whether the session was upgraded with STARTTLS */
  secure: boolean;
  user: string | null;
}

export interface SmtpReceiver {
  port: number;
  mails: ReceivedMail[];
  close: () => Promise<void>;
}

/**
 * A real SMTP server on loopback (smtp-server) that offers STARTTLS with its built-in self-signed
 * certificate, requires AUTH with `user`/`password`, and records each message.
 */
export async function startSmtpReceiver(credentials: { user: string; password: string }): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.password) return callback(null, { user: auth.username });
      return callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          secure: session.secure,
          user: typeof session.user === "string" ? session.user : null,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The text of a quoted-printable body, as a mail reader shows it. */
export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Polls until `condition` holds or `withinMs` has passed; returns whether it held. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, withinMs = 10_000, pollMs = 20): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return condition();
}
