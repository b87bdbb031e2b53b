import "server-only";
import { processState } from "@/lib/process-state";
import { getConfig } from "@/lib/config/service";
import { getLogger } from "@/lib/log/logger";

/**
 * Fault injection for the crash tests (T1/T2): when MIMIR_CRASH_POINT names this point, the process
 * SIGKILLs itself here, as a power cut or the OOM killer would. Unset in production: a no-op.
 */
export function crashPoint(name: string): void {
  if (getConfig().crashPoint === name) process.kill(process.pid, "SIGKILL");
}

/**
 * Fault injection for the shutdown tests: when MIMIR_HOLD_POINT names this point, the work waits
 * here until it is cancelled (then rejects with the cancel reason), so a test can stop the server at
 * a known step without sleeping. Logs "holding at <name>" once reached. Unset in production: resolves at once.
 */
export async function holdPoint(name: string, signal: AbortSignal | undefined): Promise<void> {
  if (getConfig().holdPoint !== name || !signal) return;
  getLogger().warn("holding at a test hold point until cancelled", { holdPoint: name });
  await new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

type PhaseHook = () => void | Promise<void>;
const hooks = processState("phaseHooks", () => new Map<string, PhaseHook>());

/**
 * A named phase of long work: a crash point, and the place where an in-process test acts at that
 * exact moment (cancels a restore during extraction, or after its swap) instead of guessing with
 * sleeps. Without a hook set, only the crash point.
 */
export async function phasePoint(name: string): Promise<void> {
  crashPoint(name);
  const hook = hooks.get(name);
  if (hook) await hook();
}

/** Runs `hook` each time work reaches the phase `name`; returns the function that removes it. */
export function onPhasePoint(name: string, hook: PhaseHook): () => void {
  hooks.set(name, hook);
  return () => {
    if (hooks.get(name) === hook) hooks.delete(name);
  };
}
