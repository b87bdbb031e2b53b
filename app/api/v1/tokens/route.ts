import { json, route } from "@/lib/http";
import { createTokenInput, listTokensQuery } from "@/lib/auth/inputs";
import { createApiToken, listApiTokens } from "@/lib/auth/tokens";

export const GET = route({ access: "admin", query: listTokensQuery }, ({ query }) => listApiTokens(query));

/** The token is in this response and nowhere else, ever. */
export const POST = route({ access: "admin", body: createTokenInput, reauth: true, audit: "token.create" }, async ({ body, principal }) =>
  json(await createApiToken(body, principal!), 201, { "Cache-Control": "no-store" }),
);
