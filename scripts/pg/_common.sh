# shellcheck shell=bash
# Shared by scripts/pg/up and scripts/pg/down: where the throwaway cluster lives, who runs it.
PG_DIR="${DEVICEGATE_PG_DIR:-${TMPDIR:-/tmp}/devicegate-pg}"
PG_DATA="$PG_DIR/data"
PG_SOCKETS="$PG_DIR/sockets"
PG_URL_FILE="$PG_DIR/url"
PG_LOG="$PG_DIR/postgres.log"

log() { echo "pg: $*" >&2; }
die() { echo "pg: $*" >&2; exit "${PG_DIE_CODE:-1}"; }

pg_usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }

# The newest installed server's binaries (Debian keeps them out of PATH).
pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# initdb and the server refuse to run as root: as root, run them as the `postgres` user the
# Debian package creates; as anyone else, as that user.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
