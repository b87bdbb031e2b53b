import { route } from "@/lib/http";
import { unknownApiRoute } from "@/lib/api-routes";

// Next.js routes here only when no real /api/v1 route matches the path: the API's JSON envelope with
// 404 instead of the HTML page. Each method asks the scope it would on a real route (read, write,
// admin for DELETE), so credentials are judged before the path, as everywhere else. Not in the
// OpenAPI document: it is no route of its own.
export const GET = route({ access: "read" }, ({ url }) => unknownApiRoute(url));
export const POST = route({ access: "write" }, ({ url }) => unknownApiRoute(url));
export const PUT = route({ access: "write" }, ({ url }) => unknownApiRoute(url));
export const PATCH = route({ access: "write" }, ({ url }) => unknownApiRoute(url));
export const DELETE = route({ access: "admin" }, ({ url }) => unknownApiRoute(url));
