import type { Page } from "@playwright/test";

/** The pipeline YAML editor (CodeMirror): text is replaced as one insertion, so no auto-indent interferes. */
export class PipelineEditorPage {
  constructor(private readonly page: Page) {}

  async gotoNew() {
    await this.page.goto("/pipelines/new");
  }

  async replaceText(text: string) {
    const content = this.page.locator(".cm-content");
    await content.click();
    await this.page.keyboard.press("ControlOrMeta+a");
    await this.page.keyboard.press("Delete");
    await this.page.keyboard.insertText(text);
  }

  errors() {
    return this.page.getByRole("list", { name: "Validation errors" });
  }

  async create() {
    await this.page.getByRole("button", { name: "Create pipeline" }).click();
  }
}
