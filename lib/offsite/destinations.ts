import "server-only";
import crypto from "node:crypto";
import { Readable } from "node:stream";
import { z } from "zod";
import { nowIso } from "@/lib/db/timestamps";
import type { OffsiteDestinationRow } from "@/lib/db/schema/offsite";
import { AppError, notFound } from "@/lib/errors";
import { openJson, sealJson } from "@/lib/secrets/sealed";
import { DESTINATION_KINDS, type DestinationKind } from "@/lib/offsite/kinds";
import type { CreateDestinationInput, UpdateDestinationInput } from "@/lib/offsite/inputs";
import * as queries from "@/lib/offsite/queries";
import { createStore, isKindAvailable } from "@/lib/offsite/registry";
import { RemoteStoreError, type RemoteStore } from "@/lib/offsite/store";
import type { DestinationDto, DestinationTestDto, TestStep } from "@/lib/offsite/types";

// Destinations: the places sets are copied to. Their secrets are sealed at rest (lib/secrets) and
// never leave this module in clear except into a store's connection settings.

/** Every destination, by name. Reads only. */
export async function listDestinations(): Promise<DestinationDto[]> {
  return Promise.all((await queries.listDestinationRows()).map(toDestinationDto));
}

/** One destination or 404. Reads only. */
export async function getDestination(id: string): Promise<DestinationDto> {
  return toDestinationDto(await destinationRow(id));
}

export async function destinationRow(id: string): Promise<OffsiteDestinationRow> {
  const row = await queries.findDestinationRow(id);
  if (!row) throw notFound("Destination", id);
  return row;
}

/** Adds a destination; its secrets are sealed. Inserts one offsite_destinations row. */
export async function createDestination(input: CreateDestinationInput): Promise<DestinationDto> {
  if (!isKindAvailable(input.kind)) throw new AppError("invalid_input", `Destinations of kind '${input.kind}' are not available in this build`);
  await assertNameFree(input.name, null);
  assertCredentials(input.kind, input.secrets as Record<string, unknown>);
  const now = nowIso();
  const row: OffsiteDestinationRow = {
    id: crypto.randomUUID(),
    name: input.name,
    kind: input.kind,
    enabled: input.enabled,
    settings: JSON.stringify(input.settings),
    secrets: sealSecrets(input.secrets as Record<string, unknown>),
    pinnedIdentity: null,
    requireEncrypted: input.require_encrypted,
    keepDays: input.keep_days,
    keepMin: input.keep_min,
    lastTestAt: null,
    lastTestError: null,
    createdAt: now,
    updatedAt: now,
  };
  await queries.insertDestinationRow(row);
  return toDestinationDto(row);
}

/**
 * Changes a destination: settings merge over the stored ones and are checked as a whole; a secret
 * left out or empty keeps its stored value; a change of where it points (host, port, path, bucket)
 * or `repin` forgets the pinned server identity. Updates one offsite_destinations row.
 */
export async function updateDestination(id: string, input: UpdateDestinationInput): Promise<DestinationDto> {
  const row = await destinationRow(id);
  const kind = kindOf(row);
  if (input.name !== undefined) await assertNameFree(input.name, id);
  const change: Partial<OffsiteDestinationRow> = { updatedAt: nowIso() };
  if (input.name !== undefined) change.name = input.name;
  if (input.enabled !== undefined) change.enabled = input.enabled;
  if (input.require_encrypted !== undefined) change.requireEncrypted = input.require_encrypted;
  if (input.keep_days !== undefined) change.keepDays = input.keep_days;
  if (input.keep_min !== undefined) change.keepMin = input.keep_min;
  if (input.settings !== undefined) {
    const stored = JSON.parse(row.settings) as Record<string, unknown>;
    const merged = prefixed("settings", kind.settings.safeParse({ ...stored, ...input.settings }));
    if (JSON.stringify(merged) !== row.settings) change.settings = JSON.stringify(merged);
    // Pointed somewhere else: the identity pinned for the old server says nothing about the new one.
    if (["host", "port"].some((key) => merged[key] !== stored[key])) change.pinnedIdentity = null;
  }
  const given = Object.fromEntries(Object.entries(input.secrets ?? {}).filter(([, value]) => value !== ""));
  if (Object.keys(given).length > 0) {
    const merged = prefixed("secrets", kind.secrets.safeParse({ ...openSecrets(row), ...given }));
    assertCredentials(row.kind as DestinationKind, merged);
    change.secrets = sealSecrets(merged);
  }
  if (input.repin) change.pinnedIdentity = null;
  await queries.updateDestinationRow(id, change);
  return getDestination(id);
}

