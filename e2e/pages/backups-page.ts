import { expect, type Locator, type Page } from "@playwright/test";

export class BackupsPage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/backups");
    await expect(this.page.getByRole("heading", { name: "Backups", level: 1 })).toBeVisible();
  }

  get backUpNow(): Locator {
    return this.page.getByRole("button", { name: "Back up now" });
  }

  progress(label: string): Locator {
    return this.page.getByRole("progressbar", { name: label });
  }

  row(backupId: string): Locator {
    return this.page.locator(`tr[data-backup-id="${backupId}"]`);
  }

  get rows(): Locator {
    return this.page.locator("tr[data-backup-id]");
  }

  /** Opens the restore confirmation for a set, types its id, and confirms. */
  async restore(backupId: string) {
    await this.row(backupId).getByRole("button", { name: "Restore…" }).click();
    const dialog = this.page.getByRole("dialog", { name: `Restore backup ${backupId}?` });
    await expect(dialog).toBeVisible();
    return dialog;
  }
}
