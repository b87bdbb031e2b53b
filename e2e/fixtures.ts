import { test as base, expect, type APIRequestContext } from "@playwright/test";
import { E2E_API_TOKEN } from "./env";

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

export { expect };