/** Deletes a destination and its copy states; what it holds remotely stays there. Deletes rows. */
export async function deleteDestination(id: string): Promise<DestinationDto> {
  const dto = await getDestination(id);
  await queries.deleteDestinationRow(id);
  return dto;
}

/**
 * Opens a store for a destination. `pin` records the identity the server showed when none is
 * pinned yet (SFTP's host key on first contact); call it after a successful exchange.
 */
export function openStore(row: OffsiteDestinationRow): { store: RemoteStore; pin: () => Promise<string | null> } {
  const store = createStore(row.kind, {
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secrets: openSecrets(row),
    pinnedIdentity: row.pinnedIdentity,
  });
  return {
    store,
    pin: async () => {
      const seen = store.serverIdentity?.() ?? null;
      if (seen && !row.pinnedIdentity) {
        await queries.updateDestinationRow(row.id, { pinnedIdentity: seen });
        row.pinnedIdentity = seen;
      }
      return row.pinnedIdentity;
    },
  };
}

/** The probe's folder: a name no set folder can have, so listing and retention never take it for a set. */
const PROBE_PREFIX = ".mimir-probe-";

/**
 * Tests a destination end to end: connects, writes a probe object, reads it back and compares its
 * bytes, deletes it and checks it is gone; says which step failed and why. Pins the server's
 * identity on the first success. Writes and removes one remote object; updates the row's last test.
 */
export async function testDestination(id: string): Promise<DestinationTestDto> {
  const row = await destinationRow(id);
  const steps: DestinationTestDto["steps"] = [];
  const probe = `${PROBE_PREFIX}${crypto.randomBytes(6).toString("hex")}`;
  const content = crypto.randomBytes(64 * 1024);
  let failed: { step: TestStep; error: unknown } | null = null;
  let opened: ReturnType<typeof openStore> | null = null;
  const step = async (name: TestStep, run: () => Promise<void>) => {
    if (failed) return;
    try {
      await run();
      steps.push({ step: name, ok: true, error: null });
    } catch (error) {
      failed = { step: name, error };
      steps.push({ step: name, ok: false, error: (error as Error).message });
    }
  };
  try {
    opened = openStore(row);
    const { store } = opened;
    await step("connect", async () => {
      await store.stat(`${probe}/none`);
    });
    await step("write", () => store.put(`${probe}/probe.bin`, Readable.from([content]), content.length));
    await step("read-back", async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await store.get(`${probe}/probe.bin`)) chunks.push(chunk as Buffer);
      const back = Buffer.concat(chunks);
      if (!back.equals(content))
        throw new RemoteStoreError("refused", `the probe read back differs from what was written (${back.length} of ${content.length} bytes)`);
    });
    await step("delete", async () => {
      await store.delete(`${probe}/probe.bin`);
      if (await store.stat(`${probe}/probe.bin`)) throw new RemoteStoreError("refused", "the probe is still there after it was deleted");
    });
  } catch (error) {
    failed ??= { step: "connect", error };
    if (steps.length === 0) steps.push({ step: "connect", ok: false, error: (error as Error).message });
  } finally {
    if (failed && opened && (failed as { step: TestStep }).step !== "connect") await opened.store.delete(`${probe}/probe.bin`).catch(() => undefined);
  }
  const failure = failed as { step: TestStep; error: unknown } | null;
  const pinned = failure || !opened ? row.pinnedIdentity : await opened.pin();
  await opened?.store.close().catch(() => undefined);
  const error = failure ? `${failure.step} failed: ${(failure.error as Error).message}` : null;
  await queries.updateDestinationRow(id, { lastTestAt: nowIso(), lastTestError: error ?? "" });
  return {
    ok: failure === null,
    steps,
    reason: failure ? (failure.error instanceof RemoteStoreError ? failure.error.reason : "refused") : null,
    error,
    pinned_identity: pinned,
  };
}

