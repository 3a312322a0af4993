# shellcheck shell=bash disable=SC2034
# scripts/idp/_common.sh — shared helpers for the scripts/idp/* tools. Sourced, not executed.
#
# Settings (environment):
#   DEVICEGATE_IDP_DIR   state directory (default: <repo>/.idp)
#   DEVICEGATE_IDP_PORT  port for `up` (default: 4593)

IDP_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IDP_REPO_ROOT="$(cd "$IDP_SCRIPT_DIR/../.." && pwd)"
IDP_DIR="${DEVICEGATE_IDP_DIR:-$IDP_REPO_ROOT/.idp}"
case "$IDP_DIR" in /*) ;; *) IDP_DIR="$PWD/$IDP_DIR" ;; esac
IDP_ENV_FILE="$IDP_DIR/env"
IDP_CONF="$IDP_DIR/glewlwyd.conf"
IDP_PID_FILE="$IDP_DIR/glewlwyd.pid"
IDP_LOG="$IDP_DIR/glewlwyd.log"
IDP_DB="$IDP_DIR/glewlwyd.db"
IDP_NAME="${0##*/}"

log() { echo "idp/$IDP_NAME: $*" >&2; }
die() { echo "idp/$IDP_NAME: error: $*" >&2; exit "${IDP_DIE_CODE:-1}"; }

# Print the usage block at the top of the calling script (comment lines 2.. up to `set -euo`).
idp_usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; /^# shellcheck /d; s/^# \{0,1\}//'; }

# idp_healthy URL — true if a Glewlwyd answers GET URL/config with JSON.
idp_healthy() {
  local body
  body="$(curl -sS -f --max-time 2 "$1/config" 2>/dev/null)" || return 1
  printf '%s' "$body" | jq -e 'type == "object"' >/dev/null 2>&1
}

# idp_pids — live glewlwyd processes started with this state dir's config file. Bash builtins
# only (no fork per process). A zombie has an empty cmdline, so it is never listed.
idp_pids() {
  local d a0 a1
  for d in /proc/[0-9]*; do
    [ -r "$d/cmdline" ] || continue
    a0="" a1=""
    { IFS= read -r -d '' a0 && IFS= read -r -d '' a1; } 2>/dev/null < "$d/cmdline" || true
    [ "${a0##*/}" = glewlwyd ] && [ "$a1" = "--config-file=$IDP_CONF" ] && echo "${d#/proc/}"
  done
  return 0
}

# idp_stop — stop every Glewlwyd of this state dir (TERM, then KILL after ~3 s).
idp_stop() {
  local pids
  # The pid file is informative only: the processes are found by their command line, so a
  # recycled pid is never killed and a lost pid file does not leave a stale server running.
  pids="$(idp_pids)"
  rm -f "$IDP_PID_FILE"
  [ -n "$pids" ] || return 0
  log "stopping glewlwyd (pid ${pids//$'\n'/ })"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 30); do
    [ -n "$(idp_pids)" ] || return 0
    sleep 0.1
  done
  pids="$(idp_pids)"
  if [ -n "$pids" ]; then
    log "glewlwyd did not stop on TERM; sending KILL"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 1 20); do
      [ -n "$(idp_pids)" ] || return 0
      sleep 0.1
    done
    die "could not stop glewlwyd (pid ${pids//$'\n'/ })"
  fi
}

# idp_load_env — source the env file written by `up` (dies with a hint if missing).
idp_load_env() {
  [ -f "$IDP_ENV_FILE" ] || die "no env file at $IDP_ENV_FILE — run scripts/idp/up first"
  # shellcheck disable=SC1090
  . "$IDP_ENV_FILE"
  : "${DEVICEGATE_IDP_URL:?missing in $IDP_ENV_FILE}"
}

# idp_tmpdir — private temp dir removed on exit; sets IDP_TMP.
idp_tmpdir() {
  IDP_TMP="$(mktemp -d "${TMPDIR:-/tmp}/devicegate-idp.XXXXXX")"
  chmod 700 "$IDP_TMP"
  trap 'rm -rf "$IDP_TMP"' EXIT
}

# idp_plugin_url NAME — base URL of an OIDC plugin instance.
idp_plugin_url() { printf '%s/api/%s' "$DEVICEGATE_IDP_URL" "$1"; }

# idp_require_cmds CMD... — die if a command is missing.
idp_require_cmds() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' not found — run scripts/idp/install"
  done
}
