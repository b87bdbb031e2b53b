import { test, expect } from "./fixtures";
import { LoginPage } from "./pages/login-page";
import { E2E_ADMIN } from "./env";

test.describe("sign-in", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("an anonymous visitor is sent to sign in, and a wrong password is refused", async ({ page }) => {
    await page.goto("/settings");
    await expect(page).toHaveURL(/\/login\?next=%2Fsettings$/);
    const login = new LoginPage(page);
    await login.signIn(E2E_ADMIN.username, "not-the-password");
    await expect(page.getByRole("alert").filter({ hasText: "Wrong user name or password" })).toBeVisible();
    // The user name stays for the second try; the password is typed again.
    await expect(page.getByLabel("User name")).toHaveValue(E2E_ADMIN.username);
    await expect(page.getByLabel("Password")).toHaveValue("");
    await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
    await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
  });

  test("when the session ends under an open page, it goes to sign in and comes back there afterwards", async ({ page, context }) => {
    const login = new LoginPage(page);
    await login.goto();
    await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
    await page.goto("/storage");
    await expect(page.getByRole("heading", { name: "Storage" })).toBeVisible();
    await context.clearCookies();
    // The page's next refresh of its live data meets a 401 (the alerts poll every 15 s).
    await expect(page).toHaveURL(/\/login\?next=%2Fstorage$/, { timeout: 30_000 });
    await expect(page.getByText("Sign in to continue to /storage")).toBeVisible();
    await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
    await expect(page).toHaveURL(/\/storage$/);
    await expect(page.getByRole("heading", { name: "Storage" })).toBeVisible();

    // A next address that leads off the site is ignored.
    await context.clearCookies();
    await page.goto("/login?next=%2F%2Fevil.example");
    await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
  });
});