async function toDestinationDto(row: OffsiteDestinationRow): Promise<DestinationDto> {
  const copies = await queries.listCopyRowsOfDestination(row.id);
  const newestVerified = copies.filter((copy) => copy.status === "verified").sort((a, b) => (b.verifiedAt ?? "").localeCompare(a.verifiedAt ?? ""))[0];
  const newestFailed = copies.find((copy) => copy.status === "failed");
  const failedSince = newestFailed && (!newestVerified || newestFailed.updatedAt > (newestVerified.verifiedAt ?? ""));
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as DestinationKind,
    enabled: row.enabled,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secrets_set: secretNames(row),
    pinned_identity: row.pinnedIdentity,
    require_encrypted: row.requireEncrypted,
    keep_days: row.keepDays,
    keep_min: row.keepMin,
    last_test: row.lastTestAt ? { at: row.lastTestAt, ok: !row.lastTestError, error: row.lastTestError || null } : null,
    last_success_at: newestVerified?.verifiedAt ?? null,
    last_failure: failedSince && newestFailed ? { backup_id: newestFailed.backupId, at: newestFailed.updatedAt, error: newestFailed.error } : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function kindOf(row: OffsiteDestinationRow) {
  return DESTINATION_KINDS[row.kind as DestinationKind] as { settings: z.ZodType<Record<string, unknown>>; secrets: z.ZodType<Record<string, unknown>> };
}

/** An SFTP destination needs a password or a key; the other kinds' schemas already say what they need. */
function assertCredentials(kind: DestinationKind, secrets: Record<string, unknown>) {
  if (kind === "sftp" && !secrets.password && !secrets.private_key)
    throw new AppError("invalid_input", "secrets: an SFTP destination needs a password or a private key");
}

function prefixed(field: string, result: { success: true; data: Record<string, unknown> } | { success: false; error: z.ZodError }): Record<string, unknown> {
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new AppError("invalid_input", `${[field, ...(issue?.path ?? [])].join(".")}: ${issue?.message ?? "invalid"}`);
}

async function assertNameFree(name: string, except: string | null) {
  const taken = (await queries.listDestinationRows()).some((row) => row.name.toLowerCase() === name.toLowerCase() && row.id !== except);
  if (taken) throw new AppError("already_exists", `A destination named '${name}' already exists`);
}

function sealSecrets(secrets: Record<string, unknown>): string | null {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, value]) => value !== undefined && value !== ""));
  return Object.keys(present).length > 0 ? sealJson(present) : null;
}

function openSecrets(row: OffsiteDestinationRow): Record<string, unknown> {
  return row.secrets ? (openJson(row.secrets) as Record<string, unknown>) : {};
}

/** The names of the stored secrets, read without opening them: the names are sealed too, so they are opened once here. */
function secretNames(row: OffsiteDestinationRow): string[] {
  try {
    return Object.keys(openSecrets(row)).sort();
  } catch {
    return [];
  }
}

/** Per destination, for /metrics: the newest verified copy (when, how many bytes) and the failed attempts since it. Reads only. */
export async function listDestinationStats(): Promise<{ name: string; lastSuccessAt: string | null; lastBytes: number; failures: number }[]> {
  // One statement (destinations joined with their copies), not one per destination: /metrics reads this on every scrape.
  const stats = new Map<string, { name: string; lastSuccessAt: string | null; lastBytes: number; failures: number }>();
  for (const row of await queries.listDestinationCopyFacts()) {
    let entry = stats.get(row.id);
    if (!entry) stats.set(row.id, (entry = { name: row.name, lastSuccessAt: null, lastBytes: 0, failures: 0 }));
    entry.failures += row.failures ?? 0;
    if (row.status === "verified" && (entry.lastSuccessAt === null || (row.verifiedAt ?? "") > entry.lastSuccessAt)) {
      entry.lastSuccessAt = row.verifiedAt ?? "";
      entry.lastBytes = row.bytes ?? 0;
    }
  }
  return [...stats.values()].map((entry) => ({ ...entry, lastSuccessAt: entry.lastSuccessAt || null }));
}

/** The destination a person names on the command line: by id, or by name (case-insensitive); 404 otherwise. Reads only. */
export async function getDestinationByNameOrId(nameOrId: string): Promise<DestinationDto> {
  const rows = await queries.listDestinationRows();
  const row = rows.find((r) => r.id === nameOrId) ?? rows.find((r) => r.name.toLowerCase() === nameOrId.toLowerCase());
  if (!row) throw notFound("Destination", nameOrId);
  return toDestinationDto(row);
}
