import { json, route } from "@/lib/http";
import { createChannelInput } from "@/lib/notify/inputs";
import { createChannel, listChannels } from "@/lib/notify/service";

export const GET = route({ access: "admin" }, async () => ({ items: await listChannels(), next_cursor: null }));

export const POST = route({ access: "admin", body: createChannelInput, audit: "notification_channel.create" }, async ({ body }) =>
  json(await createChannel(body), 201),
);
