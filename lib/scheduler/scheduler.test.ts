import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createPipeline, deletePipeline, getPipeline } from "@/lib/pipelines/service";
import { syncPipelinesWithVolume } from "@/lib/pipelines/volume-sync";
import { createJob, deleteJob, getJob, recordJobNextRun, setJobEnabled } from "@/lib/jobs/service";
import { getExecution, getExecutionLog, listExecutions, recordExecutionStart } from "@/lib/executions/service";
import { stopExecution } from "@/lib/scheduler/run-control";
import { executePipelineNow, startJobRun } from "@/lib/scheduler/run";
import { MISSED_FIRE_GRACE_MS, startScheduler, stopScheduler } from "@/lib/scheduler/engine";
import { INTERRUPTED_RUN_REASON, failWorkOf } from "@/lib/scheduler/cluster";
import type { ExecutionDto } from "@/lib/executions/types";

let root: TestDataRoot;

function plugin(name: string, script: string) {
  const file = path.join(root.config.paths.plugins, name);
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o700 });
}

async function pipelineWith(name: string, steps: string) {
  await createPipeline(`name: ${name}\nsteps:\n${steps}`, null);
}

async function runToEnd(jobId: string): Promise<ExecutionDto> {
  const run = await startJobRun(jobId, "manual");
  await run.finished;
  return getExecution(run.execution_id);
}

async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(() => {
  // Per-second jobs below: the fire-rate floor (60 s by default) is lowered for this file.
  root = createTestDataRoot({ MIMIR_SCHEDULER_MIN_INTERVAL_SECONDS: "1" });
  plugin("Echo.ok", 'input=$(cat); echo "working" >&2; printf \'{"seen": %s}\' "$input"');
  plugin("Echo.garbage", "cat >/dev/null; echo 'this is not json'");
  plugin("Echo.fail", "cat >/dev/null; echo 'disk on fire' >&2; exit 1");
  plugin("Echo.hang", "cat >/dev/null; sleep 30 & sleep 30; echo '{}'");
});
afterAll(() => {
  stopScheduler();
  root.cleanup();
});

