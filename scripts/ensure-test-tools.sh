#!/usr/bin/env bash
# Installs the stock tools the tests use as referees (Chromium for e2e, sqlite3, gpg, promtool, python3, OpenSSH) and the
# servers they start (OpenSSH sshd, Apache mod_dav and rclone for WebDAV) when missing.
# Root with apt-get installs them; anyone else gets the exact command to run.
set -euo pipefail

missing=()
chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium_path" ] || missing+=(chromium)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
# promtool checks /metrics; Debian ships it in the prometheus package (about 10 s to install here).
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# python3's tarfile crafts the hostile archives of the backup tests; unshare (util-linux) gives them a private tmpfs
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
# The offsite tests start their own OpenSSH sshd on a loopback port (with its own config and throwaway keys);
# ssh-keygen and scp (openssh-client) make the keys and are the bench's peer; ssh and sftp
# carry SFTP uploads (lib/offsite/stores/openssh.ts), and ssh-keyscan reads the test server's key.
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v scp >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 && command -v sftp >/dev/null 2>&1 || missing+=(openssh-client)
# Apache httpd with mod_dav_fs is the WebDAV server the offsite tests start (apache2-bin: the binary and
# modules only, no service that would start on port 80); rclone serves WebDAV too, a second implementation.
[ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_dav_fs.so ] || missing+=(apache2-bin)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
# openssl makes the throwaway TLS certificate of the outbound-agent test.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing test tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "The tests need: ${missing[*]}. Install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
echo "(or set CHROMIUM_PATH to a Chromium binary)" >&2
exit 1
