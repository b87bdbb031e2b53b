import { route } from "@/lib/http";
import { getStorageHistory } from "@/lib/storage/history";
import { storageHistoryQuery } from "@/lib/storage/inputs";

export const GET = route({ access: "read", query: storageHistoryQuery }, ({ query }) =>
  getStorageHistory({ range: query.range, since: query.since, series: query.volume }),
);