describe("runs", () => {
  test("a run executes the steps in order, passes outputs on, records steps and writes the log", async () => {
    await pipelineWith("two-steps", "  - {name: first, plugin: Echo.ok, config: {a: 1}, output: one}\n  - {name: second, plugin: Echo.ok}\n");
    await createJob({ id: "two", name: "two", pipeline: "two-steps", cron_expr: "0 2 * * *", enabled: true }, null);
    const run = await runToEnd("two");
    expect(run.status).toBe("success");
    expect(run.steps.map((step) => [step.step_name, step.status])).toEqual([
      ["first", "success"],
      ["second", "success"],
    ]);
    // The second step saw the first one's output in its context.
    expect(JSON.parse(run.steps[1]!.output!).seen.context.one.seen.config).toEqual({ a: 1 });
    expect(run.duration).toBeGreaterThan(0);
    const log = await getExecutionLog(run.id, 0);
    expect(log.content).toContain("working");
    expect(log.complete).toBe(true);
    const job = await getJob("two");
    expect(job.last_result).toMatchObject({ success: true, execution_id: run.id });
    expect(job.last_run).toBe(run.start_time);
  });

  test.each([
    ["Echo.garbage", /not JSON: "this is not json"/],
    ["Echo.fail", /exited with code 1: disk on fire/],
    ["Missing.plugin", /plugin 'Missing.plugin' not found/],
    ["System.nope", /not a built-in/],
  ])("%s fails its step cleanly", async (pluginName, message) => {
    const name = `p-${pluginName.replace(".", "-").toLowerCase()}`;
    await pipelineWith(name, `  - {name: only, plugin: ${pluginName}}\n  - {name: never, plugin: Echo.ok}\n`);
    await createJob({ id: name, name, pipeline: name, cron_expr: "0 2 * * *", enabled: true }, null);
    const run = await runToEnd(name);
    expect(run.status).toBe("failed");
    expect(run.steps).toHaveLength(1);
    expect(run.steps[0]!.error).toMatch(message);
    expect(run.error).toMatch(message);
  });

  test("a built-in step whose config its schema refuses fails with each problem in plain words, not zod's", async () => {
    await pipelineWith("bad-builtin-config", "  - {name: check, plugin: System.integrity_check, config: {quick: 'yes', deep: true}}\n");
    await createJob({ id: "bad-builtin-config", name: "bad-builtin-config", pipeline: "bad-builtin-config", cron_expr: "0 2 * * *", enabled: true }, null);
    const run = await runToEnd("bad-builtin-config");
    expect(run.status).toBe("failed");
    const error = run.steps[0]!.error!;
    expect(error).toContain("config of System.integrity_check is not valid");
    expect(error).toContain("quick: Must be true or false");
    expect(error).toContain("'deep' is not a key this accepts");
    expect(error).not.toMatch(/Invalid input|expected boolean|Unrecognized key/);
  });

  test("a step that hangs is killed at its timeout, with its children", async () => {
    await pipelineWith("hangs", "  - {name: wait, plugin: Echo.hang, timeout: 1}\n");
    await createJob({ id: "hangs", name: "hangs", pipeline: "hangs", cron_expr: "0 2 * * *", enabled: true }, null);
    // Echo.hang would sleep 30 s and succeed: a failed run that says it timed out after 1 s is the kill.
    const run = await runToEnd("hangs");
    expect(run.status).toBe("failed");
    expect(run.steps[0]!.error).toMatch(/timed out after 1 s/);
  });

  test("a run can be stopped; a second start while it runs is recorded as skipped", async () => {
    await pipelineWith("long", "  - {name: wait, plugin: Echo.hang}\n");
    await createJob({ id: "long", name: "long", pipeline: "long", cron_expr: "0 2 * * *", enabled: true }, null);
    const run = await startJobRun("long", "api");
    const overlap = await startJobRun("long", "scheduler");
    expect(overlap.status).toBe("skipped");
    expect((await getExecution(overlap.execution_id)).error).toMatch(/still in progress/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stopExecution(run.execution_id, null);
    await run.finished;
    const stopped = await getExecution(run.execution_id);
    expect(stopped.status).toBe("cancelled");
    expect(stopped.error).toMatch(/Stopped by system/);
    // The run's log says the same as its record (B13): cancelled, not failed.
    const log = (await getExecutionLog(run.execution_id, 0)).content;
    expect(log).toMatch(/step wait: cancelled: Stopped by system/);
    expect(log).not.toMatch(/step wait: failed/);
  });

  test("a job whose pipeline does not exist is accepted, flagged, and its runs fail with the reason", async () => {
    const job = await createJob({ id: "ghost", name: "ghost", pipeline: "sync.yaml", cron_expr: "0 2 * * *", enabled: true }, null);
    expect(job.pipeline_exists).toBe(false);
    const run = await runToEnd("ghost");
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/Pipeline 'sync.yaml' does not exist/);
  });

  test("runs left running by a dead process are marked failed with the reason", async () => {
    await recordExecutionStart(
      {
        id: "orphan",
        jobId: "two",
        pipeline: "two-steps",
        startTime: new Date().toISOString(),
        status: "running",
        triggeredBy: "scheduler",
      },
      null,
    );
    expect(await failWorkOf([], { unowned: true })).toMatchObject({ runs: 1 });
    expect(await getExecution("orphan")).toMatchObject({ status: "failed", error: INTERRUPTED_RUN_REASON });
  });
});

