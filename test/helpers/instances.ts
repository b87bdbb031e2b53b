import fs from "node:fs";

/**
 * What the tests of several instances (test/server/instances-*.test.ts) share: calls to one
 * instance's API with the bearer token, polling for a condition with every instance's output on a
 * timeout, and the process tree of a `next start` (the pid an instance records is a descendant of
 * the one the test spawned, and a signal must reach the whole tree).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server, checked by the assertions
export type Json = any;

export async function bearerApi(
  url: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
  yaml = false,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { "Content-Type": yaml ? "application/yaml" : "application/json" } : {}) },
    body: body === undefined ? undefined : yaml ? String(body) : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** Polls `read` every 200 ms until it gives a value; on a timeout the error carries `outputs()` (each instance's log). */
export async function untilWith<T>(what: string, read: () => Promise<T | null | undefined | false>, timeoutMs: number, outputs: () => string[]): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}\n${outputs()
          .map((output, i) => `--- instance ${i}\n${output}`)
          .join("\n")}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function descendantsOf(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i += 1) {
    try {
      const children = fs.readFileSync(`/proc/${all[i]}/task/${all[i]}/children`, "utf8").trim();
      if (children) all.push(...children.split(/\s+/).map(Number));
    } catch {
      // gone
    }
  }
  return all;
}

export function isAncestorOf(ancestor: number, pid: number): boolean {
  return descendantsOf(ancestor).includes(pid);
}

/** Signals the whole tree, children first. */
export function killTree(pid: number, signal: NodeJS.Signals): void {
  for (const each of descendantsOf(pid).reverse()) {
    try {
      process.kill(each, signal);
    } catch {
      // already gone
    }
  }
}
