#!/usr/bin/env bash
# PostgreSQL for the tests: the suite runs its dialect-neutral files a second time on PostgreSQL and
# has PostgreSQL-only tests, none of them skipped. Uses MIMIR_TEST_PG_URL when set; otherwise makes
# sure a server answers on 127.0.0.1:5432 with trust auth for local TCP (what CI machines have),
# installing PostgreSQL from Debian and starting its cluster when none answers (root with apt).
# The tests also need psql (stock client; scratch databases are made with it).
set -euo pipefail

as_root_with_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! command -v psql >/dev/null 2>&1; then
  if as_root_with_apt; then
    echo "Installing the PostgreSQL client (psql)"
    apt_install postgresql-client
  else
    echo "The tests need psql: sudo apt-get install -y postgresql-client" >&2
    exit 1
  fi
fi

# Somebody else provides the server (CI service, a developer's own): nothing to start.
[ -n "${MIMIR_TEST_PG_URL:-}" ] && exit 0
answers && exit 0

if ! as_root_with_apt; then
  echo "No PostgreSQL answers on 127.0.0.1:5432. Install and start one (sudo apt-get install -y postgresql)," >&2
  echo "with trust auth for 127.0.0.1 and a superuser role named after you, or set MIMIR_TEST_PG_URL." >&2
  exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "Installing PostgreSQL (Debian)"
  apt_install postgresql postgresql-contrib
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
[ -d "/etc/postgresql/$version/main" ] || pg_createcluster "$version" main >/dev/null

# Trust for local TCP, as on CI: first matching line wins, so ours go on top (once).
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -q "mimir-tests" "$hba"; then
  {
    echo "# mimir-tests: trust local TCP for the test suite (scripts/ensure-postgres.sh)"
    echo "host all all 127.0.0.1/32 trust"
    echo "host all all ::1/128 trust"
    cat "$hba"
  } >"$hba.new"
  chown postgres:postgres "$hba.new"
  mv "$hba.new" "$hba"
fi

echo "Starting PostgreSQL $version (cluster main)"
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 1 60); do
  answers && break
  sleep 0.5
done
answers || {
  echo "PostgreSQL $version did not start; see /var/log/postgresql/" >&2
  exit 1
}

# The role the tests connect as (the current user, root on CI) and the databases CI machines have.
me=$(id -un)
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -d postgres <<SQL
SELECT format('CREATE ROLE %I SUPERUSER LOGIN', '$me') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$me') \gexec
SELECT format('CREATE DATABASE %I', d) FROM unnest(ARRAY['$me', 'test']) AS d WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
SQL
