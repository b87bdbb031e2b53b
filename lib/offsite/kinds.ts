import { z } from "zod";
import type { KindFieldSpec } from "@/lib/kind-fields";

/**
 * The kinds of offsite destination: their settings (stored as they are), their secrets (stored
 * sealed, never returned or shown again) and the fields the Backups page asks for. No server-only
 * code: the form reads it too. Each kind's protocol lives in lib/offsite/stores/<kind>.ts.
 */

/** A path inside the destination: "/"-separated, no "..", no leading slash needed. */
const remoteFolder = z
  .string()
  .trim()
  .max(1024)
  .refine((value) => !value.split("/").includes(".."), "a folder without '..' in it")
  .default("");

const hostName = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, "a host name or IP address");

// No user:password@ inside a URL: the credentials belong in the secret fields, and a URL is shown again.
const httpUrl = z
  .url({ protocol: /^https?$/, error: "an http(s) URL" })
  .max(2048)
  .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), "an http(s) URL without user:password@ in it (put credentials in the secret fields)");

export const DESTINATION_KINDS = {
  folder: {
    label: "Mounted folder (NFS, SMB, USB disk)",
    settings: z.object({
      path: z
        .string()
        .trim()
        .min(1)
        .max(1024)
        .refine((value) => value.startsWith("/"), "an absolute path (the mount point, e.g. /mnt/offsite)"),
    }),
    secrets: z.object({}),
    fields: [{ name: "path", label: "Folder", placeholder: "/mnt/offsite/mimir", help: "must exist: an unmounted share is refused, never written to" }],
  },
  sftp: {
    label: "SFTP (SSH)",
    settings: z.object({
      host: hostName,
      port: z.coerce.number().int().min(1).max(65535).default(22),
      user: z.string().trim().min(1).max(255),
      folder: remoteFolder,
    }),
    secrets: z.object({
      password: z.string().max(4096).optional(),
      private_key: z
        .string()
        .max(16384)
        .refine((value) => value === "" || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value), "a private key in OpenSSH or PEM format")
        .optional(),
      passphrase: z.string().max(4096).optional(),
    }),
    fields: [
      { name: "host", label: "Host", placeholder: "backup.example.com" },
      { name: "port", label: "Port", type: "number", placeholder: "22" },
      { name: "user", label: "User", placeholder: "mimir" },
      { name: "folder", label: "Remote folder", placeholder: "backups/mimir", help: "relative to the user's home, or absolute" },
      { name: "password", label: "Password", secret: true, help: "or a private key" },
      { name: "private_key", label: "Private key", secret: true, type: "textarea", placeholder: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      { name: "passphrase", label: "Key passphrase", secret: true },
    ],
  },
  s3: {
    label: "S3-compatible (AWS, B2, R2, Wasabi, MinIO, Garage)",
    settings: z.object({
      endpoint: httpUrl.optional(),
      region: z.string().trim().min(1).max(64).default("us-east-1"),
      bucket: z
        .string()
        .trim()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "a bucket name (3-63 lower-case letters, digits, dots and dashes)"),
      prefix: remoteFolder,
      path_style: z.boolean().default(false),
      access_key_id: z.string().trim().min(1).max(256),
    }),
    secrets: z.object({ secret_access_key: z.string().min(1).max(4096) }),
    fields: [
      { name: "endpoint", label: "Endpoint", placeholder: "https://s3.eu-central-003.backblazeb2.com", help: "empty for AWS" },
      { name: "region", label: "Region", placeholder: "us-east-1" },
      { name: "bucket", label: "Bucket", placeholder: "mimir-backups" },
      { name: "prefix", label: "Prefix", placeholder: "prod/" },
      { name: "path_style", label: "Path-style addressing (MinIO, Garage)", type: "checkbox" },
      { name: "access_key_id", label: "Access key id" },
      { name: "secret_access_key", label: "Secret access key", secret: true },
    ],
  },
  webdav: {
    label: "WebDAV",
    settings: z.object({ url: httpUrl, user: z.string().trim().max(255).default("") }),
    secrets: z.object({ password: z.string().max(4096).optional() }),
    fields: [
      { name: "url", label: "URL", placeholder: "https://dav.example.com/remote.php/dav/files/mimir/backups" },
      { name: "user", label: "User" },
      { name: "password", label: "Password", secret: true },
    ],
  },
} satisfies Record<string, { label: string; settings: z.ZodObject; secrets: z.ZodObject; fields: KindFieldSpec[] }>;

export type DestinationKind = keyof typeof DESTINATION_KINDS;
export const DESTINATION_KIND_NAMES = Object.keys(DESTINATION_KINDS) as [DestinationKind, ...DestinationKind[]];
export type DestinationSettings<K extends DestinationKind> = z.output<(typeof DESTINATION_KINDS)[K]["settings"]>;
export type DestinationSecrets<K extends DestinationKind> = z.output<(typeof DESTINATION_KINDS)[K]["secrets"]>;
