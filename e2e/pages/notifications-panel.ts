import { expect, type Page } from "@playwright/test";

/** The Notifications card on the Settings page. */
export class NotificationsPanel {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/settings#notifications");
    await expect(this.page.getByRole("heading", { name: "Notifications" })).toBeVisible();
  }

  /** Adds a webhook channel through the dialog. */
  async addWebhookChannel(name: string, url: string) {
    await this.page.getByRole("button", { name: "Add channel" }).click();
    const dialog = this.page.getByRole("dialog", { name: "Add a notification channel" });
    await dialog.getByLabel("Kind").selectOption({ label: "Webhook (JSON)" });
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByLabel("URL", { exact: true }).fill(url);
    await dialog.getByRole("button", { name: "Add channel" }).click();
    await expect(dialog).toBeHidden();
    await expect(this.row(name)).toBeVisible();
  }

  row(name: string) {
    return this.page.locator(`tr[data-channel="${name}"]`);
  }

  /** Presses Test on the channel's row; returns the outcome shown beside the button. */
  async test(name: string) {
    await this.row(name)
      .getByRole("button", { name: `Test ${name}` })
      .click();
    return this.row(name).getByRole("status");
  }

  deliveryLog() {
    return this.page.getByRole("region", { name: "Delivery log" });
  }
}
