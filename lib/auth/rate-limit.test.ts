import { describe, expect, test } from "vitest";
import { FailureLimiter, SignInThrottle } from "@/lib/auth/rate-limit";

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

describe("sign-in throttle", () => {
  const limits = {
    clientLimit: 10,
    clientWindowMs: 60_000,
    accountFreeFailures: 5,
    accountWindowMs: 900_000,
    accountBaseDelayMs: 1000,
    accountMaxDelayMs: 60_000,
  };

  test("strangers failing on an account cannot lock out a client that has not failed on it", () => {
    const throttle = new SignInThrottle(limits);
    for (let i = 0; i < 40; i++) throttle.recordFailure("admin", `attacker-${i % 4}`, 1000);
    expect(throttle.waitMs("admin", "real-admin", 1000)).toBe(0);
  });

  test("a client that failed on an account under attack waits a delay that doubles per failure, up to the maximum", () => {
    const throttle = new SignInThrottle(limits);
    for (let i = 0; i < 5; i++) throttle.recordFailure("admin", `c${i}`, 0);
    expect(throttle.waitMs("admin", "c0", 0)).toBe(1000);
    throttle.recordFailure("admin", "c5", 0);
    expect(throttle.waitMs("admin", "c0", 0)).toBe(2000);
    expect(throttle.waitMs("admin", "c0", 2000)).toBe(0);
    for (let i = 0; i < 20; i++) throttle.recordFailure("admin", `d${i}`, 3000);
    expect(throttle.waitMs("admin", "c0", 3000)).toBe(60_000);
    expect(throttle.waitMs("other-account", "c0", 3000)).toBe(0);
  });

  test("one client has a hard limit across all accounts, and a right password clears its count", () => {
    const throttle = new SignInThrottle(limits);
    for (let i = 0; i < 10; i++) throttle.recordFailure(`name-${i}`, "guesser", 0);
    expect(throttle.waitMs("anything", "guesser", 1000)).toBe(59_000);
    throttle.recordSuccess("name-0", "guesser");
    expect(throttle.waitMs("anything", "guesser", 1000)).toBe(0);
  });
});
