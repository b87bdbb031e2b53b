import { route } from "@/lib/http";
import { destinationIdParams } from "@/lib/offsite/inputs";
import { testDestination } from "@/lib/offsite/destinations";

export const POST = route({ access: "admin", params: destinationIdParams, audit: "offsite.destination_test" }, ({ params }) =>
  testDestination(params.destinationId),
);
