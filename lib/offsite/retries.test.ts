import { getEventListeners } from "node:events";
import { expect, test } from "vitest";
import { MAX_ATTEMPTS, withRetries } from "@/lib/offsite/copy";
import { RemoteStoreError } from "@/lib/offsite/store";

test("each wait between attempts takes its abort listener off the copy's signal when it ends", async () => {
  const stop = new AbortController();
  let attempts = 0;
  await withRetries(
    async () => {
      attempts += 1;
      if (attempts < MAX_ATTEMPTS) throw new RemoteStoreError("unreachable", "connection reset");
    },
    { signal: stop.signal, backoffMs: 1, onRetry: async () => undefined },
  );
  expect(attempts).toBe(MAX_ATTEMPTS);
  // A copy's signal serves every wait of every file: left behind, they piled up past Node's warning at 10.
  expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
});

test("a cancel while the connection is being replaced ends the wait at once with the signal's reason", async () => {
  const stop = new AbortController();
  const waiting = withRetries(
    async () => {
      throw new RemoteStoreError("unreachable", "connection refused");
    },
    { signal: stop.signal, backoffMs: 60_000, onRetry: async () => stop.abort(new Error("cancelled by the user")) },
  );
  await expect(waiting).rejects.toThrow("cancelled by the user");
});
