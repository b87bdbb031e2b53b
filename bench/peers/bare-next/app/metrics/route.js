import { probe } from "../db.js";
import { METRICS_BODY } from "../../metrics-body.mjs";

export const dynamic = "force-dynamic";

/** The least a scrape can do in Next.js: three trivial reads at once, then a fixed body of the size of ours (Next.js compresses it as it does ours). */
export async function GET() {
  await Promise.all([probe(), probe(), probe()]);
  return new Response(METRICS_BODY, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
}
