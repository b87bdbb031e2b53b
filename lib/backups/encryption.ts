import "server-only";
import { Duplex, PassThrough, Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type * as OpenPgp from "openpgp";
import { AppError } from "@/lib/errors";

// Loaded on first use: ~14 MB that a console without a backup passphrase never needs.
const loadOpenPgp = (): Promise<typeof OpenPgp> => import("openpgp");

/**
 * OpenPGP, passphrase-based, with openpgp.js defaults: AES-256, CFB + MDC (SEIPD v1), iterated and
 * salted S2K with SHA-256 — what `gpg --batch --passphrase … --decrypt` (GnuPG 2.2) opens. AEAD stays
 * off: GnuPG 2.2 cannot read it. Both directions stream, so memory stays flat.
 */
export function encryptStream(passphrase: string): Duplex {
  return asyncDuplex(async (input) => {
    const openpgp = await loadOpenPgp();
    const message = await openpgp.createMessage({ binary: toWeb(input) });
    const encrypted = await openpgp.encrypt({ message, passwords: [passphrase], format: "binary", config: { aeadProtect: false } });
    return Readable.fromWeb(encrypted as WebReadableStream<Uint8Array>);
  });
}

/**
 * Decrypts as a stream. The plaintext is released before the integrity tag at the end is checked
 * (buffering it all takes about 3× the archive in memory), so the caller writes it to a staging area
 * only and trusts nothing until this stream has ended without an error. A wrong passphrase fails at
 * once with `wrong_passphrase`.
 */
export function decryptStream(passphrase: string, maxBytes: number): Duplex {
  return asyncDuplex(async (input) => {
    const openpgp = await loadOpenPgp();
    let message: OpenPgp.Message<OpenPgp.MaybeStream<Uint8Array>>;
    try {
      message = await openpgp.readMessage({ binaryMessage: toWeb(input) });
    } catch (error) {
      throw new AppError("invalid_archive", `The archive is not an OpenPGP message: ${(error as Error).message}`, { cause: error });
    }
    try {
      const { data } = await openpgp.decrypt({
        message,
        passwords: [passphrase],
        format: "binary",
        config: { allowUnauthenticatedStream: true, maxDecompressedMessageSize: maxBytes },
      });
      return Readable.fromWeb(data as WebReadableStream<Uint8Array>);
    } catch (error) {
      throw new AppError("wrong_passphrase", "The backup passphrase does not open this archive (wrong passphrase, or the archive is damaged)", {
        cause: error,
      });
    }
  });
}

function toWeb(input: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
}

/** A duplex whose readable side comes from async setup that needs the writable side already flowing. */
function asyncDuplex(setup: (input: Readable) => Promise<Readable>): Duplex {
  const input = new PassThrough();
  const output = new PassThrough();
  setup(input).then(
    (readable) => {
      readable.on("error", (error) => output.destroy(error));
      readable.pipe(output);
    },
    (error) => {
      output.destroy(error);
      input.resume();
    },
  );
  return Duplex.from({ writable: input, readable: output });
}
