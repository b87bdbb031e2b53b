/**
 * A sliding-window counter of failures per key, kept in this process's memory: the console runs as
 * one server process, and a restart forgetting the counts only gives an attacker one fresh minute.
 * The number of keys is capped so a flood of made-up client addresses cannot grow memory without end.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until `key` may try again, or 0 when it is under the limit. */
  retryAfterMs(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.limit) return 0;
    return recent[recent.length - this.limit]! + this.windowMs - now;
  }

  recordFailure(key: string, now = Date.now()): void {
    const recent = this.recent(key, now);
    recent.push(now);
    this.failures.delete(key);
    this.failures.set(key, recent);
    // Map iteration follows insertion order, and a key is re-inserted on each failure: the first is the stalest.
    while (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  clear(): void {
    this.failures.clear();
  }

  /** The failure times of `key` within the window, oldest first. */
  recent(key: string, now = Date.now()): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const kept = list.filter((at) => now - at < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== list.length) this.failures.set(key, kept);
    return kept;
  }
}

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

/**
 * Sign-in throttling in two layers. Per client: a hard limit, so one address cannot guess fast at
 * any account. Per account: no lock, so a stranger cannot keep the well-known `admin` out; past a
 * few failures the account answers a client that has itself failed on it only after a delay that
 * doubles with each failure, while a client that has not failed on it is still let in at once.
 * Guessing then costs one new address per quick try.
 */
export class SignInThrottle {
  private readonly clients: FailureLimiter;
  private readonly accounts: FailureLimiter;
  private readonly pairs: FailureLimiter;

  constructor(readonly limits: SignInThrottleLimits) {
    this.clients = new FailureLimiter(limits.clientLimit, limits.clientWindowMs);
    this.accounts = new FailureLimiter(Number.MAX_SAFE_INTEGER, limits.accountWindowMs);
    this.pairs = new FailureLimiter(1, limits.accountWindowMs);
  }

  /** Milliseconds this client must wait before it may try this account, or 0. */
  waitMs(account: string, client: string, now = Date.now()): number {
    const clientWait = this.clients.retryAfterMs(client, now);
    if (clientWait > 0) return clientWait;
    if (this.pairs.retryAfterMs(pairKey(account, client), now) === 0) return 0;
    return Math.max(0, this.accountDelayMs(account, now));
  }

  recordFailure(account: string, client: string, now = Date.now()): void {
    this.clients.recordFailure(client, now);
    this.accounts.recordFailure(account, now);
    this.pairs.recordFailure(pairKey(account, client), now);
  }

  /** A right password: the client's and the pair's counts start again; the account's stay (others may still be guessing). */
  recordSuccess(account: string, client: string): void {
    this.clients.reset(client);
    this.pairs.reset(pairKey(account, client));
  }

  clear(): void {
    this.clients.clear();
    this.accounts.clear();
    this.pairs.clear();
  }

  private accountDelayMs(account: string, now: number): number {
    const failures = this.accounts.recent(account, now);
    const past = failures.length - this.limits.accountFreeFailures;
    if (past < 0) return 0;
    const delay = Math.min(this.limits.accountBaseDelayMs * 2 ** past, this.limits.accountMaxDelayMs);
    return failures.at(-1)! + delay - now;
  }
}

function pairKey(account: string, client: string): string {
  return `${account}\u0000${client}`;
}
