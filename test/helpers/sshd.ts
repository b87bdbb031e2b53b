import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * A real OpenSSH sshd (Debian's openssh-server) on a loopback port, with a throwaway host key, a
 * throwaway user key for the current user (root in CI) and its own config file: nothing of the
 * machine's own sshd setup is read or changed. `diskBytes` puts the remote folder on a tmpfs of
 * that size, mounted in a private mount namespace (`unshare -m`) that only this sshd sees.
 */
export interface TestSshd {
  host: string;
  port: number;
  user: string;
  /** the remote folder (absolute) the destination writes to */
  folder: string;
  /** "SHA256:…" of the host key, as ssh-keygen -lf prints it */
  hostKeyFingerprint: string;
  /** the user key sshd accepts (OpenSSH private key format) */
  privateKey: string;
  /** a key sshd does not accept */
  wrongKey: string;
  /** the user key's file, for ssh/scp/sftp as referees */
  privateKeyFile: string;
  /** a ssh_config file for `scp -F`/`sftp -F` that trusts only this server's host key */
  clientConfigFile: string;
  /** SIGKILL: the server (and every session) dies at once */
  kill(): void;
  /** starts sshd again on the same port with the same or a new host key */
  restart(options?: { newHostKey?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

/**
 * `password`: the user may also log in with this password. sshd (without PAM) checks it against
 * /etc/shadow, so the server runs in a private mount namespace where a copy of /etc/shadow holding
 * this password's hash for the user is bind-mounted over the real one: the machine's own accounts
 * never change.
 */
export async function startTestSshd(options: { diskBytes?: number; sftpOnly?: boolean; port?: number; password?: string } = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-sshd-"));
  fs.chmodSync(dir, 0o700);
  const folder = path.join(dir, "remote");
  fs.mkdirSync(folder, { mode: 0o700 });
  const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "mimir-test", "-f", file]);
  const hostKey = path.join(dir, "host_ed25519");
  keygen(hostKey);
  const userKey = path.join(dir, "user_ed25519");
  keygen(userKey);
  const wrongKey = path.join(dir, "wrong_ed25519");
  keygen(wrongKey);
  fs.copyFileSync(`${userKey}.pub`, path.join(dir, "authorized_keys"));
  fs.chmodSync(path.join(dir, "authorized_keys"), 0o600);
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  // A bench on a shared machine passes one from its own range (BENCH_PORTS); tests take any free one.
  const port = options.port ?? (await freePort());
  const user = os.userInfo().username;
  const configFile = path.join(dir, "sshd_config");
  fs.writeFileSync(
    configFile,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      `PasswordAuthentication ${options.password ? "yes" : "no"}`,
      "KbdInteractiveAuthentication no",
      `PermitRootLogin ${options.password ? "yes" : "prohibit-password"}`,
      "StrictModes no",
      "UsePAM no",
      "Subsystem sftp internal-sftp",
      // sftpOnly: the common hosting setup that allows SFTP and no commands (exec runs internal-sftp instead).
      ...(options.sftpOnly ? ["ForceCommand internal-sftp"] : []),
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const knownHosts = path.join(dir, "known_hosts");
  const clientConfigFile = path.join(dir, "ssh_config");
  fs.writeFileSync(
    clientConfigFile,
    [
      "Host *",
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${userKey}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHosts}`,
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "",
    ].join("\n"),
  );

  let shadowCopy: string | null = null;
  if (options.password) {
    const hash = execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: options.password, encoding: "utf8" }).trim();
    const lines = fs.readFileSync("/etc/shadow", "utf8").split("\n");
    shadowCopy = path.join(dir, "shadow");
    fs.writeFileSync(shadowCopy, lines.map((line) => (line.split(":")[0] === user ? [user, hash, ...line.split(":").slice(2)].join(":") : line)).join("\n"), {
      mode: 0o600,
    });
  }

  let child: ChildProcess | null = null;
  const writeKnownHosts = () =>
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${fs.readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
  const fingerprint = () => execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${hostKey}.pub`], { encoding: "utf8" }).split(" ")[1]!;
  const launch = async () => {
    const sshd = [SSHD, "-D", "-e", "-f", configFile];
    // Mounts only this sshd sees: a small tmpfs for the remote folder, a shadow file with the test password.
    const mounts = [
      ...(options.diskBytes ? [`mount -t tmpfs -o size=${options.diskBytes} tmpfs "$0"`] : []),
      ...(shadowCopy ? [`mount --bind '${shadowCopy}' /etc/shadow`] : []),
    ];
    child = mounts.length
      ? spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", `${mounts.join(" && ")} && exec "$@"`, folder, ...sshd], {
          stdio: ["ignore", "ignore", "pipe"],
        })
      : spawn(sshd[0]!, sshd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (data: Buffer) => (stderr += data.toString()));
    const started = Date.now();
    while (!(await accepts(port))) {
      if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() - started > 15_000) throw new Error(`sshd did not listen on ${port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    writeKnownHosts();
  };
  const stopChild = async (signal: NodeJS.Signals) => {
    const current = child;
    child = null;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once("exit", resolve));
    current.kill(signal);
    await exited;
  };
  await launch();
  const server: TestSshd = {
    host: "127.0.0.1",
    port,
    user,
    folder,
    hostKeyFingerprint: fingerprint(),
    privateKey: fs.readFileSync(userKey, "utf8"),
    wrongKey: fs.readFileSync(wrongKey, "utf8"),
    privateKeyFile: userKey,
    clientConfigFile,
    kill() {
      // The listener and every session process under it (each connection is a child, its user side a grandchild).
      if (child?.pid) for (const pid of [child.pid, ...descendants(child.pid)]) killQuietly(pid, "SIGKILL");
    },
    async restart({ newHostKey = false } = {}) {
      await stopChild("SIGTERM");
      if (newHostKey) {
        fs.rmSync(hostKey);
        fs.rmSync(`${hostKey}.pub`);
        keygen(hostKey);
        server.hostKeyFingerprint = fingerprint();
      }
      await launch();
    },
    async stop() {
      if (child?.pid) for (const pid of descendants(child.pid)) killQuietly(pid, "SIGTERM");
      await stopChild("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Every process below `pid`, found by parent id (never by name: other sshd processes are not ours). */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function killQuietly(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
