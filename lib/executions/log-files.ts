import "server-only";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { AppError } from "@/lib/errors";

/** A log request returns at most this much; a follower asks again from next_offset. */
export const MAX_LOG_CHUNK_BYTES = 256 * 1024;
const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `logs/executions/<execution id>.log`, resolved and checked to stay inside the logs volume. */
export function executionLogPath(executionId: string): string {
  if (!EXECUTION_ID.test(executionId) || executionId.includes("..")) throw new AppError("invalid_name", `'${executionId}' is not a valid execution id`);
  const dir = path.resolve(getConfig().paths.logs, "executions");
  const file = path.resolve(dir, `${executionId}.log`);
  if (path.dirname(file) !== dir) throw new AppError("invalid_name", `'${executionId}' does not resolve inside the logs volume`);
  return file;
}

/** Opens the run's log for appending (creating logs/executions/ on the way). */
export function openExecutionLog(executionId: string): fs.WriteStream {
  const file = executionLogPath(executionId);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return fs.createWriteStream(file, { flags: "a", mode: 0o600 });
}

/** Up to MAX_LOG_CHUNK_BYTES of the log from `offset`; an absent file reads as empty. */
export function readExecutionLogChunk(executionId: string, offset: number): { content: string; nextOffset: number; size: number } {
  const file = executionLogPath(executionId);
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { content: "", nextOffset: 0, size: 0 };
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.min(offset, size);
    const length = Math.min(size - start, MAX_LOG_CHUNK_BYTES);
    const buffer = Buffer.alloc(length);
    const read = length > 0 ? fs.readSync(fd, buffer, 0, length, start) : 0;
    // Stop at the last complete UTF-8 character, so a multi-byte character is never cut in two.
    let end = read;
    while (end > 0 && end < size - start && (buffer[end - 1]! & 0xc0) === 0x80) end -= 1;
    if (end > 0 && end < size - start && buffer[end - 1]! >= 0xc0) end -= 1;
    return { content: buffer.subarray(0, end).toString("utf8"), nextOffset: start + end, size };
  } finally {
    fs.closeSync(fd);
  }
}
