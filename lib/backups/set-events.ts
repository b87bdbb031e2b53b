import "server-only";
import { processState } from "@/lib/process-state";
import { getLogger } from "@/lib/log/logger";

/**
 * What other capabilities do once a new set has passed its restore drill (offsite copies start
 * there). Filled from the composition root (lib/builtins.ts), so backups imports none of them.
 */
type SetVerifiedListener = (backupId: string) => Promise<unknown>;

const listeners = processState("backupSetVerifiedListeners", () => new Map<string, SetVerifiedListener>());

/** Registers (or replaces, by name) a listener. */
export function onSetVerified(name: string, listener: SetVerifiedListener): void {
  listeners.set(name, listener);
}

/** Tells every listener; a listener's failure is logged, never the backup's. */
export async function announceSetVerified(backupId: string): Promise<void> {
  for (const [name, listener] of listeners) {
    try {
      await listener(backupId);
    } catch (error) {
      getLogger().warn("a listener of verified sets failed", { listener: name, backup_id: backupId, error: (error as Error).message });
    }
  }
}
