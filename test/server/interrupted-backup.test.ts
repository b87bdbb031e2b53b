import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callAction, serverActions } from "@/test/helpers/console-server";
import { startServer, type RunningServer } from "@/test/helpers/server";

/**
 * B3, must-fix 3, against the production build (`next build` first): SIGTERM while a backup runs
 * (held at a known step by MIMIR_HOLD_POINT, no sleeps) stops the server gracefully: the backup is
 * recorded as cancelled by the stop, with a log line, and no half-written folder is left; leftovers
 * of a harder kill are removed at the next start, a set whose verify was cut short is verified again
 * at start, and the Backups page says the last backup was interrupted.
 */
const TOKEN = `mimir_${"i".repeat(43)}`;
const ADMIN_PASSWORD = "interrupted-backup-admin-password";
const HOLD = "backup.after_archive:mimir_logs";
let home: string;
let server: RunningServer | null = null;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server, checked by the assertions
type Json = any;

const env = (extra: Record<string, string> = {}) => ({ MIMIR_HOME: home, MIMIR_API_TOKEN: TOKEN, MIMIR_ADMIN_PASSWORD: ADMIN_PASSWORD, ...extra });

async function api(method: string, route: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${server!.url}/api/v1${route}`, { method, headers: { Authorization: `Bearer ${TOKEN}` } });
  return { status: response.status, body: await response.json() };
}

async function until<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const tempFolders = () => fs.readdirSync(path.join(home, "backups")).filter((name) => /^\.(partial|verify|import|deleting)-/.test(name));

async function signedInCookie(): Promise<string> {
  const action = serverActions().find((a) => a.filename === "app/login/actions.ts" && a.exportedName === "signInAction")!;
  const { setCookie } = await callAction(server!.url, "/login", action.id, { username: "admin", password: ADMIN_PASSWORD });
  return setCookie.map((cookie) => cookie.split(";")[0]).join("; ");
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-interrupted-"));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(home, { recursive: true, force: true });
});

test("SIGTERM mid-backup cancels and records it, leaves no partial set, and the next start says so", { timeout: 180_000 }, async () => {
  server = await startServer(env({ MIMIR_HOLD_POINT: HOLD }));
  fs.writeFileSync(path.join(home, "logs", "busy.log"), "a line of log\n".repeat(10_000));
  const started = await api("POST", "/backups");
  expect(started.status).toBe(202);
  const operationId = started.body.id as string;
  await until(
    () => server!.output(),
    (output) => output.includes(HOLD),
    "the backup to reach its hold point",
  );
  expect(tempFolders().some((name) => name.startsWith(".partial-"))).toBe(true);

  const first = server;
  await first.stop();
  // Next.js exits 143 after SIGTERM. What matters is that our handler ran before the process ended
  // and left everything recorded and clean (below); once (1 CI run in many, not reproduced in 13
  // tries here) the process was reported ended by a signal after it, which the helper now writes
  // into the output.
  expect(first.output()).toMatch(/stopping: cancelled running work/);
  expect(first.output()).toContain(operationId);
  expect(tempFolders()).toEqual([]);

  // What a SIGKILL would leave behind (no handler runs): removed at the next start, before anything else.
  fs.mkdirSync(path.join(home, "backups", ".partial-20260101-000000"), { recursive: true });
  fs.writeFileSync(path.join(home, "backups", ".partial-20260101-000000", "mimir_data.tar.gz"), "half an archive");
  fs.mkdirSync(path.join(home, "backups", ".verify-20260101-000000-abcd1234"), { recursive: true });

  server = await startServer(env());
  expect(tempFolders()).toEqual([]);
  const operation = await api("GET", `/operations/${operationId}`);
  expect(operation.body).toMatchObject({
    status: "cancelled",
    error: { code: "interrupted", message: expect.stringMatching(/server was stopped \(SIGTERM\)/) },
  });

  // The Backups page (and the Overview) say it, where the user looks.
  const cookie = await signedInCookie();
  const page = await (await fetch(`${server.url}/backups`, { headers: { Cookie: cookie } })).text();
  expect(page).toContain("The last backup was interrupted at");
  const overview = await (await fetch(`${server.url}/`, { headers: { Cookie: cookie } })).text();
  expect(overview).toContain("The last backup was interrupted at");

  // A good backup; then its verification result is lost as a stop during its verify phase would lose it.
  const good = await api("POST", "/backups");
  const done = await until(
    () => api("GET", `/operations/${good.body.id}`),
    (r) => r.body.status !== "running",
    "the backup to finish",
    120_000,
  );
  expect(done.body.status).toBe("succeeded");
  const setId = done.body.result.backup_id as string;
  await server.stop();
  fs.rmSync(path.join(home, "backups", setId, "verification.json"));

  // The next start verifies that set again instead of showing "not yet" for ever.
  server = await startServer(env());
  const verified = await until(
    () => api("GET", `/backups/${setId}`),
    (r) => r.body.verify_status !== null,
    "the set to be verified again",
    120_000,
  );
  expect(verified.body.verify_status).toBe("ok");
  const after = await (await fetch(`${server.url}/backups`, { headers: { Cookie: await signedInCookie() } })).text();
  expect(after).not.toContain("The last backup was interrupted at");
});
