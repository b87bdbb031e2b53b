import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test, expect } from "./fixtures";
import { E2E_ADMIN } from "./env";
import { BackupsPage } from "./pages/backups-page";
import { startTestSshd, type TestSshd } from "../test/helpers/sshd";

test.describe.configure({ mode: "serial" });

// A "mounted share" of its own: the destination folder lives outside the e2e data root.
const MOUNT = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-e2e-offsite-"));
const NAME = `usb-${process.pid}`;

test.describe("Offsite destinations", () => {
  test.afterAll(() => fs.rmSync(MOUNT, { recursive: true, force: true }));

  test("add a folder destination, test it, see a new set copied, then pull it back after the local set is gone", async ({ page, api }) => {
    const backups = new BackupsPage(page);
    await backups.goto();

    await page.getByRole("button", { name: "Add destination" }).click();
    const form = page.getByRole("dialog", { name: "Add an offsite destination" });
    await form.getByLabel("Kind").selectOption("folder");
    await form.getByLabel("Name").fill(NAME);
    await form.getByRole("textbox", { name: /^Folder/ }).fill(MOUNT);
    await form.getByRole("button", { name: "Add destination" }).click();
    await expect(form).toBeHidden();
    const destination = page.locator("tr[data-destination-id]", { hasText: NAME });
    await expect(destination).toContainText("nothing copied yet");

    await destination.getByRole("button", { name: "Test" }).click();
    const steps = destination.getByRole("list", { name: `Test of ${NAME}` });
    for (const step of ["connect", "write", "read-back", "delete"]) await expect(steps).toContainText(`✓ ${step}`);
    expect(fs.readdirSync(MOUNT)).toEqual([]);

    // A new set is copied once it passed its drill; its row shows the copy, and the destination its success.
    await backups.backUpNow.click();
    const written = page.getByTestId("operation-succeeded").filter({ hasText: /Backup \d{8}-\d{6} written/ });
    await expect(written).toBeVisible({ timeout: 60_000 });
    // The id from the message, not the list's first row: the list may not have refreshed yet (CI read an older set's id).
    const setId = /Backup (\d{8}-\d{6}) written/.exec(await written.innerText())![1]!;
    const copy = backups.row(setId).locator(`[data-copy-destination="${NAME}"]`);
    await expect(copy).toContainText("copied", { timeout: 60_000 });
    expect(fs.existsSync(path.join(MOUNT, setId, "manifest.json"))).toBe(true);
    // A folder offers no checksum of its own: the copy says it was read back, and the tooltip says what that proved.
    const proof = copy.getByText("proven by reading it back");
    await expect(proof).toBeVisible();
    await expect(proof).toHaveAttribute("title", /read back from the destination and hashed here.*matched the set's manifest/);
    // The e2e data root has no backup passphrase: the page warns that the copy is readable there.
    await expect(backups.row(setId)).toContainText("Not encrypted: its copies leave this host");
    await page.reload();
    await expect(destination).toContainText("copied");

    // The local set is lost; the destination still lists it, and Pull brings it back verified.
    expect((await api.delete(`/api/v1/backups/${setId}`)).status()).toBe(200);
    await page.reload();
    await expect(backups.row(setId)).toHaveCount(0);
    await destination.getByRole("button", { name: "Sets there…" }).click();
    const remote = page.getByRole("dialog", { name: `Sets at ${NAME}` });
    const remoteRow = remote.locator(`tr[data-remote-set-id="${setId}"]`);
    await expect(remoteRow).toContainText("complete");
    await remoteRow.getByRole("button", { name: "Pull" }).click();
    await expect(remote.getByTestId("operation-succeeded")).toContainText(`Backup ${setId} pulled`, { timeout: 60_000 });
    await expect(remote.getByTestId("operation-succeeded")).toContainText("verified");
    await remote.getByRole("button", { name: "Close" }).click();
    await page.reload();
    await expect(backups.row(setId)).toContainText("verified");
  });

  test("deleting a destination names what is lost and leaves its copies in place", async ({ page }) => {
    const backups = new BackupsPage(page);
    await backups.goto();
    const destination = page.locator("tr[data-destination-id]", { hasText: NAME });
    await destination.getByRole("button", { name: "Delete…" }).click();
    const dialog = page.getByRole("dialog", { name: `Delete destination ${NAME}?` });
    await expect(dialog).toContainText("copies it already holds stay where they are");
    await dialog.getByLabel("Your password, to confirm").fill(E2E_ADMIN.password);
    await dialog.getByRole("button", { name: "Delete destination" }).click();
    await expect(destination).toHaveCount(0);
    expect(fs.readdirSync(MOUNT).length).toBeGreaterThan(0);
  });
});

test.describe("Offsite copy to an SFTP server", () => {
  let sshd: TestSshd;
  test.beforeAll(async () => {
    sshd = await startTestSshd();
  });
  test.afterAll(async () => {
    await sshd?.stop();
  });

  test("a set copied to a real sshd says it was proven by the server's own sha256", async ({ page, api }) => {
    const name = `sftp-${process.pid}`;
    const created = await api.post("/api/v1/destinations", {
      data: {
        kind: "sftp",
        name,
        enabled: true,
        require_encrypted: false,
        keep_days: null,
        keep_min: 1,
        settings: { host: sshd.host, port: sshd.port, user: sshd.user, folder: sshd.folder },
        secrets: { private_key: sshd.privateKey },
      },
    });
    expect(created.status()).toBe(201);
    const destination = (await created.json()) as { id: string };
    try {
      const started = await api.post("/api/v1/backups");
      expect(started.status()).toBe(202);
      const { id: operationId } = (await started.json()) as { id: string };
      await expect.poll(async () => (await (await api.get(`/api/v1/operations/${operationId}`)).json()).status, { timeout: 60_000 }).toBe("succeeded");
      const setId = ((await (await api.get(`/api/v1/operations/${operationId}`)).json()) as { result: { backup_id: string } }).result.backup_id;

      const backups = new BackupsPage(page);
      await backups.goto();
      const copy = backups.row(setId).locator(`[data-copy-destination="${name}"]`);
      await expect(copy).toContainText("copied", { timeout: 60_000 });
      const proof = copy.getByText("proven by the server's sha256");
      await expect(proof).toBeVisible();
      await expect(proof).toHaveAttribute("title", /server computed the sha256 of each file from the bytes on its own disk/);
      expect(fs.existsSync(path.join(sshd.folder, setId, "manifest.json"))).toBe(true);
    } finally {
      // Later specs make sets of their own: they are not to be copied here once this server is gone.
      expect((await api.put(`/api/v1/destinations/${destination.id}`, { data: { enabled: false } })).status()).toBe(200);
    }
  });
});
