import "server-only";
import { supported, trim } from "@mimir/malloc-trim";
import { processState } from "@/lib/process-state";
import { quietFor } from "@/lib/request-activity";

/**
 * Memory the process has freed, handed back to the system. glibc keeps what is freed inside its
 * heaps and returns only the top of one: after a restore or a backup (gunzip and tar buffers, zlib
 * streams, SQLite caches, worker threads) a server held ~50 MB of free memory for good, so its RSS
 * stayed at the peak of its last maintenance, and the boot's own work left ~20 MB
 * (bench/RESULTS-restore-memory.md). malloc_trim(0) returns it; Node does not expose it, so
 * native/malloc-trim does (built by `npm ci`), on a thread of libuv's pool so the event loop never
 * waits for it. Where the addon is absent (no glibc), everything runs as before.
 * Before that, what streams spend is freed at once (markFreeable, freeNow, collectingAsItMoves, below).
 */

/** While long work runs: often enough that the garbage of one phase is gone before the next one's peak. */
const BUSY_INTERVAL_MS = 1000;
/** Otherwise (a server serving pages): a trim that finds nothing to return costs well under a millisecond of a pool thread. */
const IDLE_INTERVAL_MS = 10_000;
/**
 * The busy pace goes on this long after the last work ended: V8 frees a buffer's memory only when
 * it collects the buffer, seconds after the work that dropped it.
 */
const TAIL_MS = 10_000;

interface Releaser {
  /** the server's steady pace is on (startReleasingFreedMemory); without it, trims stop once work has ended */
  serving: boolean;
  running: number;
  busyUntil: number;
  timer: NodeJS.Timeout | null;
  trimming: boolean;
  /** trims done since the process started (read by tests) */
  trims: number;
  /** a full collection waiting for the server to be quiet (collectFullWhenQuiet) */
  quietWait: NodeJS.Timeout | null;
}

const state = processState("freedMemory", (): Releaser => ({
  serving: false,
  running: 0,
  busyUntil: 0,
  timer: null,
  trimming: false,
  trims: 0,
  quietWait: null,
}));

const busy = () => state.running > 0 || Date.now() < state.busyUntil;

function schedule() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
  if (!busy() && !state.serving) return;
  state.timer = setTimeout(tick, busy() ? BUSY_INTERVAL_MS : IDLE_INTERVAL_MS).unref();
}

function tick() {
  state.timer = null;
  // One trim at a time: a slow one (a heap of many free chunks) never has the next queued behind it.
  if (!state.trimming) {
    state.trimming = true;
    void trim()
      .catch(() => false)
      .finally(() => {
        state.trims += 1;
        state.trimming = false;
      });
  }
  schedule();
}

/** At boot: freed memory goes back every 10 s for as long as the server runs (every second while long work runs). */
export function startReleasingFreedMemory(): void {
  if (!supported || state.serving) return;
  state.serving = true;
  // The boot's own work (migrations, the scheduler, the first storage scan) has just freed its memory.
  state.busyUntil = Math.max(state.busyUntil, Date.now() + TAIL_MS);
  schedule();
}

/**
 * Runs `work`, handing the memory it frees back every second until TAIL_MS after it ends, and then
 * has V8 collect fully once the server is quiet (collectFullWhenQuiet): what the work left in the old
 * generation (its streams' promoted buffers, its objects) would otherwise wait for a full collection
 * V8 starts only under pressure, and an idle server stayed ~30 MB above its idle through the next
 * work (bench/RESULTS-restore-memory.md).
 */
export async function releasingFreedMemory<T>(work: () => Promise<T>): Promise<T> {
  if (supported) {
    state.running += 1;
    if (state.running === 1) schedule();
  }
  try {
    return await work();
  } finally {
    if (supported) {
      state.running -= 1;
      if (state.running === 0) state.busyUntil = Date.now() + TAIL_MS;
    }
    collectFullWhenQuiet();
  }
}

/** How many times freed memory was handed back since the process started. */
export function freedMemoryTrims(): number {
  return state.trims;
}

