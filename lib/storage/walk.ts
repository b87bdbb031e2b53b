import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { createSerialQueue } from "@/lib/serial-queue";

/** How many of the largest files a scan remembers. */
export const LARGEST_FILES = 10;

export interface FolderScan {
  /** apparent bytes of every entry, folders included, each hard-linked file once: what `du -sb` prints */
  bytes: number;
  /** files, symlinks and other non-folder entries, each hard-linked file once */
  files: number;
  folders: number;
  largest: { path: string; bytes: number }[];
  /** entries that vanished or could not be read during the walk; the totals leave them out */
  unreadable: number;
  /** false when the folder does not exist (a volume not created yet) */
  exists: boolean;
}

const LSTAT_OPTIONS = { throwIfNoEntry: false } as const;
/** Threads a walk is spread over: the walk is bound by one lstat per entry, and there are two cores. */
const WALK_WORKERS = 2;

/**
 * The walk itself, run on worker threads (evaluated, so the bundler leaves it alone): the synchronous
 * fs calls are ~8× cheaper per entry than the promise API (perf-baseline 3d), and off the main
 * thread they cannot stall requests. Each worker gets a share of the root's entries and walks them
 * depth-first. Files with several links are handed back uncounted, so the caller counts each inode
 * once across workers and volumes, as `du` does.
 */
const WALK_WORKER_SCRIPT = String.raw`
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const path = require("node:path");
const OPTS = { throwIfNoEntry: false };
parentPort.on("message", ({ root, names, largestCount }) => {
  const out = { bytes: 0, files: 0, folders: 0, unreadable: 0, largest: [], linked: [] };
  const stack = [];
  const visit = (entry) => {
    let stat;
    try { stat = fs.lstatSync(entry, OPTS); } catch { stat = undefined; }
    if (!stat) { out.unreadable += 1; return; }
    if (stat.isDirectory()) { out.bytes += stat.size; out.folders += 1; stack.push(entry); return; }
    if (stat.nlink > 1) { out.linked.push([stat.dev + ":" + stat.ino, stat.size, entry]); return; }
    out.bytes += stat.size;
    out.files += 1;
    if (out.largest.length < largestCount || stat.size > out.largest[out.largest.length - 1][1]) {
      out.largest.push([entry, stat.size]);
      out.largest.sort((a, b) => b[1] - a[1]);
      if (out.largest.length > largestCount) out.largest.pop();
    }
  };
  for (const name of names) visit(root + path.sep + name);
  while (stack.length > 0) {
    const dir = stack.pop();
    let children;
    try { children = fs.readdirSync(dir); } catch { out.unreadable += 1; continue; }
    for (const name of children) visit(dir + path.sep + name);
  }
  parentPort.postMessage(out);
});
`;

interface WorkerShare {
  bytes: number;
  files: number;
  folders: number;
  unreadable: number;
  largest: [string, number][];
  /** [dev:ino, size, path] of files with several links, left for the caller to count once */
  linked: [string, number, string][];
}

// Process-wide: one small pool per process, started by a scan, kept for the scans that follow it
// (a page's folder sizes, a sample's volumes) and ended once idle (see IDLE_POOL_MS). Unref'd, so an
// idle pool never keeps a CLI or test process alive.
const memo = processState("walkWorkers", (): { walkWorkers?: Worker[]; retire?: NodeJS.Timeout } => ({}));

/**
 * How long the pool outlives its last scan: long enough for the scans of one sample or page, which
 * follow each other at once. Two idle threads hold ~18 MB of the server's memory (at boot they were
 * still there when a restore started: bench/RESULTS-restore-memory.md), and the sampler scans only
 * every storage.sample_interval_minutes; starting them again costs tens of milliseconds, on a scan of seconds.
 */
const IDLE_POOL_MS = 5_000;

function retireWalkWorkers() {
  const workers = memo.walkWorkers ?? [];
  delete memo.walkWorkers;
  for (const worker of workers) void worker.terminate();
}

function walkWorkers(): Worker[] {
  memo.walkWorkers ??= Array.from({ length: WALK_WORKERS }, () => {
    const worker = new Worker(WALK_WORKER_SCRIPT, { eval: true });
    worker.unref();
    return worker;
  });
  return memo.walkWorkers;
}

