import { route } from "@/lib/http";
import { updateUserInput, userIdParams } from "@/lib/auth/inputs";
import { deleteUser, getUser, updateUser } from "@/lib/auth/users";

export const GET = route({ access: "admin", params: userIdParams }, ({ params }) => getUser(params.userId));

export const PATCH = route(
  { access: "admin", params: userIdParams, body: updateUserInput, reauth: true, audit: "user.update" },
  ({ params, body, principal }) => updateUser(params.userId, body, principal!),
);

export const DELETE = route({ access: "admin", params: userIdParams, reauth: true, audit: "user.delete" }, ({ params, principal }) =>
  deleteUser(params.userId, principal!),
);
