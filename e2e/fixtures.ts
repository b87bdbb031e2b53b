import fs from "node:fs";
import { test as base, expect, request, type APIRequestContext } from "@playwright/test";
import { E2E_API_TOKEN, E2E_BASE_URL } from "./env";

/**
 * `api`: a request context authenticated with the admin token seeded through MIMIR_API_TOKEN, for
 * making a test's preconditions through the REST API rather than through the UI.
 */
export const test = base.extend<{ api: APIRequestContext }>({
  api: async ({ playwright, baseURL }, provide) => {
    const api = await playwright.request.newContext({
      baseURL,
      extraHTTPHeaders: { Authorization: `Bearer ${E2E_API_TOKEN}` },
    });
    await provide(api);
    await api.dispose();
  },
});

/**
 * Removes files a spec put in the shared server's volumes, then measures the volumes again. The
 * scheduled storage sample may have run while they were there and raised an alert that would stay
 * until the next one, a quarter of an hour later, leaving /health degraded for the specs after
 * (a full run once failed the Overview's "healthy" on a 64 MB plugin the backups spec had left in
 * a sample). Usable from afterAll, which has no test-scoped `api`.
 */
export async function removeAndMeasureAgain(...files: string[]): Promise<void> {
  for (const file of files) fs.rmSync(file, { force: true });
  const api = await request.newContext({ baseURL: E2E_BASE_URL, extraHTTPHeaders: { Authorization: `Bearer ${E2E_API_TOKEN}` } });
  try {
    const sample = await api.post("/api/v1/storage/samples");
    if (!sample.ok()) throw new Error(`storage sample after removing ${files.join(", ")}: ${sample.status()} ${await sample.text()}`);
  } finally {
    await api.dispose();
  }
}

export { expect };
