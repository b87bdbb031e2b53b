import "server-only";
import fs from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { eq } from "drizzle-orm";
import type { AppConfig } from "@/lib/config/load";
import { getDb } from "@/lib/db/client";
import { bulkInsertExecutions } from "@/lib/db/bulk";
import { pipelines } from "@/lib/db/schema/pipelines";
import { scheduledJobs } from "@/lib/db/schema/jobs";
import type { NewJobExecutionRow } from "@/lib/db/schema/executions";
import { nextRunOf } from "@/lib/jobs/cron";
import { announceJobsChangedElsewhere } from "@/lib/jobs/service";
import type { JobLastResult } from "@/lib/jobs/types";
import { earliestSampleTime, storeSample } from "@/lib/storage/sampler";
import { measureStorage } from "@/lib/storage/usage";
import type { StorageUsage } from "@/lib/storage/types";

/**
 * Demo data that looks like a real deployment and keeps working: pipelines (rows and YAML files),
 * jobs on the guide's kinds of schedules, stand-ins for the Mimir AIP plugins those pipelines name
 * (small executables in the plugins volume, so the jobs really run and succeed), months of execution
 * history with realistic statuses, durations and steps (its failures are labelled as made up), and
 * a few days of storage samples that end at the real current sizes. Deterministic for a given seed
 * value, so benchmarks compare like with like.
 */
export interface SeedOptions {
  executions: number;
  /** how far back the history reaches */
  days: number;
  /** execution log files are written for this many of the newest runs */
  logFiles: number;
  seed: number;
  onProgress?: (inserted: number) => void;
}

export const DEFAULT_SEED_OPTIONS: SeedOptions = { executions: 5_000, days: 90, logFiles: 200, seed: 42 };

interface DemoPipeline {
  name: string;
  description: string;
  steps: { name: string; plugin: string; config: Record<string, unknown>; output?: string }[];
}

const DEMO_PIPELINES: DemoPipeline[] = [
  {
    name: "news-digest",
    description: "Fetch RSS feeds, summarise new articles and post the digest",
    steps: [
      { name: "fetch-feeds", plugin: "Input.rss", config: { urls: ["https://example.com/feed.xml"], max_items: 50 }, output: "articles" },
      { name: "summarise", plugin: "AI.summarise", config: { model: "local-llm", max_tokens: 400 }, output: "summary" },
      { name: "post", plugin: "Output.webhook", config: { url: "https://chat.example.com/hooks/digest" } },
    ],
  },
  {
    name: "document-indexer",
    description: "Chunk new documents and store their embeddings in the vector database",
    steps: [
      { name: "scan", plugin: "Input.files", config: { path: "/app/data/inbox", pattern: "*.pdf" }, output: "files" },
      { name: "chunk", plugin: "Transform.chunk", config: { size: 800, overlap: 80 }, output: "chunks" },
      { name: "embed", plugin: "AI.embed", config: { model: "all-minilm" }, output: "vectors" },
      { name: "store", plugin: "Output.vectordb", config: { collection: "documents" } },
    ],
  },
  {
    name: "support-triage",
    description: "Classify new support tickets and route them",
    steps: [
      { name: "pull-tickets", plugin: "Input.http", config: { url: "https://support.example.com/api/new" }, output: "tickets" },
      { name: "classify", plugin: "AI.classify", config: { labels: ["billing", "bug", "question"] }, output: "labels" },
      { name: "route", plugin: "Output.http", config: { method: "POST" } },
    ],
  },
  {
    name: "sales-report",
    description: "Aggregate the day's orders into a CSV report",
    steps: [
      { name: "query", plugin: "Input.sql", config: { dsn: "reporting", query: "SELECT * FROM orders" }, output: "rows" },
      { name: "aggregate", plugin: "Transform.aggregate", config: { by: ["region"] }, output: "report" },
      { name: "write", plugin: "Output.csv", config: { path: "/app/data/reports/daily.csv" } },
    ],
  },
  {
    name: "sentiment-monitor",
    description: "Score brand mentions for sentiment every few minutes",
    steps: [
      { name: "search", plugin: "Input.http", config: { url: "https://social.example.com/search?q=brand" }, output: "posts" },
      { name: "score", plugin: "AI.sentiment", config: {}, output: "scores" },
    ],
  },
  {
    name: "crm-sync",
    description: "Copy new contacts from the legacy CRM (paused while the CRM is migrated)",
    steps: [
      { name: "pull-contacts", plugin: "Input.http", config: { url: "https://crm.example.com/api/contacts" }, output: "contacts" },
      { name: "store", plugin: "Output.vectordb", config: { collection: "contacts" } },
    ],
  },
  {
    name: "kb-refresh",
    description: "Re-embed the knowledge base after the weekly docs export",
    steps: [
      { name: "export", plugin: "Input.files", config: { path: "/app/data/kb" }, output: "docs" },
      { name: "embed", plugin: "AI.embed", config: { model: "all-minilm" }, output: "vectors" },
      { name: "swap-index", plugin: "Output.vectordb", config: { collection: "kb", mode: "replace" } },
    ],
  },
];