/** Scans are queued: each uses the whole pool, and two at once would only contend for the cores. */
const scansInTurn = createSerialQueue();

function walkShare(worker: Worker, root: string, names: string[]): Promise<WorkerShare> {
  return new Promise((resolve, reject) => {
    const onMessage = (share: WorkerShare) => {
      worker.off("error", onError);
      resolve(share);
    };
    const onError = (error: Error) => {
      worker.off("message", onMessage);
      delete memo.walkWorkers;
      reject(error);
    };
    worker.once("message", onMessage);
    worker.once("error", onError);
    worker.postMessage({ root, names, largestCount: LARGEST_FILES });
  });
}

/**
 * Sums a folder tree like `du -sb`: apparent sizes, folders included, symlinks not followed, each
 * inode with several links counted once (across the scans that share `seenInodes`). The root's
 * entries are dealt out to WALK_WORKERS threads, so the event loop stays free and both cores work.
 * Only reads, so it keeps working on a full disk.
 */
export async function scanFolder(root: string, seenInodes = new Set<string>()): Promise<FolderScan> {
  return scansInTurn(async () => {
    clearTimeout(memo.retire);
    try {
      return await scanWithWorkers(root, seenInodes);
    } finally {
      // Scans run one at a time, so no scan is under way when this fires.
      memo.retire = setTimeout(retireWalkWorkers, IDLE_POOL_MS).unref();
    }
  });
}

async function scanWithWorkers(root: string, seenInodes: Set<string>): Promise<FolderScan> {
  const scan: FolderScan = { bytes: 0, files: 0, folders: 0, largest: [], unreadable: 0, exists: true };
  const rootStat = fs.lstatSync(root, LSTAT_OPTIONS);
  if (!rootStat) return { ...scan, exists: false };
  if (!rootStat.isDirectory()) {
    addFile(scan, root, rootStat.size, rootStat.nlink > 1 ? `${rootStat.dev}:${rootStat.ino}` : null, seenInodes);
    return scan;
  }
  scan.bytes += rootStat.size;
  scan.folders += 1;
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return { ...scan, unreadable: 1 };
  }
  const workers = walkWorkers();
  // Dealt round-robin, so a root of many files and a root of a few big folders both split evenly enough.
  const shares = workers.map((_, index) => names.filter((_name, position) => position % workers.length === index));
  const results = await Promise.all(workers.map((worker, index) => walkShare(worker, root, shares[index]!)));
  for (const share of results) {
    scan.bytes += share.bytes;
    scan.files += share.files;
    scan.folders += share.folders;
    scan.unreadable += share.unreadable;
    for (const [file, bytes] of share.largest) addLargest(scan, file, bytes);
  }
  for (const share of results) for (const [key, bytes, file] of share.linked) addFile(scan, file, bytes, key, seenInodes);
  scan.largest.sort((a, b) => b.bytes - a.bytes);
  return scan;
}

/** Counts one non-folder entry; `inodeKey` is set for files with several links, counted once. */
function addFile(scan: FolderScan, file: string, bytes: number, inodeKey: string | null, seenInodes: Set<string>) {
  if (inodeKey) {
    if (seenInodes.has(inodeKey)) return;
    seenInodes.add(inodeKey);
  }
  scan.bytes += bytes;
  scan.files += 1;
  addLargest(scan, file, bytes);
}

function addLargest(scan: FolderScan, file: string, bytes: number) {
  const { largest } = scan;
  if (largest.length < LARGEST_FILES) {
    largest.push({ path: file, bytes });
    if (largest.length === LARGEST_FILES) largest.sort((a, b) => b.bytes - a.bytes);
  } else if (bytes > largest[LARGEST_FILES - 1]!.bytes) {
    // Kept sorted, biggest first: the list is short, so an insertion beats a heap.
    let i = LARGEST_FILES - 1;
    while (i > 0 && largest[i - 1]!.bytes < bytes) {
      largest[i] = largest[i - 1]!;
      i -= 1;
    }
    largest[i] = { path: file, bytes };
  }
}
