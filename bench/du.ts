/**
 * Volume scan vs `du -sb` on a tree of 100,000 small files (0–4 KiB in 1,100 folders, like
 * perf-baseline 3d), warm cache, in one run: RUNS alternating pairs after WARMUP rounds; prints
 * both medians, the ratio of the medians and the median of the per-pair ratios. Goal ≤ 1.5.
 * Our time is measured in-process (what a sample costs the server); du's includes its own start.
 *   npm run bench:du [-- --files 100000 --runs 9 --dir bench/.data/du-tree]
 * (node --conditions=react-server: lib/ modules marked server-only load only under it)
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { scanFolder } from "@/lib/storage/walk";

const { values: args } = parseArgs({
  options: {
    files: { type: "string", default: "100000" },
    runs: { type: "string", default: "9" },
    warmup: { type: "string", default: "2" },
    dir: { type: "string", default: path.join("bench", ".data", "du-tree") },
  },
});
const FILES = Number(args.files);
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const FILES_PER_FOLDER = 91;
const FOLDERS_PER_PARENT = 10;

/** Makes the tree once (deterministic sizes); a marker file says which size it was made at. */
function ensureTree(root: string, files: number) {
  const marker = `${root}.made-with-${files}`;
  if (fs.existsSync(marker)) return;
  fs.rmSync(root, { recursive: true, force: true });
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const content = Buffer.alloc(4096, 97);
  let made = 0;
  for (let parent = 0; made < files; parent++) {
    for (let child = 0; child < FOLDERS_PER_PARENT && made < files; child++) {
      const folder = path.join(root, `d${parent}`, `s${child}`);
      fs.mkdirSync(folder, { recursive: true });
      for (let f = 0; f < FILES_PER_FOLDER && made < files; f++, made++) {
        fs.writeFileSync(path.join(folder, `f${f}.txt`), content.subarray(0, Math.floor(random() * 4097)));
      }
    }
  }
  fs.writeFileSync(marker, "");
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timeOurs(root: string) {
  const started = performance.now();
  const scan = await scanFolder(root);
  return { ms: performance.now() - started, bytes: scan.bytes, files: scan.files };
}

function timeDu(root: string) {
  const started = performance.now();
  const out = execFileSync("du", ["-sb", root], { encoding: "utf8" });
  return { ms: performance.now() - started, bytes: Number(out.split("\t")[0]) };
}

const root = path.resolve(args.dir);
console.log(`tree: ${root} (${FILES.toLocaleString("en-US")} files)`);
const madeAt = performance.now();
ensureTree(root, FILES);
if (performance.now() - madeAt > 1000) console.log(`made the tree in ${((performance.now() - madeAt) / 1000).toFixed(1)} s`);

for (let i = 0; i < WARMUP; i++) {
  await timeOurs(root);
  timeDu(root);
}
const ours: number[] = [];
const du: number[] = [];
const ratios: number[] = [];
let last: { ours: number; du: number; files: number } = { ours: 0, du: 0, files: 0 };
for (let i = 0; i < RUNS; i++) {
  // Alternate which goes first, so neither always runs on the cache the other just warmed.
  const a = i % 2 === 0 ? await timeOurs(root) : null;
  const d = timeDu(root);
  const o = a ?? (await timeOurs(root));
  ours.push(o.ms);
  du.push(d.ms);
  ratios.push(o.ms / d.ms);
  last = { ours: o.bytes, du: d.bytes, files: o.files };
}
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(
  `bytes: ours ${last.ours.toLocaleString("en-US")}, du -sb ${last.du.toLocaleString("en-US")} (${last.ours === last.du ? "equal" : "DIFFERENT"}); files ${last.files.toLocaleString("en-US")}`,
);
console.log(`scanFolder  median ${fmt(median(ours))}  [${fmt(Math.min(...ours))}–${fmt(Math.max(...ours))}]`);
console.log(`du -sb      median ${fmt(median(du))}  [${fmt(Math.min(...du))}–${fmt(Math.max(...du))}]`);
console.log(`ratio (median ours / median du): ${(median(ours) / median(du)).toFixed(2)}`);
console.log(
  `ratio (median of ${RUNS} paired runs): ${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]  goal ≤ 1.5`,
);
