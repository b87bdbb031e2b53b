import "server-only";
import { z } from "zod";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { decodeCursor, toPage, type Page, type PageQuery } from "@/lib/pagination";
import type { UserRow } from "@/lib/db/schema/auth";
import type { Principal, Role } from "@/lib/auth/scopes";
import type { UpdateUserInput } from "@/lib/auth/inputs";
import type { UserDto } from "@/lib/auth/types";
import * as queries from "@/lib/auth/queries";

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    username: row.username,
    role: row.role as Role,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    disabled_at: row.disabledAt,
  };
}

const userCursor = z.object({ username: z.string() });

/** Users by name, paged. Reads only. */
export async function listUsers(query: PageQuery): Promise<Page<UserDto>> {
  const after = decodeCursor(query.cursor, userCursor);
  const rows = await queries.listUserRows(query.limit, after?.username ?? null);
  const page = toPage(rows, query.limit, (row) => ({ username: row.username }));
  return { items: page.items.map(toUserDto), next_cursor: page.next_cursor };
}

export async function getUser(id: string): Promise<UserDto> {
  const row = await queries.findUserById(id);
  if (!row) throw notFound("User", id);
  return toUserDto(row);
}

/**
 * Changes a user's role or disables/enables them. An admin cannot change their own account this way
 * (no locking oneself out), and the last enabled admin stays one. Disabling or demoting ends the
 * user's sessions, so the change takes effect at once; disabling also revokes the API tokens the user
 * owns, and demoting narrows them to the new role. Updates one users row; deletes sessions; revokes tokens.
 */
export async function updateUser(id: string, input: UpdateUserInput, actor: Principal): Promise<UserDto> {
  const row = await queries.findUserById(id);
  if (!row) throw notFound("User", id);
  if (actor.kind === "user" && actor.id === id) {
    throw new AppError("self_change", "You cannot change your own role or disable your own account; ask another admin");
  }
  const losesAdmin = row.role === "admin" && !row.disabledAt && (input.disabled === true || (input.role !== undefined && input.role !== "admin"));
  if (losesAdmin && (await queries.countActiveAdmins()) <= 1) {
    throw new AppError("last_admin", `'${row.username}' is the last enabled admin; make another admin first`);
  }
  const now = nowIso();
  await queries.updateUser(id, {
    ...(input.role === undefined ? {} : { role: input.role }),
    ...(input.disabled === undefined ? {} : { disabledAt: input.disabled ? (row.disabledAt ?? now) : null }),
    updatedAt: now,
  });
  if (input.disabled === true || (input.role !== undefined && input.role !== row.role)) await queries.deleteUserSessions(id);
  // A disabled account's tokens end with it; a demoted one's keep working within the new role (checked per request).
  if (input.disabled === true) await queries.revokeTokensOwnedBy(id, now);
  return getUser(id);
}

/** Deletes a user and their sessions, and revokes their tokens; same guards as updateUser. Deletes one users row (sessions cascade). */
export async function deleteUser(id: string, actor: Principal): Promise<UserDto> {
  const row = await queries.findUserById(id);
  if (!row) throw notFound("User", id);
  if (actor.kind === "user" && actor.id === id) throw new AppError("self_change", "You cannot delete your own account; ask another admin");
  if (row.role === "admin" && !row.disabledAt && (await queries.countActiveAdmins()) <= 1) {
    throw new AppError("last_admin", `'${row.username}' is the last enabled admin; make another admin first`);
  }
  await queries.revokeTokensOwnedBy(id, nowIso());
  await queries.deleteUser(id);
  return toUserDto(row);
}
