import { test as setup, expect } from "@playwright/test";
import { E2E_ADMIN, E2E_ADMIN_STATE } from "./env";
import { LoginPage } from "./pages/login-page";

/** Signs the admin in once through the real form; every other test starts from this session. */
setup("sign in as admin", async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.context().storageState({ path: E2E_ADMIN_STATE });
});
