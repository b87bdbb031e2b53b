import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { AppError } from "@/lib/errors";

/**
 * Secrets the console must be able to read back (a notification channel's SMTP password or webhook
 * URL, later an offsite destination's keys) are stored sealed: AES-256-GCM under one key that never
 * enters the database or a backup set. The key is MIMIR_SECRET_KEY when set, else a random key in
 * `<config>/secret.key`, created 0600 on first use; backup sets leave that file out (a set holding
 * both the sealed secrets and their key would give them to whoever reads the set). Losing the key loses the sealed secrets (they must
 * be entered again); the rest of the data is untouched.
 */
export const SECRET_KEY_FILE = "secret.key";

/** "v1.<key id>.<base64url(iv | tag | ciphertext)>": the key id tells a wrong key from damaged data. */
const FORMAT = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Seals a UTF-8 string. Reads (or creates) the key. */
export function sealSecret(plaintext: string): string {
  const key = secretKey();
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${FORMAT}.${keyId(key)}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}

/** Opens what sealSecret made; `secret_unreadable` when it was sealed under another key or altered. */
export function openSecret(sealed: string): string {
  const [format, id, data] = sealed.split(".");
  if (format !== FORMAT || !id || data === undefined) throw new AppError("secret_unreadable", "A stored secret is not in a format this version reads");
  const key = secretKey();
  if (id !== keyId(key)) {
    throw new AppError("secret_unreadable", "A stored secret was sealed under another key (MIMIR_SECRET_KEY or config/secret.key changed): enter it again");
  }
  const raw = Buffer.from(data, "base64url");
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch (error) {
    throw new AppError("secret_unreadable", "A stored secret is damaged and cannot be read: enter it again", { cause: error });
  }
}

/** Seals a JSON-able value (an object of named secrets). */
export function sealJson(value: unknown): string {
  return sealSecret(JSON.stringify(value));
}

export function openJson(sealed: string): unknown {
  return JSON.parse(openSecret(sealed));
}

/**
 * Copies the key file of one config folder into another (a restore's staging folder, so the swap
 * keeps the live key: sets do not hold it), replacing a key file there, 0600 and flushed to disk.
 * Returns false, copying nothing, when the source folder has no key file.
 */
export function copySecretKeyFile(fromFolder: string, toFolder: string): boolean {
  let key: Buffer;
  try {
    key = fs.readFileSync(path.join(fromFolder, SECRET_KEY_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  const target = path.join(toFolder, SECRET_KEY_FILE);
  // Removed first: writeFileSync's mode applies only to a file it creates.
  fs.rmSync(target, { force: true });
  const fd = fs.openSync(target, "wx", 0o600);
  try {
    fs.writeSync(fd, key);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function keyId(key: Buffer): string {
  return crypto.createHash("sha256").update(key).digest("base64url").slice(0, 8);
}

function secretKey(): Buffer {
  const config = getConfig();
  // Any string an operator chooses works: it is stretched to 32 bytes; `openssl rand -base64 32` is the advice.
  if (config.secrets.secretKey) return crypto.createHash("sha256").update(config.secrets.secretKey, "utf8").digest();
  return readOrCreateKeyFile(path.join(/*turbopackIgnore: true*/ config.paths.config, SECRET_KEY_FILE));
}

function readOrCreateKeyFile(file: string): Buffer {
  try {
    return decodeKeyFile(file, fs.readFileSync(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // "wx": two processes starting at once cannot both write a key; the loser reads the winner's.
    fs.writeFileSync(file, `${crypto.randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return decodeKeyFile(file, fs.readFileSync(file, "utf8"));
}

function decodeKeyFile(file: string, text: string): Buffer {
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== KEY_BYTES)
    throw new AppError("secret_unreadable", `${path.basename(file)} in the config folder does not hold a ${KEY_BYTES}-byte base64 key`);
  return key;
}
