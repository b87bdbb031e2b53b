import "server-only";
import { getConfig } from "@/lib/config/service";

/**
 * Fault injection for the crash tests (T1/T2): when MIMIR_CRASH_POINT names this point, the process
 * SIGKILLs itself here, as a power cut or the OOM killer would. Unset in production: a no-op.
 */
export function crashPoint(name: string): void {
  if (getConfig().crashPoint === name) process.kill(process.pid, "SIGKILL");
}
