import { route } from "@/lib/http";
import { unknownApiRoute } from "@/lib/api-routes";

// Next.js routes here only when no real /api/v1 route matches the path: the API's JSON envelope with
// 404 instead of the HTML page. Not in the OpenAPI document: it is no route of its own.
export const GET = route({ access: "read" }, ({ url }) => unknownApiRoute(url));
export const POST = route({ access: "read" }, ({ url }) => unknownApiRoute(url));
export const PUT = route({ access: "read" }, ({ url }) => unknownApiRoute(url));
export const PATCH = route({ access: "read" }, ({ url }) => unknownApiRoute(url));
export const DELETE = route({ access: "read" }, ({ url }) => unknownApiRoute(url));
