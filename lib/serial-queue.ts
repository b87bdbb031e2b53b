/**
 * A queue for work that must not interleave inside this process (writing config.yaml, first-run
 * setup, scans that each use every core): tasks run one after another in the order given, and a
 * failed task does not hold up the ones behind it. `await inTurn(async () => {})` waits until
 * everything queued so far has finished.
 */
export function createSerialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}
