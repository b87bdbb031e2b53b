import { route } from "@/lib/http";
import { listAlerts } from "@/lib/storage/alerts";
import { alertsQuery } from "@/lib/storage/inputs";

/** Storage alerts: the few rules ever raised, so one page holds them all. */
export const GET = route({ access: "read", query: alertsQuery }, async ({ query }) => ({
  items: (await listAlerts()).filter((alert) => !query.state || alert.state === query.state),
  next_cursor: null,
}));
