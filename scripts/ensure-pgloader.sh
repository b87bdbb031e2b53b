#!/usr/bin/env bash
# Installs pgloader (Debian's package), the peer `npm run bench:postgres` times our migration against.
# Only the bench calls this: `npm test` never needs pgloader. Root with apt-get installs it; anyone
# else gets the exact command to run.
set -euo pipefail

command -v pgloader >/dev/null 2>&1 && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing pgloader (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends pgloader >/dev/null
  exit 0
fi

echo "The PostgreSQL bench needs pgloader. Install it with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y pgloader" >&2
exit 1
