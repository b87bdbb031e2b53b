/**
 * Yielding to the event loop from long synchronous work on the server's main thread. Parsing
 * every pipeline file of a volume (508 files, 2 MB of YAML) in one go held every request, timer and
 * health probe behind it for up to 2 s after a restore; loops like that yield once per slice, so
 * nothing waits behind them for much longer than a slice. No imports: any layer may use it.
 */

/** Lets what waits (requests, timers, I/O callbacks) run before the work goes on. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `await pause()` between the steps of a long loop: it yields once the steps since the last yield
 * have run `sliceMs`, and costs nothing otherwise, so a loop of cheap steps is not slowed down.
 */
export function yieldEvery(sliceMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await yieldToEventLoop();
    since = performance.now();
  };
}
