import { expect, type Page } from "@playwright/test";

export class LoginPage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/login");
  }

  async signIn(username: string, password: string) {
    await this.page.getByLabel("User name").fill(username);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  /** Signs in and waits for the Overview, where a successful sign-in lands. */
  async signInToOverview(username: string, password: string) {
    await this.signIn(username, password);
    await expect(this.page.getByRole("heading", { name: "Overview" })).toBeVisible();
  }
}
