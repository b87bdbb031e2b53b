import "server-only";
import { processState } from "@/lib/process-state";
import http from "node:http";
import { AppError } from "@/lib/errors";

const memo = processState("traceGuard", (): { installed?: boolean } => ({}));

/**
 * Answers TRACE with 405 and the JSON error envelope. Next.js turns every request into a fetch
 * Request, which refuses TRACE with a TypeError before proxy.ts or any route runs, and Next.js
 * answers that with a 500 and a stack trace in the log. The Node server's `request` event is the
 * only place left, so it is wrapped once per process. (CONNECT never becomes a request, and Node's
 * parser answers methods it does not know with 400; proxy.ts answers the other unsupported ones.)
 */
export function answerTraceWith405(): void {
  if (memo.installed) return;
  memo.installed = true;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function emitUnlessTrace(this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
    const [request, response] = args as [http.IncomingMessage | undefined, http.ServerResponse | undefined];
    if (event === "request" && request?.method === "TRACE" && response) {
      const error = new AppError("method_not_allowed", "TRACE is not supported");
      response.writeHead(error.status, {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        Allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
      });
      response.end(JSON.stringify(error.toJSON()));
      request.resume();
      return true;
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  };
}
