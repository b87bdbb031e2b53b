import { probe } from "../db.js";

export const dynamic = "force-dynamic";

/** The least a health route can do: one query that proves the database answers. */
export async function GET() {
  await probe();
  return Response.json({ status: "ok" });
}
