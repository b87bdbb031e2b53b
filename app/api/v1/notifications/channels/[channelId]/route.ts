import { route } from "@/lib/http";
import { channelIdParams, updateChannelInput } from "@/lib/notify/inputs";
import { deleteChannel, getChannel, updateChannel } from "@/lib/notify/service";

export const GET = route({ access: "admin", params: channelIdParams }, ({ params }) => getChannel(params.channelId));

export const PATCH = route({ access: "admin", params: channelIdParams, body: updateChannelInput, audit: "notification_channel.update" }, ({ params, body }) =>
  updateChannel(params.channelId, body),
);

export const DELETE = route({ access: "admin", params: channelIdParams, reauth: true, audit: "notification_channel.delete" }, ({ params }) =>
  deleteChannel(params.channelId),
);
