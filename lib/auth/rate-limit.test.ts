import { describe, expect, test } from "vitest";
import { failuresNeededPerKey, retryAfterMs, signInKeys, signInWaitMs, type SignInFailures } from "@/lib/auth/rate-limit";

test("the limit-th failure closes the key until the oldest one leaves the window", () => {
  const failures: number[] = [];
  for (const at of [0, 10_000, 20_000]) {
    expect(retryAfterMs(failures, 3, 60_000, at)).toBe(0);
    failures.push(at);
  }
  expect(retryAfterMs(failures, 3, 60_000, 30_000)).toBe(30_000);
  expect(retryAfterMs([], 3, 60_000, 30_000)).toBe(0);
  expect(retryAfterMs(failures, 3, 60_000, 60_000)).toBe(0);
});

test("keys are fixed-length hashes: no name or address a stranger typed is stored", () => {
  const keys = signInKeys("a".repeat(500), "203.0.113.7");
  expect(new Set(Object.values(keys)).size).toBe(3);
  for (const key of Object.values(keys)) expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(signInKeys("admin", "x")).toEqual(signInKeys("admin", "x"));
  expect(signInKeys("admin", "x").pair).not.toBe(signInKeys("admin", "y").pair);
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

  /** The failures as the database holds them: every key's times, read back at most failuresNeededPerKey each (newest). */
  function store() {
    const byKey = new Map<string, number[]>();
    const read = (key: string) => (byKey.get(key) ?? []).slice(-failuresNeededPerKey(limits));
    return {
      fail(account: string, client: string, at: number) {
        for (const key of [`c:${client}`, `a:${account}`, `p:${account}\0${client}`]) byKey.set(key, [...(byKey.get(key) ?? []), at]);
      },
      succeed(account: string, client: string) {
        byKey.delete(`c:${client}`);
        byKey.delete(`p:${account}\0${client}`);
      },
      waitMs(account: string, client: string, now: number) {
        const failures: SignInFailures = { client: read(`c:${client}`), account: read(`a:${account}`), pair: read(`p:${account}\0${client}`) };
        return signInWaitMs(failures, limits, now);
      },
    };
  }

  test("strangers failing on an account cannot lock out a client that has not failed on it", () => {
    const throttle = store();
    for (let i = 0; i < 40; i++) throttle.fail("admin", `attacker-${i % 4}`, 1000);
    expect(throttle.waitMs("admin", "real-admin", 1000)).toBe(0);
  });

  test("a client that failed on an account under attack waits a delay that doubles per failure, up to the maximum", () => {
    const throttle = store();
    for (let i = 0; i < 5; i++) throttle.fail("admin", `c${i}`, 0);
    expect(throttle.waitMs("admin", "c0", 0)).toBe(1000);
    throttle.fail("admin", "c5", 0);
    expect(throttle.waitMs("admin", "c0", 0)).toBe(2000);
    expect(throttle.waitMs("admin", "c0", 2000)).toBe(0);
    // Reading only the newest failuresNeededPerKey of the account still reaches the maximum delay.
    for (let i = 0; i < 20; i++) throttle.fail("admin", `d${i}`, 3000);
    expect(throttle.waitMs("admin", "c0", 3000)).toBe(60_000);
    expect(throttle.waitMs("other-account", "c0", 3000)).toBe(0);
  });

  test("one client has a hard limit across all accounts, and a right password clears its count", () => {
    const throttle = store();
    for (let i = 0; i < 10; i++) throttle.fail(`name-${i}`, "guesser", 0);
    expect(throttle.waitMs("anything", "guesser", 1000)).toBe(59_000);
    throttle.succeed("name-0", "guesser");
    expect(throttle.waitMs("anything", "guesser", 1000)).toBe(0);
  });
});
