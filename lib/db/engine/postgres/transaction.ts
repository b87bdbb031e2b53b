import "server-only";
import type { Pool, PoolClient } from "pg";

/**
 * Runs `work` on one connection of `pool` inside a transaction: `begin` opens it (BEGIN, or BEGIN
 * with an isolation level), and it commits when `work` resolves, or rolls back when it throws or
 * when `commit` is false (a drill that must change nothing). After a failure the connection is
 * discarded rather than handed to the next caller: it may be mid-COPY, or carry session settings.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, options: { begin?: string; commit?: boolean } = {}): Promise<T> {
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query(options.begin ?? "BEGIN");
    const result = await work(client);
    await client.query(options.commit === false ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (error) {
    failed = error as Error;
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release(failed);
  }
}
