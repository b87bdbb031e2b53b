import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getHealth, healthHttpStatus } from "@/lib/health/service";
import { closeAppDatabase } from "@/lib/db/client";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
});
afterAll(() => root.cleanup());

describe("getHealth", () => {
  it("reports the guide's shape, healthy, with the vector database and disk space", async () => {
    const report = await getHealth();
    expect(report).toMatchObject({
      status: "healthy",
      persistence: { status: "healthy", backend: "sqlite", path: root.config.paths.database, schema_version: expect.any(String) },
      vector_db: { enabled: true, exists: false },
      reasons: [],
    });
    expect(report.disk?.total_bytes).toBeGreaterThan(0);
    expect(healthHttpStatus(report)).toBe(200);
  });

  it("is unhealthy (503) with the reason when the database cannot be read", async () => {
    closeAppDatabase();
    const report = await getHealth();
    expect(report.status).toBe("unhealthy");
    expect(report.persistence.status).toBe("unhealthy");
    expect(report.reasons[0]).toContain("database cannot be read");
    expect(healthHttpStatus(report)).toBe(503);
  });
});
