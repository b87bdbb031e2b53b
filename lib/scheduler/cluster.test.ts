import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { and, eq } from "drizzle-orm";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { databaseTime, JOB_STARTS_LOCK } from "@/lib/db/dialect";
import pg from "pg";
import { testBackend } from "@/test/helpers/postgres";
import { instances, jobFires } from "@/lib/db/schema/instances";
import { jobExecutions } from "@/lib/db/schema/executions";
import { operations } from "@/lib/db/schema/operations";
import { createPipeline } from "@/lib/pipelines/service";
import { createJob, getJob } from "@/lib/jobs/service";
import { getExecution, recordExecutionStart } from "@/lib/executions/service";
import { executePipelineNow, fireJobSlot, startJobRun } from "@/lib/scheduler/run";
import { insertClaimedExecution } from "@/lib/executions/queries";
import { heartbeat, joinDeployment, leaveDeployment } from "@/lib/scheduler/cluster";
import { currentInstanceId, listInstances, takeTurnOnce } from "@/lib/instances/service";
import { getOperation, startOperation, waitForOperation } from "@/lib/operations/service";
import { createChannel } from "@/lib/notify/service";
import { createChannelInput } from "@/lib/notify/inputs";
import { deliveryIdle, startNotifier, stopNotifier } from "@/lib/notify/delivery";
import { startHttpReceiver, waitUntil } from "@/test/helpers/receivers";

// Several instances are simulated in one process: "other" instances are rows written the way another
// process writes them (an instance row, runs and operations it owns); this process is the survivor.

let root: TestDataRoot;

beforeAll(async () => {
  root = createTestDataRoot({ MIMIR_SCHEDULER_MIN_INTERVAL_SECONDS: "1", MIMIR_INSTANCE_LEASE_SECONDS: "2", MIMIR_ALLOWED_DESTINATIONS: "127.0.0.1" });
  fs.writeFileSync(path.join(root.config.paths.plugins, "Slow.ok"), "#!/bin/sh\ncat >/dev/null; sleep 1; echo '{}'\n", { mode: 0o700 });
  await createPipeline("name: slow\nsteps:\n  - {name: one, plugin: Slow.ok}\n", null);
  await createJob({ id: "slow", name: "slow", pipeline: "slow", cron_expr: "0 2 * * *", enabled: true }, null);
  await joinDeployment(null);
});
afterAll(async () => {
  await leaveDeployment();
  root.cleanup();
});

/** Writes an instance row as another process would; `expired` puts its lease in the past. */
async function otherInstance(id: string, { expired }: { expired: boolean }) {
  await getDb()
    .insert(instances)
    .values({
      id,
      host: "elsewhere",
      pid: 4242,
      version: "0.1.0",
      dataRootId: null,
      startedAt: new Date().toISOString(),
      lastSeen: databaseTime(expired ? -60_000 : 0),
      leaseUntil: databaseTime(expired ? -30_000 : 60_000),
    });
}

