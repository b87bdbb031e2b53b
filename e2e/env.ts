import os from "node:os";
import path from "node:path";

/** Each checkout can run its own suite side by side: E2E_PORT picks the port, and the data root follows it. */
export const E2E_PORT = Number(process.env.E2E_PORT ?? 3100);
export const E2E_BASE_URL = `http://127.0.0.1:${E2E_PORT}`;
export const E2E_HOME = path.join(os.tmpdir(), `mimir-e2e-${E2E_PORT}`);
export const E2E_ADMIN_STATE = path.join(`${E2E_HOME}-state`, "admin.json");
export const E2E_ADMIN = { username: "admin", password: "e2e-admin-password-0001" };
export const E2E_API_TOKEN = "mimir_e2e0000000000000000000000000000000000000";