describe("scheduler", () => {
  test("fires an enabled per-second job on time, keeps other jobs running, and stops at disable and delete", async () => {
    await pipelineWith("tick", "  - {name: one, plugin: Echo.ok}\n");
    await pipelineWith("tock", "  - {name: one, plugin: Echo.garbage}\n");
    await startScheduler();
    await createJob({ id: "tick", name: "tick", pipeline: "tick", cron_expr: "* * * * * *", enabled: true }, null);
    await createJob({ id: "tock", name: "tock", pipeline: "tock", cron_expr: "* * * * * *", enabled: true }, null);
    const ticks = await waitFor(
      () => listExecutions({ limit: 10, job_id: "tick" }),
      (page) => page.items.filter((run) => run.status === "success").length >= 2,
    );
    expect(ticks.items.filter((run) => run.status === "success").length).toBeGreaterThanOrEqual(2);
    expect(ticks.items.every((run) => run.triggered_by === "scheduler")).toBe(true);
    const tocks = await listExecutions({ limit: 10, job_id: "tock" });
    expect(tocks.items.some((run) => run.status === "failed")).toBe(true);

    await setJobEnabled("tick", false, null);
    expect((await getJob("tick")).next_run).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = (await listExecutions({ limit: 100, job_id: "tick" })).items.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await listExecutions({ limit: 100, job_id: "tick" })).items.length).toBe(before);
    await deleteJob("tock", null);
    stopScheduler();
  });
});

