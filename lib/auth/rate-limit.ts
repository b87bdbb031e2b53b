import crypto from "node:crypto";

/**
 * Sign-in throttling, judged from the failures recorded in the database (lib/auth/queries.ts,
 * `sign_in_failures`), so several instances behind a load balancer share one count: an attacker gets
 * no more tries by being sent to another instance. This module is the arithmetic alone, over failure
 * times on one clock (the database's), so it holds whatever store feeds it.
 */

export interface SignInThrottleLimits {
  /** wrong passwords per client within clientWindowMs; the next is refused whatever the account */
  clientLimit: number;
  clientWindowMs: number;
  /** wrong passwords an account takes within accountWindowMs before its delay starts */
  accountFreeFailures: number;
  accountWindowMs: number;
  /** the first delay; it doubles with each further failure, up to accountMaxDelayMs */
  accountBaseDelayMs: number;
  accountMaxDelayMs: number;
}

/** The failure times (ms, oldest first) the throttle judges one attempt by: the client's, the account's and the pair's. */
export interface SignInFailures {
  client: number[];
  account: number[];
  pair: number[];
}

/** The stored key of each count: a hash, so the table holds fixed-length keys and no name a stranger typed. */
export interface SignInKeys {
  client: string;
  account: string;
  pair: string;
}

export function signInKeys(account: string, client: string): SignInKeys {
  return { client: keyHash(`client:${client}`), account: keyHash(`account:${account}`), pair: keyHash(`pair:${account}\u0000${client}`) };
}

function keyHash(text: string): string {
  return crypto.createHash("sha256").update(text).digest("base64url");
}

/**
 * How many of a key's most recent failures the throttle ever needs: the client's limit, or the
 * account's count at which its delay reaches the maximum. A read takes at most this many per key, so
 * an account under a large attack costs the same to check as a quiet one.
 */
export function failuresNeededPerKey(limits: SignInThrottleLimits): number {
  const doublings = Math.ceil(Math.log2(Math.max(1, limits.accountMaxDelayMs / limits.accountBaseDelayMs)));
  return Math.max(limits.clientLimit, limits.accountFreeFailures + doublings + 1, 1);
}

/** The longest window any count looks back over: older failures are pruned. */
export function longestWindowMs(limits: SignInThrottleLimits): number {
  return Math.max(limits.clientWindowMs, limits.accountWindowMs);
}

/** Milliseconds until a key with these failures (oldest first) may try again under `limit` per `windowMs`, or 0. */
export function retryAfterMs(failures: number[], limit: number, windowMs: number, now: number): number {
  const recent = failures.filter((at) => now - at < windowMs);
  if (recent.length < limit) return 0;
  return recent[recent.length - limit]! + windowMs - now;
}

/**
 * Milliseconds this client must wait before it may try this account, or 0. Two layers. Per client: a
 * hard limit, so one address cannot guess fast at any account. Per account: no lock, so a stranger
 * cannot keep the well-known `admin` out; past a few failures the account answers a client that has
 * itself failed on it only after a delay that doubles with each failure, while a client that has not
 * failed on it is still let in at once. Guessing then costs one new address per quick try.
 */
export function signInWaitMs(failures: SignInFailures, limits: SignInThrottleLimits, now: number): number {
  const clientWait = retryAfterMs(failures.client, limits.clientLimit, limits.clientWindowMs, now);
  if (clientWait > 0) return clientWait;
  if (retryAfterMs(failures.pair, 1, limits.accountWindowMs, now) === 0) return 0;
  const account = failures.account.filter((at) => now - at < limits.accountWindowMs);
  const past = account.length - limits.accountFreeFailures;
  if (past < 0) return 0;
  const delay = Math.min(limits.accountBaseDelayMs * 2 ** past, limits.accountMaxDelayMs);
  return Math.max(0, account.at(-1)! + delay - now);
}
