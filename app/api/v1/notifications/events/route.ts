import { route } from "@/lib/http";
import { describeEvents } from "@/lib/notify/events";

export const GET = route({ access: "read" }, () => ({ items: describeEvents(), next_cursor: null }));
