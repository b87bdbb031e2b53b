import { test, expect } from "./fixtures";
import { LoginPage } from "./pages/login-page";
import { E2E_ADMIN } from "./env";

test.describe("sign-in", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("an anonymous visitor is sent to sign in, and a wrong password is refused", async ({ page }) => {
    await page.goto("/settings");
    await expect(page).toHaveURL(/\/login$/);
    const login = new LoginPage(page);
    await login.signIn(E2E_ADMIN.username, "not-the-password");
    await expect(page.getByRole("alert").filter({ hasText: "Wrong user name or password" })).toBeVisible();
    // The user name stays for the second try; the password is typed again.
    await expect(page.getByLabel("User name")).toHaveValue(E2E_ADMIN.username);
    await expect(page.getByLabel("Password")).toHaveValue("");
    await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
  });
});
