import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { E2E_PORT } from "./env";

/**
 * A second console for specs that must not share the suite's server: first-run setup needs a data
 * root with no account, and a reset wipes one. Started by scripts/e2e-server.mjs like the main one
 * (fresh data root pre-filled with Mimir's own rows), `offset` ports above the suite's.
 */
export class OwnServer {
  readonly port: number;
  readonly baseURL: string;
  readonly home: string;
  private process: ChildProcess | null = null;

  constructor(
    private readonly name: string,
    offset: number,
  ) {
    this.port = E2E_PORT + offset;
    this.baseURL = `http://127.0.0.1:${this.port}`;
    this.home = path.join(os.tmpdir(), `mimir-e2e-${name}-${this.port}`);
  }

  /** Starts it with `env` (a key set to undefined is removed) and waits for /health. */
  async start(env: Record<string, string | undefined> = {}): Promise<void> {
    const merged: NodeJS.ProcessEnv = { ...process.env, E2E_PORT: String(this.port), E2E_HOME: this.home, NEXT_TELEMETRY_DISABLED: "1" };
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
    this.process = spawn("node", ["scripts/e2e-server.mjs"], { env: merged, stdio: "ignore" });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`${this.baseURL}/health`)).ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`the ${this.name} spec's server did not start`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Stops it (SIGTERM, as docker stop) and starts it again on the same data root with `env`. */
  async restart(env: Record<string, string | undefined> = {}): Promise<void> {
    await this.terminate();
    await this.start({ ...env, E2E_KEEP_HOME: "1" });
  }

  /** Stops it and removes its data root. */
  async stop(): Promise<void> {
    await this.terminate();
    fs.rmSync(this.home, { recursive: true, force: true });
    fs.rmSync(`${this.home}-state`, { recursive: true, force: true });
  }

  private async terminate(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    this.process = null;
  }
}