/**
 * Buffers one owner holds alone, which that owner frees the moment it is done with them (freeNow).
 * V8 frees a buffer's memory only when it collects the object holding it, and a holder that lived
 * through two young collections (a compressed member on its way to disk, beside a serving event
 * loop) waits for the next full collection: a safety set's archives left 30-80 MB of such garbage
 * in the server (bench/RESULTS-restore-memory.md).
 */
const freeable = new WeakSet<ArrayBufferLike>();

/** Marks `buffer` as its owner's alone (only when it spans its whole memory, never a slice of a shared pool). */
export function markFreeable(buffer: Buffer): Buffer {
  if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength && buffer.byteLength > 0) freeable.add(buffer.buffer);
  return buffer;
}

/**
 * Frees a buffer marked by markFreeable now: its memory moves out of its holder (left empty) into a
 * clone nobody holds, which the next young collection frees however old the holder is. Anything
 * else (unmarked, or already handed to another thread) is left as it is.
 */
export function freeNow(buffer: Buffer): void {
  const memory = buffer.buffer;
  if (!freeable.has(memory)) return;
  freeable.delete(memory);
  if (memory.byteLength > 0) structuredClone(memory, { transfer: [memory as ArrayBuffer] });
}

/**
 * Collections paced by the data a stream moved, where the server exposes gc() (scripts/server-flags.mjs):
 * dead stream buffers are held by tiny objects, so V8 would collect them only when it collects for
 * other reasons. A young collection (`youngEvery` bytes) takes about a millisecond and frees the
 * buffers that died since the last one; the few holders still in flight at two young collections in
 * a row are promoted, and only a full collection (`fullEvery` bytes) frees those: 6-10 ms in a small
 * heap, 30-80 ms in the server, so work beside serving asks for it `whenQuiet` (collectFullWhenQuiet).
 */
export function collectingAsItMoves(pace: { youngEvery: number; fullEvery?: number; whenQuiet?: boolean }): (bytes: number) => void {
  const collect = globalThis.gc;
  let young = 0;
  let full = 0;
  return (bytes) => {
    if (!collect) return;
    young += bytes;
    full += bytes;
    if (pace.fullEvery !== undefined && full >= pace.fullEvery) {
      full = 0;
      if (!pace.whenQuiet) {
        // A full collection frees the young generation too: the young count starts again.
        young = 0;
        collect();
        return;
      }
      collectFullWhenQuiet();
    }
    if (young >= pace.youngEvery) {
      young = 0;
      collect({ type: "minor" });
    }
  };
}

/** A full collection on the next turn of the event loop, where the server exposes gc(): once long work has dropped what it held. */
export function collectFullSoon(): void {
  const collect = globalThis.gc;
  if (collect) setImmediate(() => collect());
}

/**
 * Silence before a full collection after work: longer than the pause it makes (30-80 ms), so a client
 * asking more often than this never meets one; the dashboard polls an operation every 500 ms.
 */
const QUIET_MS = 100;
/** Checked this often while waiting for quiet. */
const QUIET_POLL_MS = 25;
/** A server never quiet this long is busy serving: V8's own full collections, marked as it goes, free the old generation there. */
const QUIET_WAIT_MS = 60_000;

/**
 * A full collection (collectFullSoon) once no request has come or been answered for QUIET_MS: a
 * forced one is a single atomic pause of the event loop, 30-80 ms in the server beside maintenance
 * (bench/RESULTS-backup-beside.md), which a script reading every few milliseconds would otherwise
 * meet. Calls while one waits join it; after QUIET_WAIT_MS without quiet it is dropped.
 */
export function collectFullWhenQuiet(): void {
  const collect = globalThis.gc;
  if (!collect || state.quietWait) return;
  const deadline = Date.now() + QUIET_WAIT_MS;
  const check = () => {
    state.quietWait = null;
    if (quietFor(QUIET_MS)) collect();
    else if (Date.now() < deadline) state.quietWait = setTimeout(check, QUIET_POLL_MS).unref();
  };
  state.quietWait = setTimeout(check, QUIET_POLL_MS).unref();
}
