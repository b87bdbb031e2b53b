"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { createTokenInput, createUserInput, updateUserInput } from "@/lib/auth/inputs";
import { createUser } from "@/lib/auth/service";
import { createApiToken, revokeApiToken } from "@/lib/auth/tokens";
import { deleteUser, updateUser } from "@/lib/auth/users";
import { updateConfig, updateConfigInput } from "@/lib/config/edit";
import { createChannelInput, updateChannelInput } from "@/lib/notify/inputs";
import { createChannel, deleteChannel, testChannel, updateChannel } from "@/lib/notify/service";

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

const channelId = z.string().min(1).max(64);

export const createChannelAction = defineAction(
  "admin",
  createChannelInput,
  async (input) => {
    const channel = await createChannel(input);
    revalidatePath(SETTINGS);
    return channel;
  },
  { audit: "notification_channel.create", target: (input) => input.name },
);

export const updateChannelAction = defineAction(
  "admin",
  z.object({ channelId, change: updateChannelInput }),
  async ({ channelId, change }) => {
    const channel = await updateChannel(channelId, change);
    revalidatePath(SETTINGS);
    return channel;
  },
  { audit: "notification_channel.update", target: (input) => input.channelId },
);

export const deleteChannelAction = defineAction(
  "admin",
  z.object({ channelId }),
  async ({ channelId }) => {
    const channel = await deleteChannel(channelId);
    revalidatePath(SETTINGS);
    return channel;
  },
  { reauth: true, audit: "notification_channel.delete", target: (input) => input.channelId },
);

export const testChannelAction = defineAction("admin", z.object({ channelId }), ({ channelId }) => testChannel(channelId), {
  audit: "notification_channel.test",
  target: (input) => input.channelId,
});
