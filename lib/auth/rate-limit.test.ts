import { expect, test } from "vitest";
import { FailureLimiter } from "@/lib/auth/rate-limit";

test("the limit-th failure closes the key until the oldest one leaves the window", () => {
  const limiter = new FailureLimiter(3, 60_000);
  for (const at of [0, 10_000, 20_000]) {
    expect(limiter.retryAfterMs("k", at)).toBe(0);
    limiter.recordFailure("k", at);
  }
  expect(limiter.retryAfterMs("k", 30_000)).toBe(30_000);
  expect(limiter.retryAfterMs("other", 30_000)).toBe(0);
  expect(limiter.retryAfterMs("k", 60_000)).toBe(0);
});

test("reset clears a key, and the number of keys stays capped", () => {
  const limiter = new FailureLimiter(1, 60_000, 100);
  limiter.recordFailure("k", 0);
  expect(limiter.retryAfterMs("k", 1)).toBeGreaterThan(0);
  limiter.reset("k");
  expect(limiter.retryAfterMs("k", 1)).toBe(0);
  for (let i = 0; i < 1000; i++) limiter.recordFailure(`flood-${i}`, 2);
  // The stalest keys were dropped: the earliest flooders are forgotten, the latest are still held.
  expect(limiter.retryAfterMs("flood-0", 3)).toBe(0);
  expect(limiter.retryAfterMs("flood-999", 3)).toBeGreaterThan(0);
});
