import { expect, type Locator, type Page } from "@playwright/test";

/** The Database page's "Migrate to PostgreSQL" card and its confirmation dialog. */
export class MigratePanel {
  readonly dialog: Locator;

  constructor(private readonly page: Page) {
    this.dialog = page.getByRole("dialog", { name: "Copy this database to PostgreSQL?" });
  }

  async goto() {
    await this.page.goto("/database");
    await expect(this.page.getByRole("heading", { name: "Migrate to PostgreSQL", exact: true })).toBeVisible();
  }

  async migrate(connectionString: string, password: string) {
    await this.page.getByLabel("PostgreSQL connection string").fill(connectionString);
    await this.page.getByRole("button", { name: "Migrate to PostgreSQL…" }).click();
    await expect(this.dialog).toBeVisible();
    await expect(this.dialog.getByTestId("migrate-consequences")).toContainText("The SQLite file is kept as it is");
    await this.dialog.getByLabel("Your password, to confirm").fill(password);
    await this.dialog.getByRole("button", { name: "Migrate", exact: true }).click();
  }

  result(): Locator {
    return this.page.getByTestId("migrate-result");
  }
}
