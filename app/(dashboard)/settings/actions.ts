"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { createTokenInput, createUserInput, updateUserInput } from "@/lib/auth/inputs";
import { createUser } from "@/lib/auth/service";
import { createApiToken, revokeApiToken } from "@/lib/auth/tokens";
import { deleteUser, updateUser } from "@/lib/auth/users";
import { updateConfig, updateConfigInput } from "@/lib/config/edit";

const SETTINGS = "/settings";

export const createTokenAction = defineAction(
  "admin",
  createTokenInput,
  async (input, principal) => {
    const created = await createApiToken(input, principal!);
    revalidatePath(SETTINGS);
    return created;
  },
  { reauth: true, audit: "token.create", target: (input) => input.name },
);

export const revokeTokenAction = defineAction(
  "admin",
  z.object({ tokenId: z.string().min(1).max(64) }),
  async ({ tokenId }) => {
    const token = await revokeApiToken(tokenId);
    revalidatePath(SETTINGS);
    return token;
  },
  { reauth: true, audit: "token.revoke", target: (input) => input.tokenId },
);

export const createUserAction = defineAction(
  "admin",
  createUserInput,
  async (input) => {
    const user = await createUser(input);
    revalidatePath(SETTINGS);
    return user;
  },
  { reauth: true, audit: "user.create", target: (input) => input.username },
);

export const updateUserAction = defineAction(
  "admin",
  z.object({ userId: z.string().min(1).max(64), change: updateUserInput }),
  async ({ userId, change }, principal) => {
    const user = await updateUser(userId, change, principal!);
    revalidatePath(SETTINGS);
    return user;
  },
  { reauth: true, audit: "user.update", target: (input) => input.userId },
);

export const deleteUserAction = defineAction(
  "admin",
  z.object({ userId: z.string().min(1).max(64) }),
  async ({ userId }, principal) => {
    const user = await deleteUser(userId, principal!);
    revalidatePath(SETTINGS);
    return user;
  },
  { reauth: true, audit: "user.delete", target: (input) => input.userId },
);

export const updateConfigAction = defineAction(
  "admin",
  updateConfigInput,
  async (input) => {
    const result = await updateConfig(input);
    revalidatePath(SETTINGS);
    return { changed: result.changed, restart_required: result.restart_required };
  },
  { audit: "config.update" },
);
