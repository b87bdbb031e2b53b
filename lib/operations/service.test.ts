import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { cancelOperation, failInterruptedOperations, getOperation, listOperations, startOperation, waitForOperation } from "@/lib/operations/service";
import { insertOperation } from "@/lib/operations/queries";
import { runAppWrite, withAppWritesPaused } from "@/lib/operations/write-gate";
import { nowIso } from "@/lib/db/timestamps";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
});
afterAll(() => root.cleanup());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("operations", () => {
  it("returns at once, persists progress while running, then the result", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started = await startOperation({ kind: "vacuum", principal: null }, async (ctx) => {
      ctx.progress(0, 100, "rows");
      await sleep(300);
      ctx.progress(40, 100, "rows");
      ctx.message("halfway");
      await gate;
      return { rows: 100 };
    });
    expect(started.status).toBe("running");
    await sleep(700);
    const midway = await getOperation(started.id);
    expect(midway.progress).toEqual({ done: 40, total: 100, unit: "rows" });
    release();
    const done = await waitForOperation(started.id);
    expect(done).toMatchObject({ status: "succeeded", result: { rows: 100 }, finished_at: expect.any(String) });
  });

  it("stores a failure with its code and message", async () => {
    const op = await startOperation({ kind: "analyze", principal: null }, async () => {
      throw new AppError("insufficient_disk", "VACUUM needs 2 GB free, 1 GB is");
    });
    expect(await waitForOperation(op.id)).toMatchObject({ status: "failed", error: { code: "insufficient_disk", message: "VACUUM needs 2 GB free, 1 GB is" } });
  });

  it("refuses an exclusive operation beside a running one, and anything beside an exclusive one", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = await startOperation({ kind: "backup", principal: null, singleton: true }, () => gate);
    await expect(startOperation({ kind: "restore", principal: null, exclusive: true }, async () => null)).rejects.toMatchObject({ code: "operation_running" });
    await expect(startOperation({ kind: "backup", principal: null, singleton: true }, async () => null)).rejects.toMatchObject({ code: "operation_running" });
    release();
    await waitForOperation(running.id);

    let releaseExclusive!: () => void;
    const exclusiveGate = new Promise<void>((resolve) => (releaseExclusive = resolve));
    const exclusive = await startOperation({ kind: "restore", principal: null, exclusive: true }, () => exclusiveGate);
    await expect(startOperation({ kind: "verify", principal: null }, async () => null)).rejects.toMatchObject({ code: "operation_running" });
    releaseExclusive();
    await waitForOperation(exclusive.id);
  });

  it("cancels a running operation", async () => {
    const op = await startOperation({ kind: "checkpoint", principal: null }, async (ctx) => {
      while (!ctx.signal.aborted) await sleep(10);
      throw ctx.signal.reason;
    });
    await cancelOperation(op.id, null);
    expect(await waitForOperation(op.id)).toMatchObject({ status: "cancelled" });
    await expect(cancelOperation(op.id, null)).rejects.toMatchObject({ code: "conflict" });
  });

  it("lets only a caller with the operation's own scope cancel it: a write token cannot stop an admin's work", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const admin = await startOperation({ kind: "analyze", principal: null, scope: "admin" }, () => gate);
    const writer = { kind: "token" as const, id: "t-write", name: "ci-write", scope: "write" as const };
    await expect(cancelOperation(admin.id, writer)).rejects.toMatchObject({ code: "forbidden" });
    expect((await getOperation(admin.id)).status).toBe("running");
    release();
    expect(await waitForOperation(admin.id)).toMatchObject({ status: "succeeded" });

    const writeWork = await startOperation({ kind: "checkpoint", principal: null, scope: "write" }, async (ctx) => {
      while (!ctx.signal.aborted) await sleep(10);
      throw ctx.signal.reason;
    });
    await cancelOperation(writeWork.id, writer);
    expect(await waitForOperation(writeWork.id)).toMatchObject({ status: "cancelled" });
  });

  it("records work that finished as succeeded even when a cancel arrived while it ran", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const op = await startOperation({ kind: "vacuum", principal: null }, async () => {
      await gate;
      return { done: true };
    });
    await cancelOperation(op.id, null);
    release();
    expect(await waitForOperation(op.id)).toMatchObject({ status: "succeeded", result: { done: true } });
  });

  it("refuses a cancel past the work's point of no return with 409 too_late, and the work ends as it really ended", async () => {
    let passed!: () => void;
    const pastPoint = new Promise<void>((resolve) => (passed = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const op = await startOperation({ kind: "retention_cleanup", principal: null }, async (ctx) => {
      ctx.pointOfNoReturn("the change is being applied");
      passed();
      await gate;
      return { applied: true };
    });
    await pastPoint;
    await expect(cancelOperation(op.id, null)).rejects.toMatchObject({
      code: "too_late",
      status: 409,
      message: expect.stringContaining("the change is being applied"),
    });
    release();
    expect(await waitForOperation(op.id)).toMatchObject({ status: "succeeded", result: { applied: true } });
  });

  it("marks operations left running by a dead process as failed", async () => {
    await insertOperation({ id: "00000000-0000-4000-8000-000000000001", kind: "recover", status: "running", createdAt: nowIso(), startedAt: nowIso() });
    expect(await failInterruptedOperations()).toBe(1);
    expect(await getOperation("00000000-0000-4000-8000-000000000001")).toMatchObject({ status: "failed", error: { code: "interrupted" } });
  });

  it("pages through operations newest first", async () => {
    const first = await listOperations({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const second = await listOperations({ limit: 2, cursor: first.next_cursor! });
    expect(second.items[0]!.id).not.toBe(first.items[1]!.id);
    await expect(listOperations({ limit: 2, cursor: "garbage" })).rejects.toMatchObject({ code: "invalid_cursor" });
  });
});

describe("write gate", () => {
  it("holds app writes back while paused and waits for writes in flight", async () => {
    const order: string[] = [];
    const inFlight = runAppWrite(async () => {
      await sleep(50);
      order.push("write-1 done");
    });
    const paused = withAppWritesPaused(async () => {
      order.push("snapshot start");
      await sleep(50);
      order.push("snapshot end");
    });
    await sleep(5);
    const later = runAppWrite(async () => order.push("write-2"));
    await Promise.all([inFlight, paused, later]);
    expect(order).toEqual(["write-1 done", "snapshot start", "snapshot end", "write-2"]);
  });
});
