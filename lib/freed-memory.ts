import "server-only";
import { supported, trim } from "@mimir/malloc-trim";
import { processState } from "@/lib/process-state";

/**
 * Memory the process has freed, handed back to the system while heavy work runs. glibc keeps what is
 * freed inside its heaps and returns only the top of one: after a restore or a backup (gunzip and
 * tar buffers, zlib streams, SQLite caches, worker threads) a server held ~50 MB of free memory for
 * good, so its RSS stayed at the peak of its last maintenance (bench/RESULTS-restore-memory.md).
 * malloc_trim(0) returns it; Node does not expose it, so native/malloc-trim does (built by `npm ci`),
 * on a thread of libuv's pool so the event loop never waits for it. Where the addon is absent (no
 * glibc), the work runs as before.
 */

/** How often memory is handed back while work runs: often enough that garbage of one phase is gone before the next. */
const INTERVAL_MS = 1000;
/**
 * Trims go on this long after the last work ended: V8 frees a buffer's memory only when it collects
 * the buffer, seconds after the work that dropped it.
 */
const TAIL_MS = 10_000;

interface Releaser {
  running: number;
  /** trims done since the process started (read by tests) */
  trims: number;
  timer: NodeJS.Timeout | null;
  stopAt: number;
  trimming: boolean;
}

const state = processState("freedMemory", (): Releaser => ({ running: 0, trims: 0, timer: null, stopAt: 0, trimming: false }));

function tick() {
  if (state.running === 0 && Date.now() >= state.stopAt && state.timer) {
    clearInterval(state.timer);
    state.timer = null;
  }
  // One trim at a time: a slow one (a heap of many free chunks) is never queued behind by the next.
  if (state.trimming) return;
  state.trimming = true;
  void trim()
    .catch(() => false)
    .finally(() => {
      state.trims += 1;
      state.trimming = false;
    });
}

/** Runs `work`, handing the memory it frees back to the system every second until TAIL_MS after it ends. */
export async function releasingFreedMemory<T>(work: () => Promise<T>): Promise<T> {
  if (!supported) return work();
  state.running += 1;
  state.timer ??= setInterval(tick, INTERVAL_MS).unref();
  try {
    return await work();
  } finally {
    state.running -= 1;
    if (state.running === 0) state.stopAt = Date.now() + TAIL_MS;
    tick();
  }
}

/** How many times freed memory was handed back since the process started. */
export function freedMemoryTrims(): number {
  return state.trims;
}
