import { expect, type Page } from "@playwright/test";

export class SettingsPage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/settings");
    await expect(this.page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible();
  }

  /** Confirms the open dialog with the password; returns the dialog for further checks. */
  async confirm(password: string, confirmLabel: string) {
    const dialog = this.page.getByRole("dialog");
    await dialog.getByLabel("Your password, to confirm").fill(password);
    await dialog.getByRole("button", { name: confirmLabel }).click();
    return dialog;
  }

  /** Creates a token through the form and the password dialog; returns the token shown once. */
  async createToken(name: string, scope: "read" | "write" | "admin", password: string): Promise<string> {
    await this.page.getByLabel("Token name").fill(name);
    await this.page.getByLabel("Scope").selectOption(scope);
    await this.page.getByRole("button", { name: "Create token" }).click();
    await expect(this.page.getByRole("dialog")).toContainText(`Create the ${scope} token '${name}'?`);
    await this.confirm(password, "Create token");
    const shown = this.page.getByTestId("new-token");
    await expect(shown).toBeVisible();
    return (await shown.textContent())!.trim();
  }

  async addUser(username: string, password: string, role: "viewer" | "admin", adminPassword: string) {
    await this.page.getByLabel("New user name").fill(username);
    await this.page.getByLabel("Their password").fill(password);
    await this.page.getByLabel("Role").selectOption(role);
    await this.page.getByRole("button", { name: "Add user" }).click();
    await this.confirm(adminPassword, "Add user");
    await expect(this.page.getByText(`Added ‘${username}’`)).toBeVisible();
  }

  tokenRow(name: string) {
    return this.page.locator(`tr[data-token="${name}"]`);
  }
}
