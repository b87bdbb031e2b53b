import { expect, test } from "vitest";
import { createStore } from "@/lib/offsite/registry";
import { createSftpStore } from "@/lib/offsite/stores/sftp";
import { createS3Store } from "@/lib/offsite/stores/s3";

// The copy engine branches on which optional methods a store has (putFile, serverSha256, prepareUpload,
// serverIdentity): the stand-in that loads a kind's SDK on first use must offer exactly the kind's own.
const optional = ["putFile", "serverSha256", "prepareUpload", "serverIdentity"] as const;
const offered = (store: object) => optional.filter((name) => typeof (store as Record<string, unknown>)[name] === "function");

test("a lazily loaded SFTP store offers the same optional methods as the SFTP store itself", async () => {
  const settings = { host: "127.0.0.1", port: 1, user: "backup", password: "x", folder: "/backups" };
  const lazy = createStore("sftp", { settings, secrets: {}, pinnedIdentity: null });
  const real = createSftpStore({ ...settings, host_key_fingerprint: null });
  expect(offered(lazy)).toEqual(offered(real));
  // Nothing connected yet: no identity seen, and closing loads and opens nothing.
  expect(lazy.serverIdentity?.()).toBeNull();
  await lazy.close();
  await real.close();
});

test("a lazily loaded S3 store offers the same optional methods as the S3 store itself", async () => {
  const settings = { endpoint: "http://127.0.0.1:1", region: "us-east-1", bucket: "b", prefix: "", path_style: true, access_key_id: "k" };
  const lazy = createStore("s3", { settings, secrets: { secret_access_key: "s" }, pinnedIdentity: null });
  const real = createS3Store({ endpoint: settings.endpoint, region: settings.region, bucket: "b", accessKeyId: "k", secretAccessKey: "s" });
  expect(offered(lazy)).toEqual(offered(real));
  await lazy.close();
  await real.close();
});
