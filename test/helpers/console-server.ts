import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer, type RunningServer } from "@/test/helpers/server";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const ROOT_DIR = ROOT;

export interface ConsoleServer {
  url: string;
  home: string;
  output: () => string;
  /** stops the server and removes its data root unless `keepHome` */
  stop: (options?: { keepHome?: boolean }) => Promise<void>;
}

/** The production build on a free port with a fresh data root of its own in a temp folder. */
export async function startBuiltServer(env: Record<string, string> = {}): Promise<ConsoleServer> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-server-"));
  let server: RunningServer;
  try {
    server = await startServer({ MIMIR_HOME: home, ...env });
  } catch (error) {
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    url: server.url,
    home,
    output: server.output,
    stop: async ({ keepHome = false } = {}) => {
      if (!stopped) {
        stopped = true;
        await server.stop();
      }
      if (!keepHome) fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Every server action in the build's manifest, with its file, exported name and the pages that carry it. */
export function serverActions(): { id: string; filename: string; exportedName: string; workers: string[] }[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, ".next/server/server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { filename: string; exportedName: string; workers: Record<string, unknown> }>;
  };
  return Object.entries(manifest.node).map(([id, entry]) => ({
    id,
    filename: entry.filename,
    exportedName: entry.exportedName,
    workers: Object.keys(entry.workers),
  }));
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
