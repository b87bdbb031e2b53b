// Where a server's CPU time went, from a `node --cpu-prof` profile (bench/http-profile.ts): self time by
// function, and inclusive time (the function or anything it called, synchronously) for the functions
// whose name or file match a pattern, divided by the requests served to give µs per request.
//
//   node bench/cpu-profile.mjs PROFILE.cpuprofile [REQUESTS] [--top 40] [--match 'proxy|authenticate|handle']
//        [--from µs --to µs]   only the samples in this window (CLOCK_MONOTONIC µs, as the profile's timestamps)
//        [--cpu µs]            the process's CPU time over the window (/proc/PID/stat): the profile's busy
//                              samples are scaled to it, since on a loaded machine a sample also counts
//                              the time the thread waited for a core
import fs from "node:fs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  return value;
};
const top = Number(option("--top", 40));
const match = option("--match", null);
const from = Number(option("--from", -Infinity));
const to = Number(option("--to", Infinity));
const cpuMicros = Number(option("--cpu", 0));
const [file, requestsText] = args;
const requests = Number(requestsText ?? 0);
const profile = JSON.parse(fs.readFileSync(file, "utf8"));

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Each sample's duration: the gap to the next sample (the last one gets the mean).
const { samples, timeDeltas } = profile;
const sampleMicros = samples.map((_, i) => timeDeltas[i + 1] ?? (profile.endTime - profile.startTime) / samples.length);
const inWindow = [];
for (let i = 0, at = profile.startTime; i < samples.length; i += 1) {
  at += timeDeltas[i];
  inWindow.push(at >= from && at <= to);
}

const fileOf = (node) => (node.callFrame.url ? node.callFrame.url.replace(/^.*\/(node_modules|\.next)\//, "$1/").replace(/^file:\/\//, "") : "");
const label = (node) => {
  const { functionName, lineNumber, columnNumber } = node.callFrame;
  const where = fileOf(node);
  return `${functionName || "(anonymous)"} ${where}${where ? `:${lineNumber + 1}:${columnNumber + 1}` : ""}`;
};

const self = new Map();
const byFile = new Map();
const inclusive = new Map();
const pattern = match ? new RegExp(match) : null;
for (let i = 0; i < samples.length; i += 1) {
  if (!inWindow[i]) continue;
  const micros = sampleMicros[i];
  let id = samples[i];
  const leaf = label(nodes.get(id));
  self.set(leaf, (self.get(leaf) ?? 0) + micros);
  const file = fileOf(nodes.get(id)) || "(native or V8)";
  byFile.set(file, (byFile.get(file) ?? 0) + micros);
  if (!pattern) continue;
  const seen = new Set();
  while (id !== undefined) {
    const name = label(nodes.get(id));
    if (pattern.test(name) && !seen.has(name)) {
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
    id = parent.get(id);
  }
}

const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([name]) => /^\((idle|program|garbage collector)\)/.test(name));
const busy = total - idle.filter(([n]) => n.startsWith("(idle)")).reduce((a, [, m]) => a + m, 0);
// Sampled µs scaled to CPU µs when the CPU time is known.
const scale = cpuMicros > 0 ? cpuMicros / busy : 1;
const perRequest = (micros) => (requests > 0 ? `${((micros * scale) / requests).toFixed(1).padStart(8)} µs/req` : "");
console.log(`profile ${(total / 1e6).toFixed(2)} s; ${idle.map(([n, m]) => `${n.trim()} ${(m / 1e6).toFixed(2)} s`).join(", ")}; requests ${requests}`);
console.log(
  `busy ${(busy / 1e6).toFixed(2)} s sampled${cpuMicros > 0 ? `, ${(cpuMicros / 1e6).toFixed(2)} s CPU (all threads)` : ""}: ${perRequest(busy)}\n\nself time, top ${top}:`,
);
for (const [name, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((micros / busy) * 100).toFixed(1).padStart(5)}% ${perRequest(micros)}  ${name}`);
}
console.log(`\nself time by file, top ${top}:`);
for (const [name, micros] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((micros / busy) * 100).toFixed(1).padStart(5)}% ${perRequest(micros)}  ${name}`);
}
if (pattern) {
  console.log(`\ninclusive time of /${match}/:`);
  for (const [name, micros] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((micros / busy) * 100).toFixed(1).padStart(5)}% ${perRequest(micros)}  ${name}`);
  }
}
