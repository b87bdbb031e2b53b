import { route } from "@/lib/http";
import { tokenIdParams } from "@/lib/auth/inputs";
import { getApiToken, revokeApiToken } from "@/lib/auth/tokens";

export const GET = route({ access: "admin", params: tokenIdParams }, ({ params }) => getApiToken(params.tokenId));

export const DELETE = route({ access: "admin", params: tokenIdParams, reauth: true, audit: "token.revoke" }, ({ params }) => revokeApiToken(params.tokenId));
