import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { getHealth, getHealthFor, getPublicHealth, guidePath, HEALTH_FACTS_MAX_AGE_MS, healthHttpStatus } from "@/lib/health/service";
import { runUnlessFrozen } from "@/lib/db/write-freeze";
import { closeAppDatabase } from "@/lib/db/client";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { testBackend } from "@/test/helpers/postgres";

let root: TestDataRoot;
/** Where the database is, as the whole report and the public one name it: the file, or the server and database (never the password). */
let location: { full: Record<string, unknown>; public: Record<string, unknown> };
beforeAll(() => {
  root = createTestDataRoot();
  if (testBackend() === "postgres") {
    const url = new URL(root.config.values.persistence.connection_string);
    const database = url.pathname.slice(1);
    const path = `postgres://${url.hostname}:${url.port}/${database}`;
    location = { full: { backend: "postgres", path }, public: { backend: "postgres", path, host: url.hostname, database } };
  } else {
    location = { full: { backend: "sqlite", path: root.config.paths.database }, public: { backend: "sqlite", path: "./data/mimir.db" } };
  }
});
afterAll(() => root.cleanup());

const VIEWER = { kind: "user", id: "u1", name: "viewer", scope: "read" } as const;

describe("getHealth", () => {
  it("reports the guide's shape, healthy, with the vector database and disk space", async () => {
    const report = await getHealth();
    expect(report).toMatchObject({
      status: "healthy",
      persistence: { status: "healthy", ...location.full, schema_version: expect.any(String) },
      vector_db: { enabled: true, exists: false },
      reasons: [],
      reason_codes: [],
    });
    expect(report.disk?.total_bytes).toBeGreaterThan(0);
    expect(healthHttpStatus(report)).toBe(200);
  });

  it("gives anyone only the guide's document and reason codes: no absolute path, no sizes", async () => {
    const report = await getPublicHealth();
    expect(report).toEqual({
      status: "healthy",
      time: expect.any(String),
      persistence: { status: "healthy", ...location.public },
      reason_codes: [],
    });
    const text = JSON.stringify(report);
    expect(text).not.toContain(root.home);
    expect(text).not.toMatch(/free_bytes|total_bytes|vector_db|uptime/);
  });

  it("gives an identified caller, read scope included, the whole report; nobody the public one", async () => {
    expect(await getHealthFor(VIEWER)).toMatchObject({ persistence: { path: location.full.path }, disk: { free_bytes: expect.any(Number) } });
    expect(await getHealthFor(null)).not.toHaveProperty("disk");
  });

  it("/health keeps its facts other than the database probe at most HEALTH_FACTS_MAX_AGE_MS, and drops them after a write of this process", async () => {
    // The clock is held, so what is tested is the rule, not how fast this machine is.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const vectorDb = root.config.paths.vectorDb;
      // Facts kept by an earlier test were read before this clock was held: drop them (a write does).
      await runUnlessFrozen(async () => undefined);
      expect(await getHealthFor(VIEWER)).toMatchObject({ vector_db: { exists: false } });
      // A change made behind this process's back (another instance, a hand, the disk) is not seen at once…
      fs.mkdirSync(path.dirname(vectorDb), { recursive: true });
      fs.writeFileSync(vectorDb, "vectors");
      expect(await getHealthFor(VIEWER)).toMatchObject({ vector_db: { exists: false } });
      vi.setSystemTime(Date.now() + HEALTH_FACTS_MAX_AGE_MS - 1);
      expect(await getHealthFor(VIEWER)).toMatchObject({ vector_db: { exists: false } });
      // …and is once the kept facts are HEALTH_FACTS_MAX_AGE_MS old.
      vi.setSystemTime(Date.now() + 1);
      expect(await getHealthFor(VIEWER)).toMatchObject({ vector_db: { exists: true, bytes: "vectors".length } });
      // A write of this process (a changing request, an action, a background writer's turn) is seen by the next answer.
      fs.rmSync(vectorDb);
      await runUnlessFrozen(async () => undefined);
      expect(await getHealthFor(VIEWER)).toMatchObject({ vector_db: { exists: false } });
      // The whole report read for a caller that just changed something (the Overview page) reads every part now.
      fs.writeFileSync(vectorDb, "vectors");
      expect((await getHealth()).vector_db.exists).toBe(true);
      fs.rmSync(vectorDb);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ["/app", "/app/data/mimir.db", "./data/mimir.db"],
    ["/app", "/app/mimir.db", "./mimir.db"],
    ["/app", "/srv/existing/mimir.db", "mimir.db"],
    ["/app", "/app-other/data/mimir.db", "mimir.db"],
    ["/app", "/app/..data/mimir.db", "./..data/mimir.db"],
  ])("guidePath under %s: %s → %s", (home, file, expected) => {
    expect(guidePath(path.normalize(file), path.normalize(home))).toBe(expected);
  });

  it("is unhealthy (503) with the reason when the database cannot be read; anyone sees the code, not the error", async () => {
    closeAppDatabase();
    const report = await getHealth();
    expect(report.status).toBe("unhealthy");
    expect(report.persistence.status).toBe("unhealthy");
    expect(report.reasons[0]).toContain("database cannot be read");
    expect(report.reason_codes).toEqual(["database_unreadable"]);
    expect(healthHttpStatus(report)).toBe(503);

    const anonymous = await getPublicHealth();
    expect(anonymous).toMatchObject({ status: "unhealthy", persistence: { status: "unhealthy" }, reason_codes: ["database_unreadable"] });
    // /health probes the database for every answer: no kept fact hides it.
    expect(await getHealthFor(null)).toMatchObject({ status: "unhealthy", reason_codes: ["database_unreadable"] });
    expect(anonymous.persistence).not.toHaveProperty("error");
    expect(healthHttpStatus(anonymous)).toBe(503);
  });
});
