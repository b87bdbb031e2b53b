import type { Locator, Page } from "@playwright/test";

export class StoragePage {
  readonly growth: Locator;
  readonly volumesChart: Locator;
  readonly databaseChart: Locator;
  readonly executionsChart: Locator;

  constructor(private readonly page: Page) {
    this.growth = page.getByRole("region", { name: "Growth" });
    this.volumesChart = page.getByTestId("chart-volumes");
    this.databaseChart = page.getByTestId("chart-database");
    this.executionsChart = page.getByTestId("chart-executions");
  }

  async goto() {
    await this.page.goto("/storage");
  }

  async chooseRange(label: "24 h" | "7 d" | "30 d" | "90 d") {
    await this.page.getByRole("group", { name: "Range" }).getByRole("button", { name: label }).click();
  }

  async measureNow() {
    await this.page.getByRole("button", { name: "Measure now" }).click();
  }

  volumeSize(volume: string): Locator {
    return this.page.getByTestId(`size-${volume}`);
  }
}
