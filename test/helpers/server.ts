import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { withServerNodeOptions } from "@/scripts/server-flags.mjs";

const REPO = path.join(import.meta.dirname, "../..");

export interface RunningServer {
  url: string;
  process: ChildProcess;
  /** everything the server printed so far */
  output: () => string;
  /** SIGTERM, then resolves with the exit code */
  stop: () => Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(REPO, ".next", "BUILD_ID"))) {
    throw new Error("These tests start the production build: run `npx next build` first (npm test does).");
  }
}

/**
 * Starts the production build (`next start`) with the given environment. Resolves once /health
 * answers, or rejects with the server's output if it exits first (a failed boot must exit).
 */
export async function startServer(env: Record<string, string>): Promise<RunningServer> {
  assertBuilt();
  const port = await freePort();
  let output = "";
  const child = spawn(path.join(REPO, "node_modules/.bin/next"), ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: REPO,
    // Run as `npm start` runs it, with the server's Node flags.
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_OPTIONS: withServerNodeOptions(process.env.NODE_OPTIONS), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  // A death by signal (code null) is written into the output, so a failing test shows which one.
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      if (signal) output += `\n[the server was ended by ${signal}]\n`;
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const code = await Promise.race([exited, new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 200))]);
    if (code !== "waiting") throw new ServerExitedError(code, output);
    try {
      const response = await fetch(`${url}/health`);
      if (response.status > 0) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not answer /health within 60 s:\n${output}`);
    }
  }
  return {
    url,
    process: child,
    output: () => output,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

export class ServerExitedError extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`server exited with code ${code}:\n${output}`);
  }
}

/** Starts a server that is expected to fail its boot; returns its exit code and output. */
export async function expectBootFailure(env: Record<string, string>): Promise<ServerExitedError> {
  try {
    const server = await startServer(env);
    await server.stop();
  } catch (error) {
    if (error instanceof ServerExitedError) return error;
    throw error;
  }
  throw new Error("the server booted, but it was expected to refuse");
}
