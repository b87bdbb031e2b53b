import "server-only";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";

/** stdout beyond this is not kept for parsing (it still goes to the log): a result is a small JSON object. */
export const MAX_PLUGIN_STDOUT_BYTES = 1024 * 1024;
/** After SIGTERM to the plugin's process group, SIGKILL follows this much later. */
export const KILL_GRACE_MS = 3000;
const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Plugins get a fixed environment: never the server's own (it holds the admin password and token). */
const PLUGIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class PluginError extends Error {}

/** The executable `plugins/<name>`, or a PluginError saying why there is none. */
export function resolvePluginExecutable(name: string): string {
  if (!PLUGIN_NAME.test(name) || name.includes("..")) throw new PluginError(`'${name}' is not a valid plugin name`);
  const dir = path.resolve(getConfig().paths.plugins);
  const file = path.resolve(dir, name);
  if (path.dirname(file) !== dir) throw new PluginError(`plugin '${name}' does not resolve inside the plugins volume`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new PluginError(`plugin '${name}' not found: it is not a System.* built-in and there is no executable ${path.join(dir, name)}`);
  }
  if (!stat.isFile()) throw new PluginError(`plugin '${name}' is not a file in the plugins volume`);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new PluginError(`plugin '${name}' is not executable (chmod +x ${path.join(dir, name)})`);
  }
  return file;
}

export interface ExecutableRun {
  file: string;
  /** written as JSON to the plugin's stdin */
  input: unknown;
  env: Record<string, string>;
  /** aborted on cancel or timeout: the whole process group is killed */
  signal: AbortSignal;
  /** receives stdout and stderr as they come (the run's log file) */
  onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

/**
 * Runs a plugin executable in its own process group: JSON on stdin, a JSON object expected on stdout.
 * Rejects with a PluginError on a non-zero exit, output that is not a JSON object, or abort (after
 * killing the group, so children of a shell script die too).
 */
export function runExecutablePlugin(run: ExecutableRun): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    if (run.signal.aborted) return reject(new PluginError(abortMessage(run.signal)));
    const child = spawn(run.file, [], {
      cwd: path.dirname(run.file),
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      // Next.js types ProcessEnv with a required NODE_ENV; a plugin gets only what is listed here.
      env: { PATH: PLUGIN_PATH, LANG: "C.UTF-8", ...run.env } as unknown as NodeJS.ProcessEnv,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let lastStderr = "";
    let killTimer: NodeJS.Timeout | null = null;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    const onAbort = () => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
    };
    run.signal.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => {
      run.onOutput("stdout", chunk);
      if (stdoutBytes < MAX_PLUGIN_STDOUT_BYTES) stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      run.onOutput("stderr", chunk);
      const lines = chunk.toString("utf8").trim().split("\n");
      lastStderr = lines.at(-1)?.slice(0, 300) || lastStderr;
    });
    // A plugin that exits without reading its stdin makes the write fail with EPIPE: not our error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(JSON.stringify(run.input));

    child.on("error", (error) => {
      run.signal.removeEventListener("abort", onAbort);
      reject(new PluginError(`could not start ${path.basename(run.file)}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      run.signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      // Children left behind by a plugin that exited are reaped with the group.
      killGroup("SIGKILL");
      if (run.signal.aborted) return reject(new PluginError(abortMessage(run.signal)));
      if (code !== 0) {
        return reject(new PluginError(`exited with ${code === null ? `signal ${signal}` : `code ${code}`}${lastStderr ? `: ${lastStderr}` : ""}`));
      }
      if (stdoutBytes > MAX_PLUGIN_STDOUT_BYTES)
        return reject(new PluginError(`printed more than ${MAX_PLUGIN_STDOUT_BYTES} bytes on stdout; a result is one small JSON object`));
      const text = Buffer.concat(stdout).toString("utf8").trim();
      if (text === "") return resolve({});
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return reject(new PluginError(`printed output that is not JSON: ${JSON.stringify(text.slice(0, 120))}`));
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) return reject(new PluginError("printed JSON that is not an object"));
      resolve(value as Record<string, unknown>);
    });
  });
}

function abortMessage(signal: AbortSignal): string {
  const reason = signal.reason as unknown;
  return reason instanceof Error ? reason.message : "aborted";
}
