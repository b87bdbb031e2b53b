import type { Page } from "@playwright/test";

export class JobsPage {
  constructor(private readonly page: Page) {}

  async goto() {
    await this.page.goto("/jobs");
  }

  async create(job: { name: string; pipeline: string; cron: string }) {
    await this.page.getByLabel("Name").fill(job.name);
    await this.page.getByLabel("Pipeline").fill(job.pipeline);
    await this.page.getByLabel("Cron expression").fill(job.cron);
    await this.page.getByRole("button", { name: "Create job" }).click();
  }

  row(jobId: string) {
    return this.page.getByTestId(`job-row-${jobId}`);
  }
}
