import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { isAppError } from "@/lib/errors";
import { getOperation, startOperation, waitForOperation } from "@/lib/operations/service";
import { manifestDigest, writeVerification } from "@/lib/backups/store";
import { VOLUMES } from "@/lib/config/volumes";
import { createDestination } from "@/lib/offsite/destinations";
import { COPY_LEASE_MS, copySetTo, startCopy } from "@/lib/offsite/copy";
import * as queries from "@/lib/offsite/queries";
import type { CreateDestinationInput } from "@/lib/offsite/inputs";
import type { OffsiteCopyRow } from "@/lib/db/schema/offsite";

// One copy of a set to a destination at a time, decided by the database (on both backends), so that
// two processes or instances sharing it cannot both copy: "another instance" here is a claim written
// to the copy row as that instance's copySetTo writes it.

let root: TestDataRoot;
let mount: string;
beforeAll(() => {
  mount = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-offsite-claim-"));
});
afterAll(() => fs.rmSync(mount, { recursive: true, force: true }));
afterEach(() => root?.cleanup());

/** A small set with a real manifest and a passed drill bound to it, written as the backup writes one. */
function makeSet(): string {
  const id = `20260101-${crypto.randomInt(100000, 999999)}`;
  const folder = path.join(root.config.paths.backups, id);
  fs.mkdirSync(folder, { recursive: true });
  const archives: Record<string, unknown> = {};
  for (const volume of VOLUMES) {
    const file = `${volume}.tar.gz`;
    const bytes = crypto.randomBytes(64 * 1024);
    fs.writeFileSync(path.join(folder, file), bytes);
    const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
    archives[volume] = { file, bytes: bytes.length, sha256, files: 1, tar_bytes: bytes.length, encrypted: false };
  }
  const manifest = { format: "mimir-backup", format_version: 1, id, app_version: "test", schema_version: null, created_at: new Date().toISOString() };
  fs.writeFileSync(
    path.join(folder, "manifest.json"),
    JSON.stringify({ ...manifest, trigger: "manual", encrypted: false, archives, databases: {}, row_counts: {} }, null, 2),
  );
  writeVerification(folder, { status: "ok", verified_at: new Date().toISOString(), error: null, manifest_sha256: manifestDigest(folder) });
  return id;
}

async function folderDestination() {
  const target = fs.mkdtempSync(path.join(mount, "dest-"));
  return createDestination({
    kind: "folder",
    name: `usb-${crypto.randomBytes(3).toString("hex")}`,
    enabled: true,
    require_encrypted: false,
    keep_days: null,
    keep_min: 1,
    settings: { path: target },
    secrets: {},
  } as CreateDestinationInput);
}

/** The row another instance's copy writes when it claims the copy (renewed at `at`). */
function otherInstanceClaim(backupId: string, destinationId: string, at: string, operationId: string | null = null): OffsiteCopyRow {
  return {
    backupId,
    destinationId,
    status: "copying",
    bytes: 0,
    totalBytes: 1,
    provenFiles: "[]",
    operationId,
    startedAt: at,
    copiedAt: null,
    verifiedAt: null,
    verifiedBy: null,
    error: null,
    failures: 0,
    updatedAt: at,
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(isAppError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

test("a copy claimed by another instance is refused (409 in_use) and left alone; once its claim is stale, the next copy takes it over", async () => {
  root = createTestDataRoot();
  const id = makeSet();
  const destination = await folderDestination();
  expect(await queries.claimCopyRow(otherInstanceClaim(id, destination.id, new Date().toISOString()), new Date(Date.now() - COPY_LEASE_MS).toISOString())).toBe(
    true,
  );

  await expectCode(copySetTo(id, destination.id), "in_use");
  await expectCode(startCopy(id, destination.id, null), "in_use");
  const held = await queries.findCopyRow(id, destination.id);
  expect(held).toMatchObject({ status: "copying", error: null, failures: 0 });
  expect(fs.readdirSync(destination.settings.path as string)).toEqual([]);

  // The other instance stopped renewing: after the lease its claim is a dead process's.
  await queries.updateCopyRow(id, destination.id, { updatedAt: new Date(Date.now() - COPY_LEASE_MS - 1000).toISOString() });
  const copy = await copySetTo(id, destination.id);
  expect(copy).toMatchObject({ status: "verified", error: null });
  expect(fs.readdirSync(path.join(destination.settings.path as string, id)).sort()).toEqual(
    [...VOLUMES.map((volume) => `${volume}.tar.gz`), "manifest.json"].sort(),
  );
});

test("two copies of the same set to the same place asked for at once: the database admits one, the other is refused", async () => {
  root = createTestDataRoot();
  const id = makeSet();
  const destination = await folderDestination();
  const staleBefore = new Date(Date.now() - COPY_LEASE_MS).toISOString();
  const at = new Date().toISOString();
  const claims = await Promise.all([1, 2, 3].map(() => queries.claimCopyRow(otherInstanceClaim(id, destination.id, at), staleBefore)));
  expect(claims.filter(Boolean)).toHaveLength(1);
});

test("Copy offsite while another operation copies the set there answers that operation instead of starting a second", async () => {
  root = createTestDataRoot();
  const id = makeSet();
  const destination = await folderDestination();
  let release = () => {};
  const holding = new Promise<void>((resolve) => (release = resolve));
  const other = await startOperation({ kind: "offsite_copy", principal: null, scope: "write" }, async () => {
    await holding;
    return {};
  });
  try {
    await queries.claimCopyRow(otherInstanceClaim(id, destination.id, new Date().toISOString(), other.id), new Date(Date.now() - COPY_LEASE_MS).toISOString());
    const again = await startCopy(id, destination.id, null);
    expect(again.id).toBe(other.id);
    expect((await getOperation(other.id)).status).toBe("running");
  } finally {
    release();
    await waitForOperation(other.id);
  }
});
