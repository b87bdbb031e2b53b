import "server-only";
import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { pipelines } from "@/lib/db/schema";

export async function countPipelines(): Promise<number> {
  const [row] = await getDb().select({ n: sql<number>`count(*)` }).from(pipelines);
  return row?.n ?? 0;
}
