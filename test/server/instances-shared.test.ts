import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callAction, serverActions } from "@/test/helpers/console-server";
import { startServer, type RunningServer } from "@/test/helpers/server";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";

/**
 * What several instances must share, against the production build (`next build` first): two `next
 * start` processes on their own ports share one PostgreSQL database made for the test and one data
 * root, as two replicas behind a load balancer do. Requests alternate between them, as a balancer
 * may send them.
 */
const TOKEN = `mimir_${"s".repeat(43)}`;
const ADMIN_PASSWORD = "shared-instances-admin-password";
let home: string;
let scratch: ScratchDatabase;
const servers: RunningServer[] = [];

function env(): Record<string, string> {
  return {
    MIMIR_HOME: home,
    MIMIR_API_TOKEN: TOKEN,
    MIMIR_ADMIN_PASSWORD: ADMIN_PASSWORD,
    MIMIR_PERSISTENCE_BACKEND: "postgres",
    MIMIR_CONNECTION_STRING: scratch.url,
    // The balancer's address is every request's peer: the client is the X-Forwarded-For it appends.
    MIMIR_TRUST_PROXY: "true",
    MIMIR_LOG_LEVEL: "error",
  };
}

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-shared-"));
  scratch = await createScratchDatabase({ label: "shared", migrate: false });
  // One at a time: the first migrates the new database; the second finds it migrated.
  for (let i = 0; i < 2; i += 1) servers.push(await startServer(env()));
}, 180_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await scratch?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

async function signIn(instance: number, username: string, password: string, client: string): Promise<string | "ok"> {
  const action = serverActions().find((a) => a.filename === "app/login/actions.ts" && a.exportedName === "signInAction")!;
  const { result } = await callAction(servers[instance]!.url, "/login", action.id, { username, password }, { "X-Forwarded-For": client });
  if (!result) throw new Error("the sign-in action gave no result");
  return result.ok ? "ok" : result.error!.code;
}

test("sign-in throttling counts every instance's failures: a client's 11th wrong password is refused on either", async () => {
  const client = "203.0.113.10";
  // Ten wrong passwords, alternating instances, each at a name that is no account (no account delay involved).
  for (let i = 0; i < 10; i += 1) expect(await signIn(i % 2, `nobody-${i}`, "wrong-password", client)).toBe("unauthorized");
  // Each instance saw five: counted apart they would let this one through; counted together it is the 11th.
  expect(await signIn(0, "nobody-10", "wrong-password", client)).toBe("rate_limited");
  expect(await signIn(1, "admin", ADMIN_PASSWORD, client)).toBe("rate_limited");
  // Another client is not held back by it.
  expect(await signIn(1, "admin", ADMIN_PASSWORD, "203.0.113.11")).toBe("ok");
}, 120_000);

test("an account's delay counts failures sent to every instance: a client that failed there waits on the other", async () => {
  // Six strangers (the free failures and one: a 2 s delay) on the two instances, then one of them tries the other instance.
  for (let i = 0; i < 6; i += 1) expect(await signIn(i % 2, "admin", `guess-${i}`, `198.51.100.${i}`)).toBe("unauthorized");
  expect(await signIn(0, "admin", ADMIN_PASSWORD, "198.51.100.1")).toBe("rate_limited");
  // The account is not locked: a client that has not failed on it signs in at once, on either instance.
  expect(await signIn(0, "admin", ADMIN_PASSWORD, "198.51.100.50")).toBe("ok");
  expect(await signIn(1, "admin", ADMIN_PASSWORD, "198.51.100.51")).toBe("ok");
}, 120_000);
