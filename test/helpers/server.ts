import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface RunningServer {
  url: string;
  home: string;
  /** the server's stdout and stderr so far */
  output: () => string;
  /** stops the server (SIGTERM, then SIGKILL) and removes the data root unless `keepHome` */
  stop: (options?: { keepHome?: boolean }) => Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * Starts the production build (`next start`, which must exist: run `next build` first) on a free
 * port with a fresh data root in a temp folder, and waits until /health answers.
 */
export async function startBuiltServer(env: Record<string, string> = {}): Promise<RunningServer> {
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) throw new Error("No production build: run `next build` first");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-server-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(path.join(ROOT, "node_modules/.bin/next"), ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", MIMIR_HOME: home, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    try {
      if ((await fetch(`${url}/health`)).status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not answer /health in time:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    home,
    output: () => output,
    stop: async ({ keepHome = false } = {}) => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (!keepHome) fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The id of a server action from the build's manifest, by its file and exported name. */
export function serverActions(): { id: string; filename: string; exportedName: string; workers: string[] }[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, ".next/server/server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { filename: string; exportedName: string; workers: Record<string, unknown> }>;
  };
  return Object.entries(manifest.node).map(([id, entry]) => ({ id, filename: entry.filename, exportedName: entry.exportedName, workers: Object.keys(entry.workers) }));
}

/** The URL path a page worker serves: "app/(dashboard)/settings/page" → "/settings". */
export function pagePathOf(worker: string): string {
  const segments = worker
    .replace(/^app\//, "")
    .replace(/\/?page$/, "")
    .split("/")
    .filter((segment) => segment && !/^\(.*\)$/.test(segment));
  return `/${segments.join("/")}`;
}

/**
 * Calls a server action the way the browser's router does (Next-Action header, JSON arguments) and
 * returns the HTTP status and the action's result, when the response carries one.
 */
export async function callAction(url: string, pagePath: string, actionId: string, input: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${pagePath}`, {
    method: "POST",
    redirect: "manual",
    headers: { "Next-Action": actionId, Accept: "text/x-component", "Content-Type": "text/plain;charset=UTF-8", Origin: url, ...headers },
    body: JSON.stringify([input]),
  });
  const text = await response.text();
  const line = text.split("\n").find((l) => /^1:\{"ok":/.test(l));
  const result = line ? (JSON.parse(line.slice(2)) as { ok: boolean; error?: { code: string }; data?: unknown }) : null;
  return { status: response.status, result, setCookie: response.headers.getSetCookie() };
}

export const ROOT_DIR = ROOT;
