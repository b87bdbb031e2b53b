import { route } from "@/lib/http";
import { destinationIdParams, updateDestinationInput } from "@/lib/offsite/inputs";
import { deleteDestination, getDestination, updateDestination } from "@/lib/offsite/destinations";

export const GET = route({ access: "admin", params: destinationIdParams }, ({ params }) => getDestination(params.destinationId));

export const PUT = route(
  { access: "admin", params: destinationIdParams, body: updateDestinationInput, audit: "offsite.destination_update" },
  ({ params, body }) => updateDestination(params.destinationId, body),
);

export const DELETE = route({ access: "admin", params: destinationIdParams, reauth: true, audit: "offsite.destination_delete" }, ({ params }) =>
  deleteDestination(params.destinationId),
);
