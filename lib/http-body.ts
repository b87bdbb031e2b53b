import "server-only";
import fs from "node:fs";
import { AppError } from "@/lib/errors";
import { jsonNestingExceeds, MAX_NESTING_DEPTH } from "@/lib/nesting";

// Reading a request's body with a byte cap, for route() and for the one route that streams an upload
// to disk: the declared length is refused first, then the bytes that really arrive are counted.

/** The body as JSON: empty, too deeply nested or malformed is 400 invalid_json. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw new AppError("invalid_json", "The request body is empty; expected JSON");
  // zod, the handlers and the JSON written back all recurse per level: refuse deep nesting up front.
  if (jsonNestingExceeds(text) !== null) throw new AppError("invalid_json", `The request body nests more than ${MAX_NESTING_DEPTH} levels deep`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError("invalid_json", `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads the body as UTF-8 up to `limit` bytes. The declared length is checked first (cheap refusal),
 * then the bytes actually received, since a client or proxy may lie or cut.
 */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of cappedBody(request, limit)) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Yields the body's chunks as they arrive: refuses a declared length over `limit` before reading,
 * stops past `limit` bytes received, and refuses a body shorter than declared (a proxy may cut one
 * silently), so whoever consumes it never holds more than the limit nor keeps a truncated body.
 */
async function* cappedBody(request: Request, limit: number): AsyncGenerator<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit);
  if (!request.body) return;
  const reader = request.body.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > limit) {
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge(limit);
    }
    yield value;
  }
  if (Number.isFinite(declared) && declared !== received) {
    throw new AppError("invalid", `The body was cut short: ${received} of ${declared} declared bytes arrived`);
  }
}

/** 413 body_too_large, naming the limit. */
export function bodyTooLarge(limit: number): AppError {
  return new AppError("body_too_large", `The request body is larger than ${limit} bytes`);
}

/**
 * Streams a request body (an upload) to a new file with a byte cap, never holding it in memory.
 * Refuses by declared length first; removes the partial file when the cap is passed or the body is
 * cut short (a proxy may truncate silently), so a stored upload is always the whole body.
 */
export async function writeRequestBodyToFile(request: Request, file: string, limit: number): Promise<{ bytes: number }> {
  if (!request.body) throw new AppError("invalid", "The request has no body; send the file as the body");
  const out = fs.createWriteStream(file, { flags: "wx", mode: 0o600 });
  let received = 0;
  try {
    for await (const chunk of cappedBody(request, limit)) {
      received += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return { bytes: received };
  } catch (error) {
    out.destroy();
    fs.rmSync(file, { force: true });
    throw error;
  }
}
