import { route } from "@/lib/http";
import { destinationIdParams, pruneDestinationInput } from "@/lib/offsite/inputs";
import { pruneDestination } from "@/lib/offsite/remote-sets";

/** Body: {"dry_run": false} deletes; the default is a dry run that lists what would go. */
export const POST = route(
  { access: "admin", params: destinationIdParams, body: pruneDestinationInput, reauth: true, audit: "offsite.prune" },
  ({ params, body }) => pruneDestination(params.destinationId, { dryRun: body.dry_run }),
);