describe("pipeline files", () => {
  test("an app save writes <name>.yaml; a file added or edited by hand appears after a sync", async () => {
    await pipelineWith("filed", "  - {name: one, plugin: Echo.ok}\n");
    const dir = root.config.paths.pipelines;
    expect(fs.readFileSync(path.join(dir, "filed.yaml"), "utf8")).toContain("name: filed");
    fs.writeFileSync(path.join(dir, "by-hand.yaml"), "name: by-hand\ndescription: written by a person\nsteps:\n  - {name: s, plugin: Echo.ok}\n");
    fs.writeFileSync(path.join(dir, "filed.yaml"), "name: filed\ndescription: edited\nsteps:\n  - {name: one, plugin: Echo.ok}\n");
    fs.writeFileSync(path.join(dir, "broken.yaml"), "name: [\n");
    const report = await syncPipelinesWithVolume();
    expect(report.imported).toContain("by-hand");
    expect(report.updated).toContain("filed");
    expect(report.invalid.map((entry) => entry.file)).toContain("broken.yaml");
    expect((await getPipeline("by-hand")).description).toBe("written by a person");
    expect((await getPipeline("filed")).description).toBe("edited");
  });

  test("a sync of hundreds of files lets other work run between them; once files and rows agree it changes nothing; a row without its file gets it back", async () => {
    const dir = root.config.paths.pipelines;
    const names = Array.from({ length: 400 }, (_, i) => `many-${i}`);
    for (const name of names) fs.writeFileSync(path.join(dir, `${name}.yaml`), `name: ${name}\nsteps:\n  - {name: s, plugin: Echo.ok}\n`);
    // A chain of setImmediate callbacks advances only when the sync yields to the event loop.
    let ticks = 0;
    let syncing = true;
    const tick = () => {
      if (!syncing) return;
      ticks += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    const first = await syncPipelinesWithVolume();
    syncing = false;
    expect(first.imported).toEqual(expect.arrayContaining(names));
    expect(ticks).toBeGreaterThan(1);

    const again = await syncPipelinesWithVolume();
    expect(again).toMatchObject({ imported: [], updated: [], written: [] });

    const text = fs.readFileSync(path.join(dir, "many-7.yaml"), "utf8");
    fs.rmSync(path.join(dir, "many-7.yaml"));
    expect((await syncPipelinesWithVolume()).written).toEqual(["many-7"]);
    expect(fs.readFileSync(path.join(dir, "many-7.yaml"), "utf8")).toBe(text);
    for (const name of names) await deletePipeline(name, { force: true }, null);
  });
});

describe("ad-hoc runs", () => {
  test("a pipeline runs once outside any job with an initial context; an unknown one is a 404", async () => {
    await pipelineWith("adhoc", "  - {name: one, plugin: Echo.ok, output: first}\n");
    const result = await executePipelineNow("adhoc.yaml", { region: "eu" });
    expect(result).toMatchObject({ success: true, status: "success", context: { region: "eu", pipeline: "adhoc" } });
    expect(JSON.parse(result.steps[0]!.output!).seen.context.region).toBe("eu");
    await expect(executePipelineNow("nope", {})).rejects.toMatchObject({ status: 404 });
  });
});

describe("missed fires", () => {
  test("a fire missed within the grace window is caught up once at start; an older one is dropped", async () => {
    await pipelineWith("catch-up", "  - {name: one, plugin: Echo.ok}\n");
    await createJob({ id: "recent-miss", name: "recent", pipeline: "catch-up", cron_expr: "0 3 * * *", enabled: true }, null);
    await createJob({ id: "old-miss", name: "old", pipeline: "catch-up", cron_expr: "0 3 * * *", enabled: true }, null);
    const now = new Date();
    await recordJobNextRun("recent-miss", new Date(now.getTime() - 10 * 60_000).toISOString());
    await recordJobNextRun("old-miss", new Date(now.getTime() - MISSED_FIRE_GRACE_MS - 60_000).toISOString());
    // Only these two jobs are enabled at this point of the file, besides "two" and "long" whose next runs are in the future.
    const { caughtUp } = await startScheduler(now);
    stopScheduler();
    expect(caughtUp).toBe(1);
    const recent = await waitFor(
      () => listExecutions({ limit: 5, job_id: "recent-miss" }),
      (page) => page.items.some((run) => run.status !== "running"),
    );
    expect(recent.items).toHaveLength(1);
    expect(recent.items[0]).toMatchObject({ triggered_by: "scheduler", status: "success" });
    expect((await listExecutions({ limit: 5, job_id: "old-miss" })).items).toHaveLength(0);
    // Both continue from their next fire time.
    expect(Date.parse((await getJob("old-miss")).next_run!)).toBeGreaterThan(now.getTime());
  });

  test("at boot the catch-up starts later; a server stopped before then keeps the missed slot for its next start", async () => {
    await createJob({ id: "later-miss", name: "later", pipeline: "catch-up", cron_expr: "0 3 * * *", enabled: true }, null);
    const now = new Date();
    const missed = new Date(now.getTime() - 5 * 60_000).toISOString();
    await recordJobNextRun("later-miss", missed);
    // Stopped (a shutdown) before the catch-up started: nothing ran, and next_run still names the missed slot.
    expect((await startScheduler(now, { catchUpAfterMs: 60_000 })).caughtUp).toBe(1);
    stopScheduler();
    expect((await listExecutions({ limit: 5, job_id: "later-miss" })).items).toHaveLength(0);
    expect((await getJob("later-miss")).next_run).toBe(missed);
    // The next start catches it up, once the delay has passed, and moves next_run on.
    expect((await startScheduler(new Date(), { catchUpAfterMs: 50 })).caughtUp).toBe(1);
    const runs = await waitFor(
      () => listExecutions({ limit: 5, job_id: "later-miss" }),
      (page) => page.items.some((run) => run.status !== "running"),
    );
    stopScheduler();
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]).toMatchObject({ triggered_by: "scheduler", status: "success" });
    expect(Date.parse((await getJob("later-miss")).next_run!)).toBeGreaterThan(now.getTime());
  });

  test("a reload in a server that never stopped (after a restore, or jobs seeded by another process) catches nothing up (B13)", async () => {
    await createJob({ id: "reloaded", name: "reloaded", pipeline: "catch-up", cron_expr: "0 3 * * *", enabled: true }, null);
    const now = new Date();
    // A restored database's next_run is in the past, though this server was up all along.
    await recordJobNextRun("reloaded", new Date(now.getTime() - 10 * 60_000).toISOString());
    const { caughtUp } = await startScheduler(now, { catchUp: false });
    stopScheduler();
    expect(caughtUp).toBe(0);
    expect((await listExecutions({ limit: 5, job_id: "reloaded" })).items).toHaveLength(0);
    expect(Date.parse((await getJob("reloaded")).next_run!)).toBeGreaterThan(now.getTime());
  });
});
