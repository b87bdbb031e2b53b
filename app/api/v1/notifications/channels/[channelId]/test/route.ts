import { route } from "@/lib/http";
import { channelIdParams } from "@/lib/notify/inputs";
import { testChannel } from "@/lib/notify/service";

export const POST = route({ access: "admin", params: channelIdParams, audit: "notification_channel.test" }, ({ params }) => testChannel(params.channelId));
