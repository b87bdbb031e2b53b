import { json, route } from "@/lib/http";
import { createDestinationInput } from "@/lib/offsite/inputs";
import { createDestination, listDestinations } from "@/lib/offsite/destinations";

export const GET = route({ access: "admin" }, async () => ({ items: await listDestinations(), next_cursor: null }));

export const POST = route({ access: "admin", body: createDestinationInput, audit: "offsite.destination_create" }, async ({ body }) =>
  json(await createDestination(body), 201),
);
