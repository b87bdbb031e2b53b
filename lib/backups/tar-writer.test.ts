import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { tarStream, type TarEntryPlan } from "@/lib/backups/tar-writer";

const MiB = 1024 * 1024;

test("a file that shrank while it was archived is padded with zeros to its listed size, a chunk at a time", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tar-writer-"));
  try {
    const file = path.join(dir, "app.log");
    fs.writeFileSync(file, "0123456789");
    // Listed at 2.5 MiB, as when a log is truncated after the folder was listed.
    const listed = 2.5 * MiB;
    const stat = Object.assign(fs.statSync(file), { size: listed });
    const plan: TarEntryPlan = { root: fs.statSync(dir), directories: [], files: [{ name: "app.log", source: file, stat }], bytes: listed };
    const chunks: Buffer[] = [];
    let reported = 0;
    for await (const chunk of tarStream(plan, (n) => (reported += n))) chunks.push(Buffer.from(chunk));
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(MiB);
    expect(reported).toBe(listed);
    const tar = Buffer.concat(chunks);
    // One header, the body, the two closing blocks (2.5 MiB is a whole number of 512-byte blocks).
    expect(tar.length).toBe(512 + listed + 1024);
    expect(tar.subarray(512, 522).toString()).toBe("0123456789");
    expect(tar.subarray(522, 512 + listed).every((byte) => byte === 0)).toBe(true);
    fs.writeFileSync(path.join(dir, "x.tar"), tar);
    fs.mkdirSync(path.join(dir, "out"));
    execFileSync("tar", ["xf", path.join(dir, "x.tar"), "-C", path.join(dir, "out")]);
    expect(fs.statSync(path.join(dir, "out", "app.log")).size).toBe(listed);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