const DEMO_JOBS = [
  { id: "news-digest-morning", name: "Morning news digest", pipeline: "news-digest", cron: "0 7 * * *", enabled: true, weight: 1 },
  { id: "news-digest-evening", name: "Evening news digest", pipeline: "news-digest", cron: "0 18 * * *", enabled: true, weight: 1 },
  { id: "index-documents", name: "Index new documents", pipeline: "document-indexer", cron: "*/15 * * * *", enabled: true, weight: 6 },
  { id: "triage-tickets", name: "Triage support tickets", pipeline: "support-triage", cron: "*/5 * * * *", enabled: true, weight: 10 },
  { id: "daily-sales", name: "Daily sales report", pipeline: "sales-report", cron: "30 1 * * *", enabled: true, weight: 1 },
  { id: "sentiment", name: "Brand sentiment", pipeline: "sentiment-monitor", cron: "*/10 * * * *", enabled: true, weight: 8 },
  { id: "kb-weekly", name: "Weekly knowledge base refresh", pipeline: "kb-refresh", cron: "0 3 * * 0", enabled: true, weight: 1 },
  { id: "legacy-sync", name: "Legacy CRM sync (paused)", pipeline: "crm-sync", cron: "0 */6 * * *", enabled: false, weight: 1 },
] as const;

/** Marks every made-up failure, so nobody chases a demo error in the history as a real one. */
export const DEMO_ERROR_PREFIX = "[demo history] ";

const ERRORS = [
  "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
  "plugin AI.summarise: model returned 429 Too Many Requests",
  "plugin Input.http: GET https://support.example.com/api/new: 502 Bad Gateway",
  "plugin Output.vectordb: disk I/O error",
  "step classify: invalid JSON in plugin output",
].map((error) => DEMO_ERROR_PREFIX + error);

/** How far back the made-up storage samples reach: enough for the growth charts and the trends. */
const STORAGE_HISTORY_DAYS = 3;
/** The volumes were this much smaller at the start of that history (a gentle, believable growth). */
const STORAGE_GROWTH_OVER_HISTORY = 0.04;
/** Samples older than a day are hourly (as the sampler thins them); the last day has one per this many minutes. */
const RECENT_SAMPLE_MINUTES = 15;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The stand-in for one Mimir AIP plugin: reads the step's JSON on stdin, says on stderr that it is a
 * demo, and prints a small made-up result. Never written over an existing file (a real plugin).
 */
function demoPluginScript(name: string): string {
  const kind = name.split(".")[0];
  const result =
    kind === "Input"
      ? '{"demo": true, "items": 12}'
      : kind === "AI"
        ? '{"demo": true, "model": "demo", "tokens": 420}'
        : kind === "Transform"
          ? '{"demo": true, "rows": 96}'
          : '{"demo": true, "written": 12}';
  return [
    "#!/bin/sh",
    `# Demo stand-in for the Mimir AIP plugin ${name}, installed by \`npm run seed\` so the demo jobs run and`,
    "# succeed. It does no real work: it reads the step's JSON on stdin and prints a made-up result.",
    "# Replace it with the real plugin, or delete it together with the demo jobs.",
    "cat >/dev/null",
    `echo "demo plugin ${name}: simulated, no real work done" >&2`,
    `echo '${result}'`,
    "",
  ].join("\n");
}

