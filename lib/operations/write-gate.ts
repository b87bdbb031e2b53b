import "server-only";

/**
 * One consistency point for the whole deployment. The app's own writes to the volumes (pipeline
 * files, scheduler dispatch, …) run through `runAppWrite`; a snapshot or a restore runs through
 * `withAppWritesPaused`, which waits for writes in flight to finish and holds new ones back until it
 * is done, so the database and the files it is taken with agree. Shared/exclusive, in-process only:
 * the CLI takes the server lock file instead.
 */
let activeWrites = 0;
let drained: (() => void) | null = null;
let pause: Promise<void> | null = null;

export async function runAppWrite<T>(write: () => Promise<T> | T): Promise<T> {
  while (pause) await pause;
  activeWrites += 1;
  try {
    return await write();
  } finally {
    activeWrites -= 1;
    if (activeWrites === 0) drained?.();
  }
}

export async function withAppWritesPaused<T>(work: () => Promise<T> | T): Promise<T> {
  while (pause) await pause;
  let release!: () => void;
  pause = new Promise<void>((resolve) => (release = resolve));
  try {
    if (activeWrites > 0) await new Promise<void>((resolve) => (drained = resolve));
    drained = null;
    return await work();
  } finally {
    pause = null;
    release();
  }
}

/** Whether app writes are held back right now (shown on pages and /health during a restore). */
export function appWritesPaused(): boolean {
  return pause !== null;
}
