import { route } from "@/lib/http";
import { destinationIdParams } from "@/lib/offsite/inputs";
import { listRemoteSets } from "@/lib/offsite/remote-sets";

export const GET = route({ access: "admin", params: destinationIdParams }, async ({ params }) => ({
  items: await listRemoteSets(params.destinationId),
  next_cursor: null,
}));
