import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getHealth, getHealthFor, getPublicHealth, guidePath, healthHttpStatus } from "@/lib/health/service";
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
    expect(anonymous.persistence).not.toHaveProperty("error");
    expect(healthHttpStatus(anonymous)).toBe(503);
  });
});