describe("several instances", () => {
  test("a scheduled slot fired by many instances at once runs once", async () => {
    const slot = new Date("2030-01-01T02:00:00.000Z");
    const results = await Promise.all(Array.from({ length: 8 }, () => fireJobSlot("slow", slot)));
    const started = results.filter((result) => result !== null);
    expect(started).toHaveLength(1);
    await started[0]!.finished;
    const claims = await getDb().select().from(jobFires).where(eq(jobFires.jobId, "slow"));
    expect(claims).toHaveLength(1);
    expect(claims[0]).toMatchObject({ claimedBy: currentInstanceId(), executionId: started[0]!.execution_id, scheduledFor: slot.toISOString() });
  });

  test("a fire's claim and its run are one: a run that cannot be inserted leaves no claim, a skipped fire keeps its claim with its row", async () => {
    const slot = "2030-01-02T02:00:00.000Z";
    const row = {
      id: "claimed-twice",
      jobId: "slow",
      pipeline: "slow",
      startTime: new Date().toISOString(),
      status: "success" as const,
      ownerInstance: currentInstanceId(),
    };
    await recordExecutionStart({ ...row, triggeredBy: "manual" }, null);
    // The same execution id again: the insert fails, and the claim made in its transaction goes with it.
    await expect(insertClaimedExecution({ ...row, triggeredBy: "scheduler" }, slot)).rejects.toThrow();
    expect(await getDb().select().from(jobFires).where(eq(jobFires.scheduledFor, slot))).toHaveLength(0);

    await otherInstance("runs-slow", { expired: false });
    await recordExecutionStart(
      {
        id: "running-elsewhere",
        jobId: "slow",
        pipeline: "slow",
        startTime: new Date().toISOString(),
        status: "running",
        triggeredBy: "scheduler",
        ownerInstance: "runs-slow",
      },
      null,
    );
    const skipped = await fireJobSlot("slow", new Date(slot));
    expect(skipped?.status).toBe("skipped");
    const [claim] = await getDb().select().from(jobFires).where(eq(jobFires.scheduledFor, slot));
    expect(claim?.executionId).toBe(skipped!.execution_id);
    expect((await getExecution(skipped!.execution_id)).status).toBe("skipped");
    expect(await fireJobSlot("slow", new Date(slot))).toBeNull();
    await getDb().update(jobExecutions).set({ status: "success", endTime: new Date().toISOString() }).where(eq(jobExecutions.id, "running-elsewhere"));
  });

  test("a job has at most one running run across instances: a start beside another instance's run is skipped", async () => {
    await otherInstance("live-other", { expired: false });
    await recordExecutionStart(
      {
        id: "theirs",
        jobId: "slow",
        pipeline: "slow",
        startTime: new Date().toISOString(),
        status: "running",
        triggeredBy: "scheduler",
        ownerInstance: "live-other",
      },
      null,
    );
    const mine = await startJobRun("slow", "manual");
    expect(mine.status).toBe("skipped");
    await getDb().update(jobExecutions).set({ status: "success", endTime: new Date().toISOString() }).where(eq(jobExecutions.id, "theirs"));
  });

  test("a dead instance's runs and operations are failed by a survivor, naming it; a live one's are left alone", async () => {
    const receiver = await startHttpReceiver();
    await createChannel(createChannelInput.parse({ kind: "webhook", name: "instances", events: ["instance.lost"], secrets: { url: `${receiver.url}/in` } }));
    await startNotifier();
    await otherInstance("dead-other", { expired: true });
    await recordExecutionStart(
      {
        id: "orphaned",
        jobId: "slow",
        pipeline: "slow",
        startTime: new Date().toISOString(),
        status: "running",
        triggeredBy: "scheduler",
        ownerInstance: "dead-other",
      },
      null,
    );
    const now = new Date().toISOString();
    await getDb().insert(operations).values({ id: "dead-op", kind: "backup", status: "running", createdAt: now, startedAt: now, ownerInstance: "dead-other" });
    await getDb().insert(operations).values({ id: "live-op", kind: "vacuum", status: "running", createdAt: now, startedAt: now, ownerInstance: "live-other" });
    await heartbeat();
    const run = await getExecution("orphaned");
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/instance elsewhere\/4242 \(dead-oth\) stopped answering/);
    expect((await getJob("slow")).last_result).toMatchObject({ success: false, execution_id: "orphaned" });
    expect((await getOperation("dead-op")).status).toBe("failed");
    expect((await getOperation("live-op")).status).toBe("running");
    const listed = await listInstances();
    expect(listed.find((instance) => instance.id === "dead-other")).toMatchObject({ stop_reason: expect.stringMatching(/stopped answering/) });
    expect(listed.find((instance) => instance.self)).toMatchObject({ stopped_at: null });
    await getDb().update(operations).set({ status: "succeeded" }).where(eq(operations.id, "live-op"));

    // instance.lost, once, naming the instance and what it was running.
    expect(await waitUntil(() => receiver.received.length > 0)).toBe(true);
    await heartbeat();
    await deliveryIdle();
    await stopNotifier();
    await receiver.close();
    expect(receiver.received).toHaveLength(1);
    const sent = JSON.parse(receiver.received[0]!.body);
    expect(sent).toMatchObject({
      event: "instance.lost",
      severity: "warning",
      title: "Instance elsewhere/4242 (dead-oth) stopped answering",
      data: {
        instance_id: "dead-other",
        host: "elsewhere",
        reason: expect.stringMatching(/stopped answering/),
        runs: [{ execution_id: "orphaned", job_id: "slow" }],
        operations: [{ operation_id: "dead-op", kind: "backup" }],
      },
    });
    expect(sent.text).toMatch(/It was running: run of job 'slow', backup operation; marked failed/);
  });

  test("a run's late completion is refused once another instance failed it (fenced write)", async () => {
    const run = await startJobRun("slow", "manual");
    expect(run.status).toBe("running");
    // What a survivor writes when it found this instance dead while the run went on.
    await getDb()
      .update(jobExecutions)
      .set({ status: "failed", error: "Interrupted: instance X stopped answering" })
      .where(eq(jobExecutions.id, run.execution_id));
    await run.finished;
    expect(await getExecution(run.execution_id)).toMatchObject({ status: "failed", error: "Interrupted: instance X stopped answering" });
    expect((await getJob("slow")).last_result).not.toMatchObject({ execution_id: run.execution_id, success: true });
  });

  test("an operation's late outcome is refused once another instance failed it", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const op = await startOperation({ kind: "analyze", principal: null, singleton: true }, async () => {
      await held;
      return { ok: true };
    });
    expect(op.instance).toBe(currentInstanceId());
    await getDb()
      .update(operations)
      .set({ status: "failed", error: JSON.stringify({ code: "interrupted", message: "Interrupted" }) })
      .where(eq(operations.id, op.id));
    release();
    expect(await waitForOperation(op.id)).toMatchObject({ status: "failed", error: { code: "interrupted" } });
  });

  test("a second singleton operation is refused with 409 naming the running one and its instance", async () => {
    const now = new Date().toISOString();
    await getDb()
      .insert(operations)
      .values({ id: "their-backup", kind: "backup", status: "running", createdAt: now, startedAt: now, ownerInstance: "live-other" });
    await expect(startOperation({ kind: "backup", principal: null, singleton: true }, async () => null)).rejects.toMatchObject({
      code: "operation_running",
      message: expect.stringMatching(/on instance live-oth/),
    });
    await getDb().update(operations).set({ status: "succeeded" }).where(eq(operations.id, "their-backup"));
  });

  test("a restore running on another instance pauses this one's fires and Run now (409 naming it); it lifts when that instance dies", async () => {
    await otherInstance("restoring", { expired: false });
    const now = new Date().toISOString();
    await getDb()
      .insert(operations)
      .values({ id: "their-restore", kind: "restore", status: "running", exclusive: true, createdAt: now, startedAt: now, ownerInstance: "restoring" });
    const slot = "2030-01-03T02:00:00.000Z";
    expect(await fireJobSlot("slow", new Date(slot))).toBeNull();
    // Let go, not claimed: nothing of the slot is recorded.
    expect(await getDb().select().from(jobFires).where(eq(jobFires.scheduledFor, slot))).toHaveLength(0);
    await expect(startJobRun("slow", "manual")).rejects.toMatchObject({
      code: "operation_running",
      message: expect.stringMatching(/A restore is running on instance restorin: jobs do not run/),
      details: { operation_id: "their-restore", instance: "restoring" },
    });
    await expect(executePipelineNow("slow", {})).rejects.toMatchObject({ code: "operation_running" });

    // The restoring instance stops answering: a survivor fails its restore, and the pause is gone with it.
    await getDb()
      .update(instances)
      .set({ leaseUntil: databaseTime(-1000) })
      .where(eq(instances.id, "restoring"));
    await heartbeat();
    expect((await getOperation("their-restore")).status).toBe("failed");
    const run = await startJobRun("slow", "manual");
    expect(run.status).toBe("running");
    await run.finished;
  });

  // On SQLite a start's transaction runs whole within one turn of the event loop: nothing can come between its check and its insert.
  test.skipIf(testBackend() !== "postgres")(
    "a restore admitted on another instance while a run starts: the run waits for the admission and is refused, never started after it",
    async () => {
      await otherInstance("admitting", { expired: false });
      const admission = new pg.Client({ connectionString: root.config.values.persistence.connection_string });
      await admission.connect();
      try {
        // Another instance admitting a restore: it holds the locks admit() takes and has not yet committed its row.
        await admission.query("BEGIN");
        await admission.query("SELECT pg_advisory_xact_lock(hashtext('mimir:operations-admit')), pg_advisory_xact_lock(hashtext($1))", [
          `mimir:${JOB_STARTS_LOCK}`,
        ]);
        const now = new Date().toISOString();
        await admission.query(
          "INSERT INTO operations (id, kind, status, exclusive, created_by, created_at, started_at, owner_instance) VALUES ('racing-restore', 'restore', 'running', true, 'system', $1, $1, 'admitting')",
          [now],
        );
        const asked = startJobRun("slow", "manual");
        const fired = fireJobSlot("slow", new Date("2030-01-04T02:00:00.000Z"));
        // Both starts wait for the admission (a read of the pause before the start, as before, saw no row
        // and started the run at once): nothing settles while the lock is held.
        let settled = false;
        void Promise.allSettled([asked, fired]).then(() => (settled = true));
        expect(await waitUntil(() => settled, 1000)).toBe(false);
        await admission.query("COMMIT");
        await expect(asked).rejects.toMatchObject({ code: "operation_running", details: { operation_id: "racing-restore" } });
        expect(await fired).toBeNull();
        expect(
          await getDb()
            .select()
            .from(jobExecutions)
            .where(and(eq(jobExecutions.jobId, "slow"), eq(jobExecutions.status, "running"))),
        ).toHaveLength(0);
        expect(await getDb().select().from(jobFires).where(eq(jobFires.scheduledFor, "2030-01-04T02:00:00.000Z"))).toHaveLength(0);
      } finally {
        await admission.query("ROLLBACK").catch(() => {});
        await admission.end();
        await getDb().update(operations).set({ status: "failed" }).where(eq(operations.id, "racing-restore"));
      }
    },
  );

  test("work due once per interval (storage sampling) is taken by one of several instances asking together", async () => {
    const now = Date.parse("2030-01-01T00:00:00.000Z");
    const turns = await Promise.all(Array.from({ length: 6 }, () => takeTurnOnce("test-turn", 60_000, now)));
    expect(turns.filter(Boolean)).toHaveLength(1);
    expect(await takeTurnOnce("test-turn", 60_000, now + 30_000)).toBe(false);
    expect(await takeTurnOnce("test-turn", 60_000, now + 60_000)).toBe(true);
  });
});
