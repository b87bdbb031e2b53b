import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";
import { E2E_HOME } from "../env";

/**
 * Runs SQL on the e2e server's live database through the stock sqlite3 shell. Used only for what
 * no API of this branch can make (execution history rows, free pages); the server sees the rows
 * through WAL like any other writer's.
 */
export function sqliteOnServerDatabase(sql: string): string {
  return execFileSync("sqlite3", [path.join(E2E_HOME, "data", "mimir.db")], { input: `.timeout 5000\n${sql}`, encoding: "utf8" });
}

export class DatabasePage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/database");
    await expect(this.page.getByRole("heading", { name: "Database", exact: true })).toBeVisible();
  }

  maintenanceTile(kind: "vacuum" | "analyze" | "integrity_check" | "checkpoint"): Locator {
    return this.page.getByTestId(`maintenance-${kind}`);
  }

  async freePages(): Promise<number> {
    return Number((await this.page.getByTestId("free-pages").textContent())?.replace(/,/g, ""));
  }

  async tableRows(table: string): Promise<number> {
    return Number((await this.page.getByTestId(`rows-${table}`).textContent())?.replace(/,/g, ""));
  }

  async dryRun(options: { jobLabel: RegExp }) {
    await this.page.getByRole("combobox", { name: /^Runs of/ }).selectOption({ label: await this.optionLabel(options.jobLabel) });
    await this.page.getByRole("button", { name: "Dry run" }).click();
    return this.page.getByTestId("retention-preview");
  }

  private async optionLabel(pattern: RegExp): Promise<string> {
    const labels = await this.page
      .getByRole("combobox", { name: /^Runs of/ })
      .locator("option")
      .allTextContents();
    const label = labels.find((text) => pattern.test(text));
    if (!label) throw new Error(`no job option matches ${pattern}: ${labels.join(" | ")}`);
    return label;
  }

  async runQuery(sql: string) {
    const field = this.page.getByLabel("SQL (one read-only statement)");
    // Filled again until it holds exactly this: a fill before hydration can be merged with the box's starting text.
    await expect(async () => {
      await field.fill(sql);
      await expect(field).toHaveValue(sql, { timeout: 1_000 });
    }).toPass();
    await this.page.getByRole("button", { name: "Run query" }).click();
  }
}