/** Installs a stand-in for every plugin the demo pipelines name that the plugins volume lacks. Returns their names. */
function installDemoPlugins(config: AppConfig): string[] {
  const names = [...new Set(DEMO_PIPELINES.flatMap((pipeline) => pipeline.steps.map((step) => step.plugin)))].filter((name) => !name.startsWith("System."));
  const installed: string[] = [];
  fs.mkdirSync(config.paths.plugins, { recursive: true });
  for (const name of names) {
    const file = path.join(/*turbopackIgnore: true*/ config.paths.plugins, name);
    if (fs.existsSync(file)) continue;
    fs.writeFileSync(file, demoPluginScript(name), { mode: 0o700 });
    installed.push(name);
  }
  return installed;
}

/** Writes the demo pipelines, jobs and history into the configured data root. Returns what it wrote. */
export async function seedDemoData(config: AppConfig, options: SeedOptions) {
  const db = getDb();
  const random = mulberry32(options.seed);
  const now = Date.now();
  const createdAt = new Date(now - (options.days + 1) * 86_400_000).toISOString();

  const plugins = installDemoPlugins(config);
  for (const pipeline of DEMO_PIPELINES) {
    const yaml = stringify({ name: pipeline.name, description: pipeline.description, steps: pipeline.steps });
    await db
      .insert(pipelines)
      .values({ name: pipeline.name, description: pipeline.description, config: yaml, createdAt, updatedAt: createdAt })
      .onConflictDoUpdate({ target: pipelines.name, set: { description: pipeline.description, config: yaml } });
    writeFileAtomic(path.join(/*turbopackIgnore: true*/ config.paths.pipelines, `${pipeline.name}.yaml`), yaml);
  }
  for (const job of DEMO_JOBS) {
    await db
      .insert(scheduledJobs)
      .values({
        id: job.id,
        name: job.name,
        pipeline: job.pipeline,
        cronExpr: job.cron,
        enabled: job.enabled,
        nextRun: job.enabled ? nextRunOf(job.cron) : null,
        createdAt,
        updatedAt: createdAt,
      })
      .onConflictDoNothing();
  }

  const totalWeight = DEMO_JOBS.reduce((sum, job) => sum + job.weight, 0);
  const span = options.days * 86_400_000;
  const stepsOf = new Map(DEMO_PIPELINES.map((p) => [p.name, p.steps]));
  const newest: { id: string; job: string; status: string; start: string }[] = [];
  const lastRunOf = new Map<string, { id: string; start: string; end: string; status: string; error: string | null }>();

  function* rows(): Generator<NewJobExecutionRow> {
    for (let i = 0; i < options.executions; i++) {
      // Oldest first, evenly spread with jitter: ids and start_time grow together, like real history.
      const startMs = now - span + Math.floor(((i + random()) / options.executions) * span);
      let pick = random() * totalWeight;
      const job = DEMO_JOBS.find((j) => (pick -= j.weight) < 0) ?? DEMO_JOBS[0];
      const roll = random();
      const status = roll < 0.86 ? "success" : roll < 0.95 ? "failed" : roll < 0.97 ? "cancelled" : "skipped";
      const durationMs = status === "skipped" ? 0 : Math.round(Math.exp(7 + random() * 3.5));
      const start = new Date(startMs).toISOString();
      const end = new Date(startMs + durationMs).toISOString();
      const steps = stepsOf.get(job.pipeline) ?? [];
      const failedAt = status === "failed" ? Math.floor(random() * Math.max(steps.length, 1)) : -1;
      const error =
        status === "failed" ? ERRORS[Math.floor(random() * ERRORS.length)]! : status === "cancelled" ? `${DEMO_ERROR_PREFIX}cancelled by admin` : null;
      const id = timeOrderedId(startMs, i);
      if (i >= options.executions - options.logFiles) newest.push({ id, job: job.id, status, start });
      lastRunOf.set(job.id, { id, start, end, status, error });
      yield {
        id,
        jobId: job.id,
        pipeline: job.pipeline,
        startTime: start,
        endTime: end,
        duration: durationMs * 1_000_000,
        status,
        error,
        context: JSON.stringify({ job_id: job.id, attempt: 1, demo: true }),
        steps: JSON.stringify(
          status === "skipped"
            ? []
            : steps.map((step, index) => ({
                step_name: step.name,
                plugin: step.plugin,
                status: failedAt === -1 || index < failedAt ? "success" : index === failedAt ? "failed" : "skipped",
                duration: Math.round((durationMs / steps.length) * 1_000_000),
                ...(index === failedAt ? { error } : {}),
              })),
        ),
        triggeredBy: random() < 0.95 ? "scheduler" : random() < 0.5 ? "api" : "manual",
      };
    }
  }
  const inserted = await bulkInsertExecutions(db, rows(), options.onProgress);
  // The Jobs list reads last_run and last_result from the job row: "never run" beside a long history would be wrong.
  for (const [jobId, run] of lastRunOf) {
    const lastResult: JobLastResult = {
      success: run.status === "success",
      ...(run.error ? { error: run.error } : {}),
      executed_at: run.end,
      status: run.status,
      execution_id: run.id,
    };
    await db
      .update(scheduledJobs)
      .set({ lastRun: run.start, lastResult: JSON.stringify(lastResult) })
      .where(eq(scheduledJobs.id, jobId));
  }
  // A server running beside this process schedules the new jobs within seconds (see followJobChangesFromOtherProcesses).
  await announceJobsChangedElsewhere();

  const logsDir = path.join(/*turbopackIgnore: true*/ config.paths.logs, "executions");
  fs.mkdirSync(logsDir, { recursive: true });
  for (const run of newest) {
    fs.writeFileSync(
      path.join(/*turbopackIgnore: true*/ logsDir, `${run.id}.log`),
      `${run.start} INFO starting job ${run.job}\n${run.start} INFO run finished: ${run.status}\n`,
    );
  }
  const samples = await seedStorageHistory(now);
  return {
    pipelines: DEMO_PIPELINES.length,
    jobs: DEMO_JOBS.length,
    plugins: plugins.length,
    executions: inserted,
    logFiles: newest.length,
    storageSamples: samples,
  };
}

