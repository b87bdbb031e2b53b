import { historyPage } from "../../db.js";

export const dynamic = "force-dynamic";

/** The same 50 rows as our history list, with nothing around them: no auth, logging or metrics. */
export async function GET() {
  return Response.json(await historyPage(50));
}
