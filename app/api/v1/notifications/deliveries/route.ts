import { route } from "@/lib/http";
import { listDeliveriesQuery } from "@/lib/notify/inputs";
import { listDeliveries } from "@/lib/notify/service";

export const GET = route({ access: "admin", query: listDeliveriesQuery }, ({ query }) => listDeliveries(query));
