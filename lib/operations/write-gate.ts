import "server-only";
import { processState } from "@/lib/process-state";

/**
 * One consistency point for the whole deployment. The app's own writes to the volumes (pipeline
 * files, scheduler dispatch, …) run through `runAppWrite`; a snapshot or a restore runs through
 * `withAppWritesPaused`, which waits for writes in flight to finish and holds new ones back until it
 * is done, so the database and the files it is taken with agree. Shared/exclusive, in-process only:
 * the CLI takes the server lock file instead.
 */
interface GateState {
  activeWrites: number;
  drained: (() => void) | null;
  pause: Promise<void> | null;
}
// Process-wide, like the database handle: Next.js may load this module once for instrumentation (the
// scheduler) and again for route bundles (backups), and both must see the same gate.
const gate = processState("writeGate", (): GateState => ({ activeWrites: 0, drained: null, pause: null }));

export async function runAppWrite<T>(write: () => Promise<T> | T): Promise<T> {
  while (gate.pause) await gate.pause;
  gate.activeWrites += 1;
  try {
    return await write();
  } finally {
    gate.activeWrites -= 1;
    if (gate.activeWrites === 0) gate.drained?.();
  }
}

export async function withAppWritesPaused<T>(work: () => Promise<T> | T): Promise<T> {
  while (gate.pause) await gate.pause;
  let release!: () => void;
  gate.pause = new Promise<void>((resolve) => (release = resolve));
  try {
    if (gate.activeWrites > 0) await new Promise<void>((resolve) => (gate.drained = resolve));
    gate.drained = null;
    return await work();
  } finally {
    gate.pause = null;
    release();
  }
}
