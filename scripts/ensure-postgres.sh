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

# The newest server Debian's packages installed (postgresql-NN puts its binaries here), or none.
installed_version() { ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | awk -F/ '{print $5}' | sort -V | tail -1; }

# Installing postgresql creates and starts cluster NN/main (postgresql-common's postinst, in the C.UTF-8
# locale when none is configured); inside a container policy-rc.d may forbid the start, so we start it below.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(installed_version)" ]; then
  echo "Installing PostgreSQL (Debian)"
  apt_install postgresql postgresql-contrib
fi
version=$(installed_version)
# A cluster dropped since (or never made: create_main_cluster = off) is made the way the postinst makes it,
# but on the port the tests use and in UTF-8 whatever this shell's locale (POSIX would give SQL_ASCII).
if [ ! -f "/etc/postgresql/$version/main/postgresql.conf" ]; then
  echo "Creating PostgreSQL $version cluster main"
  pg_createcluster --locale C.UTF-8 --port 5432 "$version" main >/dev/null
fi
# Not set in the file means the default, 5432.
port=$(pg_conftool -s "$version" main show port 2>/dev/null || echo 5432)
if [ "$port" != 5432 ]; then
  echo "PostgreSQL $version/main is set to port $port, and nothing answers on 5432: set MIMIR_TEST_PG_URL to it," >&2
  echo "or move it with: pg_conftool $version main set port 5432" >&2
  exit 1
fi

# Trust for local TCP, as on CI: first matching line wins, so ours go on top (once). Same owner and
# mode as the packaged file (postgres, 0640).
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -q "mimir-tests" "$hba"; then
  {
    echo "# mimir-tests: trust local TCP for the test suite (scripts/ensure-postgres.sh)"
    echo "host all all 127.0.0.1/32 trust"
    echo "host all all ::1/128 trust"
    cat "$hba"
  } >"$hba.new"
  chown postgres:postgres "$hba.new"
  chmod 0640 "$hba.new"
  mv "$hba.new" "$hba"
fi

# pg_ctlcluster itself, not systemctl: there may be no systemd (containers, CI). Running already
# (started by the postinst, but deaf to 127.0.0.1 until the lines above): reload instead.
if pg_ctlcluster "$version" main status >/dev/null 2>&1; then
  echo "Reloading PostgreSQL $version (cluster main)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
else
  echo "Starting PostgreSQL $version (cluster main)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 60); do
  answers && break
  sleep 0.5
done
answers || {
  echo "PostgreSQL $version did not start; see /var/log/postgresql/postgresql-$version-main.log" >&2
  exit 1
}

# The role the tests connect as (the current user, root on CI) and the databases CI machines have.
me=$(id -un)
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -d postgres <<SQL
SELECT format('CREATE ROLE %I SUPERUSER LOGIN', '$me') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$me') \gexec
SELECT format('CREATE DATABASE %I', d) FROM unnest(ARRAY['$me', 'test']) AS d WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
SQL
