// The Node flags the server runs with, wherever it runs: `npm start` (scripts/start.mjs), the e2e and
// test servers, the benches; the Dockerfile's CMD repeats them (a Dockerfile cannot import this).
// - --max-semi-space-size=4: V8's young generation at 4 MB per semi-space instead of 16, so dead stream
//   buffers are collected every few MB. bench:restore-server, interleaved (bench/RESULTS-restore-memory.md):
//   idle 224-233 -> 202-206 MB, the peak through a restore, its safety set and verify 321-354 -> 284-294 MB.
// - --expose-gc: the backup's gzip threads collect each member's dead buffers at once (lib/backups/parallel-gzip.ts).
export const SERVER_NODE_FLAGS = ["--max-semi-space-size=4", "--expose-gc"];

/** NODE_OPTIONS with the server's flags added; a flag already set there (any value) is left as it is. */
export function withServerNodeOptions(nodeOptions = "") {
  let options = nodeOptions.trim();
  for (const flag of SERVER_NODE_FLAGS) if (!options.includes(flag.split("=")[0])) options = `${options} ${flag}`.trim();
  return options;
}