/**
 * Storage samples for the last few days, before any real one, ending at the sizes measured now: the
 * volumes grow gently toward today and the disk's free space shrinks by exactly that growth, so the
 * charts have a shape and the disk-full projection sees nothing alarming. Returns how many samples.
 */
async function seedStorageHistory(now: number): Promise<number> {
  const current = await measureStorage({ tables: false });
  const earliest = await earliestSampleTime();
  const until = Math.min(now, earliest ? Date.parse(earliest) : now) - RECENT_SAMPLE_MINUTES * 60_000;
  const start = now - STORAGE_HISTORY_DAYS * DAY_MS;
  let count = 0;
  for (let at = start; at <= until; at += at < now - DAY_MS ? HOUR_MS : RECENT_SAMPLE_MINUTES * 60_000) {
    await storeSample(usageAt(current, 1 - STORAGE_GROWTH_OVER_HISTORY * ((now - at) / (now - start)), new Date(at).toISOString()));
    count += 1;
  }
  return count;
}

/** The measurement `current` scaled to `ratio` of its sizes, with the free space that growth would have left. */
function usageAt(current: StorageUsage, ratio: number, measuredAt: string): StorageUsage {
  const smaller = (bytes: number) => Math.round(bytes * ratio);
  const grownSince = current.volumes.reduce((sum, volume) => sum + (volume.bytes - smaller(volume.bytes)), 0);
  return {
    ...current,
    measured_at: measuredAt,
    volumes: current.volumes.map((volume) => ({
      ...volume,
      bytes: smaller(volume.bytes),
      files: Math.round(volume.files * ratio),
      filesystem: volume.filesystem ? { ...volume.filesystem, free_bytes: volume.filesystem.free_bytes + grownSince } : null,
    })),
    database: {
      ...current.database,
      file_bytes: smaller(current.database.file_bytes),
      wal_bytes: smaller(current.database.wal_bytes),
      vector_db: { ...current.database.vector_db, bytes: current.database.vector_db.bytes === null ? null : smaller(current.database.vector_db.bytes) },
    },
  };
}

/** A UUIDv7-shaped id: time-ordered, so a million inserts append to the primary key's b-tree. */
function timeOrderedId(ms: number, counter: number): string {
  const hex = ms.toString(16).padStart(12, "0") + (counter % 0x1000).toString(16).padStart(3, "0") + (counter >>> 12).toString(16).padStart(17, "0").slice(-17);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(12, 15)}-8${hex.slice(15, 18)}-${hex.slice(18, 30)}`;
}

function writeFileAtomic(file: string, text: string) {
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

/** Small seeded PRNG (public domain): reproducible data without a dependency. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
