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

  /** The on/off state of scheduled backups in the "Schedule and encryption" card, with its switch for admins. */
  get scheduledBackups(): Locator {
    return this.page.getByTestId("scheduled-backups");
  }

  /** The on/off badge alone. */
  get scheduledBackupsState(): Locator {
    return this.scheduledBackups.getByText(/^(on|off)$/);
  }

  switchScheduledBackups(to: "on" | "off"): Locator {
    return this.page.getByRole("button", { name: `Turn scheduled backups ${to}` });
  }

  /** One of the three built-in backup jobs as the card lists it, with its enabled/disabled badge. */
  scheduledBackupJob(jobId: string): Locator {
    return this.page.getByTestId("scheduled-backup-jobs").locator(`li[data-job-id="${jobId}"]`);
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
