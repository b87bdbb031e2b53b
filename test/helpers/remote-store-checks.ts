import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { RemoteObject, RemoteStore } from "@/lib/offsite/store";

/** Helpers the store tests share: generated bodies with a known sha256, reading back, listing. */

/** `size` bytes of a deterministic, incompressible-looking pattern, produced as they are read (not held in memory). */
export function generatedBody(size: number, seed = "mimir"): { stream: () => Readable; sha256: string } {
  const block = (index: number) => createHash("sha512").update(`${seed}:${index}`).digest();
  const hash = createHash("sha256");
  for (let offset = 0, index = 0; offset < size; offset += 64, index++) hash.update(block(index).subarray(0, Math.min(64, size - offset)));
  const sha256 = hash.digest("hex");
  const stream = () =>
    Readable.from(
      (function* () {
        const chunk = 64 * 1024;
        let index = 0;
        for (let offset = 0; offset < size; offset += chunk) {
          const length = Math.min(chunk, size - offset);
          const parts: Buffer[] = [];
          for (let done = 0; done < length; done += 64) parts.push(block(index++).subarray(0, Math.min(64, length - done)));
          yield Buffer.concat(parts);
        }
      })(),
      { objectMode: false },
    );
  return { stream, sha256 };
}

/**
 * A body that gives `before` bytes, then waits until `release()` is called before giving the rest:
 * lets a test act (kill the server) while an upload is certainly in flight.
 */
export function gatedBody(size: number, before: number): { stream: Readable; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const chunk = Buffer.alloc(64 * 1024, 7);
  const stream = Readable.from(
    (async function* () {
      let offset = 0;
      let waited = false;
      while (offset < size) {
        if (!waited && offset >= before) {
          waited = true;
          await gate;
        }
        const length = Math.min(chunk.length, size - offset);
        offset += length;
        yield chunk.subarray(0, length);
      }
    })(),
    { objectMode: false },
  );
  return { stream, release };
}

export async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}

export async function listAll(store: RemoteStore, prefix = ""): Promise<RemoteObject[]> {
  const out: RemoteObject[] = [];
  for await (const object of store.list(prefix)) out.push(object);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** Polls `condition` until it holds (or fails the test after `timeoutMs`). */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
