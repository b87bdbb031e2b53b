import { expect, type Locator, type Page } from "@playwright/test";

/** The Database page's "Reset all data" card and its confirmation dialog. */
export class ResetPanel {
  readonly dialog: Locator;

  constructor(private readonly page: Page) {
    this.dialog = page.getByRole("dialog", { name: /^Reset mimir-/ });
  }

  async goto() {
    await this.page.goto("/database");
    await expect(this.page.getByRole("heading", { name: "Reset all data", exact: true })).toBeVisible();
  }

  async instanceName(): Promise<string> {
    return (await this.page.getByTestId("instance-name").textContent())!.trim();
  }

  /** Opens the dialog; returns the list of what will be lost. */
  async open(): Promise<Locator> {
    await this.page.getByRole("button", { name: "Reset all data…" }).click();
    await expect(this.dialog).toBeVisible();
    return this.dialog.getByTestId("reset-consequences");
  }

  async confirm(instanceName: string, password: string) {
    const reset = this.dialog.getByRole("button", { name: "Reset", exact: true });
    await expect(reset).toBeDisabled();
    await this.dialog.getByLabel(/^Type .* to confirm$/).fill(instanceName);
    await this.dialog.getByLabel("Your password, to confirm").fill(password);
    await reset.click();
  }

  result(): Locator {
    return this.page.getByTestId("reset-result");
  }
}
