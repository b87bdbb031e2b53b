import { json, route } from "@/lib/http";
import { createUserInput } from "@/lib/auth/inputs";
import { createUser } from "@/lib/auth/service";
import { getUser, listUsers } from "@/lib/auth/users";
import { pageQuery } from "@/lib/pagination";

export const GET = route({ access: "admin", query: pageQuery }, ({ query }) => listUsers(query));

export const POST = route({ access: "admin", body: createUserInput, reauth: true, audit: "user.create" }, async ({ body }) =>
  json(await getUser((await createUser(body)).id), 201),
);
