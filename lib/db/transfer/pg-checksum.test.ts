import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";
import { canonical, checksumForm, TableChecksum, type ColumnKind } from "@/lib/db/transfer/canonical";
import { connectPg, pgChecksum } from "@/lib/db/transfer/to-postgres";
import type { ColumnShape } from "@/lib/db/transfer/shape";

let scratch: ScratchDatabase;
beforeAll(async () => {
  scratch = await createScratchDatabase({ label: "checksum", migrate: false });
});
afterAll(() => scratch.drop());

const columns: ColumnShape[] = (
  [
    ["id", "text"],
    ["at", "timestamp"],
    ["n", "integer"],
    ["note", "text"],
  ] as [string, ColumnKind][]
).map(([name, kind]) => ({ name, kind, notNull: false, hasDefault: false, sequence: null }));

const rows: (string | null)[][] = [
  ["a", "2025-01-15T02:00:00.000Z", "1", "plain"],
  ["b", "2025-01-15T02:00:00.120Z", "-9007199254740993", "tab\there, line\nbreak, back\\slash"],
  ["c", null, null, null],
  ["d", "1999-12-31T23:59:59.999Z", "0", "ünïcødé ✓"],
];

function expected(values: (string | null)[][]): string {
  const checksum = new TableChecksum();
  for (const row of values) checksum.add(row.map((v, i) => checksumForm(columns[i]!.kind, canonical(columns[i]!.kind, v) as string | null)));
  return checksum.hex;
}

describe("pgChecksum (the target side of the migration's verification)", () => {
  it("equals the source's checksum of the same rows whatever the session's DateStyle and TimeZone, and tells a 1 ms difference apart", async () => {
    const client = await connectPg(scratch.url);
    try {
      await client.query("CREATE TABLE t (id text, at timestamp(3) with time zone, n bigint, note text)");
      for (const row of rows) await client.query("INSERT INTO t VALUES ($1, $2, $3, $4)", row);
      await client.query("SET DateStyle = 'SQL, DMY'");
      await client.query("SET TimeZone = 'Asia/Kolkata'");
      await client.query("BEGIN");
      const checksum = await pgChecksum(client, "t", columns);
      expect(checksum.rows).toBe(rows.length);
      expect(checksum.hex).toBe(expected(rows));
      // The session's own settings are back once the checksum is taken.
      expect((await client.query("SELECT current_setting('DateStyle') AS s")).rows[0].s).toBe("SQL, DMY");
      await client.query("COMMIT");

      await client.query("UPDATE t SET at = at + interval '1 millisecond' WHERE id = 'd'");
      expect((await pgChecksum(client, "t", columns)).hex).not.toBe(expected(rows));
    } finally {
      await client.end();
    }
  });
});
