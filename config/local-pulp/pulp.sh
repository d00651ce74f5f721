#!/usr/bin/env bash
# Local Pulp (pulpcore + pulp-python from PyPI) on loopback, for wheelgate's tests.
#
#   bash config/local-pulp/pulp.sh up|down|status
#
# Environment:
#   PULP_LAYOUT        plain | hosted | both (default: both)
#   PULP_UP_TIMEOUT    seconds to wait for a layout to become ready (default: 120)
#   PULP_ALLOWED_HOSTS comma-separated Django ALLOWED_HOSTS (default: 127.0.0.1,localhost)
# These and every other PULP_* / DYNACONF_* variable of the caller are NOT passed to Pulp's
# processes (Pulp would read them as its own settings): they get only PULP_SETTINGS.
#
# Layouts (API_PORT/CONTENT_PORT: see Ports):
#   plain   API http://127.0.0.1:API_PORT/pulp/api/v3/, content http://127.0.0.1:CONTENT_PORT/pulp/content/
#           simple index http://127.0.0.1:API_PORT/pypi/<base_path>/simple/
#   hosted  DOMAIN_ENABLED, API http://127.0.0.1:API_PORT/api/pulp/<domain>/api/v3/ (domain "wheelgate")
#           content http://127.0.0.1:CONTENT_PORT/api/pulp-content/<domain>/<base_path>/
#           simple index http://127.0.0.1:API_PORT/api/pypi/<domain>/<base_path>/simple/
#
# Ports: derived from a hash of this checkout's build area into 24000-29999 (slots of 4: plain
# content/API, hosted content/API; the TLS front, config/front/front.sh, uses 18000-23999), checked
# to be free (else the next slot), kept while the layout runs (<layout>/ports), released by `down`.
# So two checkouts on one machine (a CI clone next to a working tree) run side by side.
#
# Shared machine: `down` stops only this checkout's process groups; PostgreSQL is never stopped
# (other checkouts' Pulps use the same cluster). `clean` drops only this checkout's databases
# (and, for both layouts, its role).
#
# Everything lives under <repo>/.build/pulp/: venv/ (shared), <layout>/ (settings.py, keys,
# media/, static/, tmp/, upload-tmp/, logs/, pids/, ports, cli.toml, env). Connection details for
# clients, while the layout runs: .build/pulp/<layout>/cli.toml (pulp-cli format) and
# .build/pulp/<layout>/env; the admin password is also in .build/pulp/<layout>/admin-password.
#
# Exit status: 0 ok; 1 error; 2 usage; `status` exits 3 when a selected layout is down.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BUILD="$ROOT/.build/pulp"
VENV="$BUILD/venv"
TEMPLATE="$SCRIPT_DIR/settings.py.in"
LEGACY_PG_MARKER="$BUILD/postgres.started-by-pulp.sh" # older pulp.sh; no longer used
PORT_MIN=24000
PORT_SLOTS=1500 # slots of 4 ports: 24000-29999
# The PostgreSQL role and databases are named per build area, so two checkouts on one machine
# (e.g. a CI clone next to a working tree) never reset each other's passwords or encryption key.
BUILD_ID="$(printf '%s' "$BUILD" | sha256sum | cut -c1-8)"
DB_USER="pulp_$BUILD_ID"
db_name() { echo "pulp_$1_$BUILD_ID"; } # layout
DB_PASSWORD_FILE="$BUILD/db-password"
UP_TIMEOUT="${PULP_UP_TIMEOUT:-120}"
STOP_TIMEOUT=30
PROCS=(api content worker-1 worker-2)

umask 022

msg() { echo "pulp.sh: $*" >&2; }
die() { echo "pulp.sh: error: $*" >&2; exit 1; }

usage() {
  echo "usage: [PULP_LAYOUT=plain|hosted|both] bash config/local-pulp/pulp.sh up|down|status|clean" >&2
  exit 2
}

case "${PULP_LAYOUT:-both}" in
  plain) LAYOUTS=(plain) ;;
  hosted) LAYOUTS=(hosted) ;;
  both) LAYOUTS=(plain hosted) ;;
  *) die "PULP_LAYOUT must be plain, hosted or both (got '${PULP_LAYOUT}')" ;;
esac

# --- per-layout parameters ------------------------------------------------------------------
# Sets L_* variables for layout $1.
layout_vars() {
  L_NAME="$1"
  L_DIR="$BUILD/$1"
  L_SETTINGS="$L_DIR/settings.py"
  L_DB="$(db_name "$1")"
  L_PORTS="$L_DIR/ports"
  case "$1" in
    plain)
      L_PORT_OFFSET=0
      L_API_ROOT="/pulp/" L_DOMAIN_ENABLED=False L_DOMAIN="default"
      L_CONTENT_PATH_PREFIX="/pulp/content/" L_PYPI_PATH_PREFIX="/pypi/"
      ;;
    hosted)
      L_PORT_OFFSET=2
      L_API_ROOT="/api/pulp/" L_DOMAIN_ENABLED=True L_DOMAIN="wheelgate"
      L_CONTENT_PATH_PREFIX="/api/pulp-content/" L_PYPI_PATH_PREFIX="/api/pypi/"
      ;;
  esac
  L_API_PORT="" L_CONTENT_PORT=""
}

# Sets the URL variables from L_API_PORT/L_CONTENT_PORT.
layout_urls() {
  L_BASE_URL="http://127.0.0.1:$L_API_PORT"
  L_CONTENT_ORIGIN="http://127.0.0.1:$L_CONTENT_PORT"
  # status/ is also served without a domain segment when DOMAIN_ENABLED.
  L_STATUS_URL="$L_BASE_URL${L_API_ROOT}api/v3/status/"
  if [[ $L_DOMAIN_ENABLED == True ]]; then
    L_API_URL="$L_BASE_URL${L_API_ROOT}$L_DOMAIN/api/v3/"
    L_SIMPLE_URL="$L_BASE_URL${L_PYPI_PATH_PREFIX}$L_DOMAIN/<base_path>/simple/"
    L_CONTENT_URL="$L_CONTENT_ORIGIN${L_CONTENT_PATH_PREFIX}$L_DOMAIN/<base_path>/"
  else
    L_API_URL="$L_BASE_URL${L_API_ROOT}api/v3/"
    L_SIMPLE_URL="$L_BASE_URL${L_PYPI_PATH_PREFIX}<base_path>/simple/"
    L_CONTENT_URL="$L_CONTENT_ORIGIN${L_CONTENT_PATH_PREFIX}<base_path>/"
  fi
}

# --- ports ----------------------------------------------------------------------------------
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# Candidate number $1 (0, 1, ...) of this layout: sets CAND_API CAND_CONTENT.
port_candidate() {
  local slot=$(((0x$BUILD_ID + $1) % PORT_SLOTS))
  CAND_CONTENT=$((PORT_MIN + slot * 4 + L_PORT_OFFSET))
  CAND_API=$((CAND_CONTENT + 1))
}

pick_ports() { # first candidate; sets L_API_PORT L_CONTENT_PORT NEXT_CANDIDATE and the URLs
  local k
  for ((k = $1; k < $1 + 100; k++)); do
    port_candidate "$k"
    if port_free "$CAND_API" && port_free "$CAND_CONTENT"; then
      L_API_PORT=$CAND_API L_CONTENT_PORT=$CAND_CONTENT NEXT_CANDIDATE=$((k + 1))
      layout_urls
      return 0
    fi
  done
  die "[$L_NAME] no free port pair found in $PORT_MIN-$((PORT_MIN + PORT_SLOTS * 4 - 1))"
}

bind_port_of() { # pidfile: the port of the process's --bind 127.0.0.1:PORT argument
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" |
    awk 'p { n = split($0, a, ":"); print a[n]; exit } $0 == "--bind" { p = 1 }'
}

# The ports of the running layout: from <layout>/ports, else (started by an older pulp.sh) from
# the processes' --bind arguments, recorded then. Sets L_API_PORT L_CONTENT_PORT and the URLs.
running_ports() { # uses L_*; call only when layout_procs_alive
  L_API_PORT="$(sed -n 's/^API_PORT=//p' "$L_PORTS" 2>/dev/null | tail -n 1)"
  L_CONTENT_PORT="$(sed -n 's/^CONTENT_PORT=//p' "$L_PORTS" 2>/dev/null | tail -n 1)"
  if [[ ! $L_API_PORT =~ ^[0-9]+$ || ! $L_CONTENT_PORT =~ ^[0-9]+$ ]]; then
    L_API_PORT="$(bind_port_of "$L_DIR/pids/api.pid")"
    L_CONTENT_PORT="$(bind_port_of "$L_DIR/pids/content.pid")"
    [[ $L_API_PORT =~ ^[0-9]+$ && $L_CONTENT_PORT =~ ^[0-9]+$ ]] ||
      die "[$L_NAME] runs, but neither $L_PORTS nor its processes name its ports"
    write_ports
  fi
  layout_urls
}

write_ports() { # uses L_*
  printf 'API_PORT=%s\nCONTENT_PORT=%s\n' "$L_API_PORT" "$L_CONTENT_PORT" >"$L_PORTS.tmp"
  mv "$L_PORTS.tmp" "$L_PORTS"
}

# --- a clean environment for Pulp's processes ---------------------------------------------------
# Pulp (dynaconf) reads every PULP_* variable as a setting (PULP_API_ROOT=/api/pulp/ exported for
# wheelgate's connection would move the API), and DYNACONF_*/..._FOR_DYNACONF and
# DJANGO_SETTINGS_MODULE steer its settings too: Pulp's processes get none of the caller's, only
# what this script sets (PULP_SETTINGS).
CLEAN_ENV=(env)
for _v in $(compgen -e); do
  case "$_v" in
    PULP_* | DYNACONF_* | *_FOR_DYNACONF | DJANGO_SETTINGS_MODULE) CLEAN_ENV+=(-u "$_v") ;;
  esac
done
unset _v
pulp_env() { "${CLEAN_ENV[@]}" PULP_SETTINGS="$L_SETTINGS" "$@"; } # uses L_SETTINGS

# --- process helpers ------------------------------------------------------------------------
# A pid file holds the pid of a process started with setsid: pid == pgid == sid.
# The group counts as ours only if one of its members runs with our PULP_SETTINGS
# (guards against pid reuse after a reboot or a crash).
group_is_ours() { # pgid settings
  local pgid="$1" settings="$2" p
  [[ $pgid =~ ^[0-9]+$ ]] || return 1
  for p in $(pgrep -g "$pgid" 2>/dev/null); do
    if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qxF "PULP_SETTINGS=$settings"; then
      return 0
    fi
  done
  return 1
}

pidfile_alive() { # pidfile settings
  [[ -f $1 ]] || return 1
  group_is_ours "$(cat "$1" 2>/dev/null)" "$2"
}

layout_procs_alive() { # uses L_*
  local p
  for p in "${PROCS[@]}"; do
    pidfile_alive "$L_DIR/pids/$p.pid" "$L_SETTINGS" || return 1
  done
}

stop_layout() { # uses L_*
  local p pgid pids=() waited=0
  for p in "${PROCS[@]}"; do
    local f="$L_DIR/pids/$p.pid"
    [[ -f $f ]] || continue
    pgid="$(cat "$f" 2>/dev/null || true)"
    if group_is_ours "$pgid" "$L_SETTINGS"; then
      kill -TERM -- "-$pgid" 2>/dev/null || true
      pids+=("$pgid")
    fi
  done
  if ((${#pids[@]})); then
    msg "[$L_NAME] stopping process groups ${pids[*]}"
    while ((waited < STOP_TIMEOUT * 10)); do
      local left=0
      for pgid in "${pids[@]}"; do
        if kill -0 -- "-$pgid" 2>/dev/null; then left=1; fi
      done
      ((left)) || break
      sleep 0.1
      waited=$((waited + 1))
    done
    for pgid in "${pids[@]}"; do
      if kill -0 -- "-$pgid" 2>/dev/null && group_is_ours "$pgid" "$L_SETTINGS"; then
        msg "[$L_NAME] process group $pgid did not stop in ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL -- "-$pgid" 2>/dev/null || true
      fi
    done
  fi
  for p in "${PROCS[@]}"; do rm -f "$L_DIR/pids/$p.pid"; done
}

start_proc() { # name command... (uses L_*)
  local name="$1"; shift
  local log="$L_DIR/logs/$name.log"
  echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) pulp.sh starting: $*" >>"$log"
  "${CLEAN_ENV[@]}" PULP_SETTINGS="$L_SETTINGS" setsid "$@" >>"$log" 2>&1 </dev/null &
  echo "$!" >"$L_DIR/pids/$name.pid"
}

start_layout() { # uses L_*
  write_ports
  start_proc api "$VENV/bin/pulpcore-api" --bind "127.0.0.1:$L_API_PORT" --workers 2
  start_proc content "$VENV/bin/pulpcore-content" --bind "127.0.0.1:$L_CONTENT_PORT" --workers 2
  start_proc worker-1 "$VENV/bin/pulpcore-worker"
  start_proc worker-2 "$VENV/bin/pulpcore-worker"
}

# --- readiness ------------------------------------------------------------------------------
# Prints the status JSON on success. Ready = our two workers online (worker names are
# "<pid>@<host>") and at least one content app of our content process group online,
# and the content port answering HTTP.
layout_ready() { # uses L_*
  local json w1 w2 cpids
  json="$(curl -fsS --max-time 5 "$L_STATUS_URL" 2>/dev/null)" || return 1
  w1="$(cat "$L_DIR/pids/worker-1.pid" 2>/dev/null)" || return 1
  w2="$(cat "$L_DIR/pids/worker-2.pid" 2>/dev/null)" || return 1
  cpids="$(pgrep -g "$(cat "$L_DIR/pids/content.pid" 2>/dev/null)" 2>/dev/null | tr '\n' ' ')" || return 1
  jq -e --arg w1 "$w1" --arg w2 "$w2" --arg cpids "$cpids" '
      [.online_workers[].name | split("@")[0]] as $ws
    | ($cpids | split(" ") | map(select(. != ""))) as $cs
    | ($ws | any(. == $w1)) and ($ws | any(. == $w2))
      and ([.online_content_apps[].name | split("@")[0] | select(. as $n | $cs | any(. == $n))]
           | length) >= 1
    ' <<<"$json" >/dev/null || return 1
  curl -sS -o /dev/null --max-time 5 "$L_CONTENT_ORIGIN$L_CONTENT_PATH_PREFIX" 2>/dev/null || return 1
  printf '%s\n' "$json"
}

versions_of() { # status json on stdin
  jq -r '[.versions[] | select(.component == "core" or .component == "python")
          | "\(.component) \(.version)"] | join(", ")'
}

wait_ready() { # uses L_*
  local start=$SECONDS p
  while ((SECONDS - start < UP_TIMEOUT)); do
    if layout_ready >/dev/null; then return 0; fi
    for p in "${PROCS[@]}"; do
      if ! pidfile_alive "$L_DIR/pids/$p.pid" "$L_SETTINGS"; then
        msg "[$L_NAME] process '$p' died during startup"
        dump_logs
        return 1
      fi
    done
    sleep 1
  done
  msg "[$L_NAME] not ready after ${UP_TIMEOUT}s (status: $L_STATUS_URL)"
  dump_logs
  return 1
}

dump_logs() { # uses L_*
  local p
  for p in "${PROCS[@]}"; do
    echo "----- tail of $L_DIR/logs/$p.log -----" >&2
    tail -n 40 "$L_DIR/logs/$p.log" >&2 2>/dev/null || true
  done
}

# --- virtualenv -----------------------------------------------------------------------------
ensure_venv() {
  local marker="$VENV/.pulp-installed"
  if [[ -f $marker && -x $VENV/bin/pulpcore-manager ]]; then
    msg "venv: $(cat "$marker") (already installed)"
    return 0
  fi
  command -v python3 >/dev/null || die "python3 not found"
  mkdir -p "$BUILD"
  if [[ ! -x $VENV/bin/python ]]; then
    msg "creating virtualenv $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  fi
  msg "pip install pulpcore pulp-python (about 30-40 s)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check pulpcore pulp-python >&2 ||
    die "pip install pulpcore pulp-python failed"
  local v
  v="$("$VENV/bin/python" - <<'EOF'
from importlib.metadata import version
print(f"pulpcore {version('pulpcore')}, pulp-python {version('pulp-python')}")
EOF
)"
  echo "$v" >"$marker"
  msg "installed: $v"
}

installed_versions() { cat "$VENV/.pulp-installed" 2>/dev/null || echo "unknown"; }

# --- PostgreSQL -----------------------------------------------------------------------------
psql_su() { # run psql as the postgres superuser on the local socket
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@")
}

# Finds (installs, creates, starts) the local cluster; sets PG_VER PG_CLUSTER PG_PORT.
# pulp.sh never stops it: other checkouts' Pulps on this machine may use it.
ensure_pg_cluster() {
  if ! command -v pg_ctlcluster >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    [[ $(id -u) -eq 0 ]] ||
      die "PostgreSQL server is not installed; run as root or: sudo apt-get install -y postgresql"
    msg "installing PostgreSQL (apt-get install -y postgresql)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 ||
      die "apt-get install postgresql failed"
  fi
  [[ $(id -u) -eq 0 ]] || die "must run as root to manage the local PostgreSQL cluster"

  local line
  # Prefer a cluster named "main", highest version.
  line="$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main"' | sort -k1,1V | tail -n 1)"
  if [[ -z $line ]]; then
    local ver
    ver="$(ls /usr/lib/postgresql/ | sort -V | tail -n 1)"
    [[ -n $ver ]] || die "no PostgreSQL server version found in /usr/lib/postgresql"
    msg "creating PostgreSQL cluster $ver main"
    pg_createcluster "$ver" main >&2 || die "pg_createcluster $ver main failed"
    line="$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"')"
  fi
  read -r PG_VER PG_CLUSTER PG_PORT PG_STATUS _ <<<"$line"
  if [[ $PG_STATUS != online* ]]; then
    msg "starting PostgreSQL $PG_VER/$PG_CLUSTER on 127.0.0.1:$PG_PORT"
    pg_ctlcluster --skip-systemctl-redirect -o "-c listen_addresses=127.0.0.1" \
      "$PG_VER" "$PG_CLUSTER" start >&2 || die "could not start PostgreSQL $PG_VER/$PG_CLUSTER"
  fi
  local i
  for i in $(seq 1 30); do
    psql_su -tAc 'select 1' >/dev/null 2>&1 && break
    sleep 1
  done
  psql_su -tAc 'select 1' >/dev/null || die "PostgreSQL $PG_VER/$PG_CLUSTER is not answering"
  local listen
  listen="$(psql_su -tAc 'show listen_addresses')"
  case "$listen" in
    127.0.0.1 | localhost | "") ;;
    *) msg "warning: PostgreSQL listens on '$listen', not only 127.0.0.1" ;;
  esac
}

ensure_postgres() {
  ensure_pg_cluster

  if [[ ! -s $DB_PASSWORD_FILE ]]; then
    (umask 077 && openssl rand -hex 24 >"$DB_PASSWORD_FILE")
  fi
  DB_PASSWORD="$(cat "$DB_PASSWORD_FILE")"
  # Role (password kept in sync with the build area) and one database per layout.
  local sql="
SELECT 'CREATE ROLE $DB_USER LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \\gexec
ALTER ROLE $DB_USER WITH LOGIN PASSWORD :'pw';
"
  local l db
  for l in plain hosted; do
    db="$(db_name "$l")"
    sql+="SELECT 'CREATE DATABASE $db OWNER $DB_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db') \\gexec
"
  done
  psql_su -v pw="$DB_PASSWORD" <<<"$sql" >&2 || die "could not create PostgreSQL role/databases"
}

# --- layout setup ---------------------------------------------------------------------------
secret_file() { # path generator-command...  (creates once, mode 600)
  local f="$1"; shift
  if [[ ! -s $f ]]; then
    (umask 077 && "$@" >"$f.tmp" && mv "$f.tmp" "$f")
  fi
}

check_literal() { # refuse values that would break the generated Python string literals
  case "$1" in *'"'* | *\\* | *$'\n'*) die "unsupported character in path/value: $1" ;; esac
}

render_settings() { # uses L_*
  local allowed="${PULP_ALLOWED_HOSTS:-127.0.0.1,localhost}" h py_hosts=""
  IFS=',' read -r -a hosts <<<"$allowed"
  for h in "${hosts[@]}"; do
    check_literal "$h"
    py_hosts+="${py_hosts:+, }\"$h\""
  done
  local -A v=(
    [LAYOUT]="$L_NAME"
    [SECRET_KEY]="$(cat "$L_DIR/secret-key")"
    [DB_ENCRYPTION_KEY]="$L_DIR/database_fields.symmetric.key"
    [DB_NAME]="$L_DB" [DB_USER]="$DB_USER" [DB_PASSWORD]="$DB_PASSWORD" [DB_PORT]="$PG_PORT"
    [ALLOWED_HOSTS]="[$py_hosts]"
    [API_ROOT]="$L_API_ROOT" [DOMAIN_ENABLED]="$L_DOMAIN_ENABLED"
    [CONTENT_ORIGIN]="$L_CONTENT_ORIGIN" [CONTENT_PATH_PREFIX]="$L_CONTENT_PATH_PREFIX"
    [PYPI_API_HOSTNAME]="$L_BASE_URL" [PYPI_PATH_PREFIX]="$L_PYPI_PATH_PREFIX"
    [MEDIA_ROOT]="$L_DIR/media" [STATIC_ROOT]="$L_DIR/static"
    [WORKING_DIRECTORY]="$L_DIR/tmp" [FILE_UPLOAD_TEMP_DIR]="$L_DIR/upload-tmp"
  )
  local k content
  content="$(cat "$TEMPLATE")"
  for k in "${!v[@]}"; do
    [[ $k == ALLOWED_HOSTS ]] || check_literal "${v[$k]}"
    content="${content//@$k@/${v[$k]}}"
  done
  if grep -qE '@[A-Z_]+@' <<<"$content"; then
    die "unsubstituted placeholder in $TEMPLATE: $(grep -oE '@[A-Z_]+@' <<<"$content" | sort -u | tr '\n' ' ')"
  fi
  (umask 077 && printf '%s\n' "$content" >"$L_SETTINGS.tmp" && mv "$L_SETTINGS.tmp" "$L_SETTINGS")
}

manager() { pulp_env "$VENV/bin/pulpcore-manager" "$@"; }

prepare_layout() { # uses L_*
  mkdir -p "$L_DIR"/{media,static,tmp,upload-tmp,logs,pids}
  secret_file "$L_DIR/secret-key" openssl rand -hex 32
  if [[ ! -s $L_DIR/database_fields.symmetric.key ]]; then
    # A new build area (new encryption key, empty media/) cannot reuse an old database:
    # encrypted fields would not decrypt and artifacts would be missing. Start it afresh.
    if [[ $(psql_su -d "$L_DB" -tAc "select count(*) from pg_tables where tablename = 'core_task'") == 1 ]]; then
      msg "[$L_NAME] new build area: recreating database $L_DB"
      psql_su -c "DROP DATABASE $L_DB WITH (FORCE)" >&2
      psql_su -c "CREATE DATABASE $L_DB OWNER $DB_USER" >&2
    fi
    rm -f "$L_DIR/.migrated"
  fi
  secret_file "$L_DIR/database_fields.symmetric.key" openssl rand -base64 32
  secret_file "$L_DIR/admin-password" openssl rand -hex 16
  render_settings

  # Migrations: skip when the marker matches the installed versions and the DB has them.
  local want have tables
  want="$(installed_versions) db=$L_DB"
  have="$(cat "$L_DIR/.migrated" 2>/dev/null || true)"
  tables="$(psql_su -d "$L_DB" -tAc "select count(*) from pg_tables where tablename = 'core_task'" 2>/dev/null || echo 0)"
  if [[ $want != "$have" || $tables != 1 ]]; then
    msg "[$L_NAME] pulpcore-manager migrate (about 30 s; log: $L_DIR/logs/migrate.log)"
    if ! manager migrate --noinput >>"$L_DIR/logs/migrate.log" 2>&1; then
      tail -n 40 "$L_DIR/logs/migrate.log" >&2
      die "[$L_NAME] migrate failed"
    fi
    echo "$want" >"$L_DIR/.migrated"
    rm -f "$L_DIR/.admin-password-set"
  fi
  if ! cmp -s "$L_DIR/admin-password" "$L_DIR/.admin-password-set" 2>/dev/null; then
    msg "[$L_NAME] setting admin password"
    manager reset-admin-password --password "$(cat "$L_DIR/admin-password")" \
      >>"$L_DIR/logs/migrate.log" 2>&1 || die "[$L_NAME] reset-admin-password failed"
    cp "$L_DIR/admin-password" "$L_DIR/.admin-password-set"
    chmod 600 "$L_DIR/.admin-password-set"
  fi
}

api() { # method path [json]  (path relative to base url)
  local args=(-fsS --max-time 30 -u "admin:$(cat "$L_DIR/admin-password")" -X "$1"
    -H 'Content-Type: application/json' "$L_BASE_URL$2")
  [[ $# -ge 3 ]] && args+=(--data "$3")
  curl "${args[@]}"
}

ensure_domain() { # uses L_*
  [[ $L_DOMAIN_ENABLED == True ]] || return 0
  local count
  count="$(api GET "${L_API_ROOT}default/api/v3/domains/?name=$L_DOMAIN" | jq -r .count)" ||
    die "[$L_NAME] could not list domains"
  if [[ $count == 0 ]]; then
    msg "[$L_NAME] creating domain '$L_DOMAIN'"
    mkdir -p "$L_DIR/media/domain-$L_DOMAIN"
    api POST "${L_API_ROOT}default/api/v3/domains/" "$(jq -n --arg n "$L_DOMAIN" \
      --arg loc "$L_DIR/media/domain-$L_DOMAIN" \
      '{name: $n, storage_class: "pulpcore.app.models.storage.FileSystem",
        storage_settings: {location: $loc}}')" >/dev/null ||
      die "[$L_NAME] could not create domain '$L_DOMAIN'"
  fi
}

write_client_files() { # uses L_*
  local pw
  pw="$(cat "$L_DIR/admin-password")"
  (
    umask 077
    cat >"$L_DIR/cli.toml.tmp" <<EOF
[cli]
base_url = "$L_BASE_URL"
api_root = "$L_API_ROOT"
domain = "$L_DOMAIN"
username = "admin"
password = "$pw"
verify_ssl = true
format = "json"
EOF
    mv "$L_DIR/cli.toml.tmp" "$L_DIR/cli.toml"
    cat >"$L_DIR/env.tmp" <<EOF
PULP_BASE_URL=$L_BASE_URL
PULP_API_ROOT=$L_API_ROOT
PULP_DOMAIN=$L_DOMAIN
PULP_USERNAME=admin
PULP_PASSWORD=$pw
PULP_CONTENT_ORIGIN=$L_CONTENT_ORIGIN
EOF
    mv "$L_DIR/env.tmp" "$L_DIR/env"
  )
}

# Did this run's start of $1 (api|content) fail because its port was taken?
port_taken() { # name (uses L_*)
  awk '/^=== .* pulp\.sh starting: / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' \
    "$L_DIR/logs/$1.log" 2>/dev/null | grep -qE 'Connection in use|Address already in use'
}

# Brings one layout up; runs in a subshell (possibly in parallel with the other layout).
# Processes it starts are stopped again if the layout does not become ready (or on INT/TERM);
# $L_DIR/.started-by-up tells cmd_up which layouts this run started.
up_layout() {
  layout_vars "$1"
  mkdir -p "$L_DIR"
  if layout_procs_alive; then
    running_ports # keep the ports it runs on: no restart
    if layout_ready >/dev/null; then
      ensure_domain
      write_client_files
      msg "[$L_NAME] already up ($L_BASE_URL)"
      return 0
    fi
  else
    pick_ports 0
  fi
  prepare_layout
  local attempt started=0 t0=$SECONDS
  for attempt in 1 2 3; do
    if ! layout_procs_alive; then
      stop_layout # leftovers of a partial start
      msg "[$L_NAME] starting pulpcore-api :$L_API_PORT, pulpcore-content :$L_CONTENT_PORT, 2 workers"
      trap 'stop_layout; exit 130' INT TERM
      touch "$L_DIR/.started-by-up"
      start_layout
      started=1
    fi
    wait_ready && break
    if ((started)); then
      msg "[$L_NAME] stopping what this up started"
      stop_layout
      if ((attempt < 3)) && { port_taken api || port_taken content; }; then
        msg "[$L_NAME] port $L_API_PORT or $L_CONTENT_PORT was taken meanwhile: trying the next pair"
        pick_ports "${NEXT_CANDIDATE:-1}"
        render_settings
        continue
      fi
    fi
    die "[$L_NAME] failed to start"
  done
  trap - INT TERM
  ensure_domain
  write_client_files
  msg "[$L_NAME] up after $((SECONDS - t0)) s ($L_BASE_URL)"
}

print_layout() { # uses L_*; $1 = up|down, $2 = versions
  echo "$L_NAME: $1"
  echo "  api:      $L_API_URL"
  echo "  simple:   $L_SIMPLE_URL"
  echo "  content:  $L_CONTENT_URL"
  [[ -n ${2:-} ]] && echo "  versions: $2"
  echo "  cli.toml: $L_DIR/cli.toml"
  echo "  env:      $L_DIR/env"
}

# --- commands -------------------------------------------------------------------------------
cmd_up() {
  local t0=$SECONDS l
  # Fast path: everything selected is already up.
  local all_up=1
  for l in "${LAYOUTS[@]}"; do
    layout_vars "$l"
    if ! { layout_procs_alive && running_ports && [[ -f $L_DIR/cli.toml && -f $L_DIR/env ]] &&
      layout_ready >/dev/null; }; then
      all_up=0
      break
    fi
  done
  if ((all_up)); then
    for l in "${LAYOUTS[@]}"; do layout_vars "$l"; running_ports; msg "[$l] already up ($L_API_URL)"; done
    return 0
  fi

  ensure_venv
  ensure_postgres
  export DB_PASSWORD PG_PORT
  for l in "${LAYOUTS[@]}"; do rm -f "$BUILD/$l/.started-by-up"; done
  local pids=() rc=0
  if ((${#LAYOUTS[@]} == 1)); then
    (up_layout "${LAYOUTS[0]}") || rc=1
  else
    trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; exit 130' INT TERM
    for l in "${LAYOUTS[@]}"; do
      (up_layout "$l") &
      pids+=($!)
    done
    for l in "${pids[@]}"; do wait "$l" || rc=1; done
    trap - INT TERM
  fi
  if ((rc != 0)); then
    # A failed up stops what it started (also the layouts that did come up).
    for l in "${LAYOUTS[@]}"; do
      layout_vars "$l"
      if [[ -f $L_DIR/.started-by-up ]]; then
        stop_layout
        rm -f "$L_DIR/ports" "$L_DIR/cli.toml" "$L_DIR/env" "$L_DIR/.started-by-up"
      fi
    done
    die "up failed (logs under $BUILD/<layout>/logs/)"
  fi
  for l in "${LAYOUTS[@]}"; do rm -f "$BUILD/$l/.started-by-up"; done
  msg "up: $(installed_versions); took $((SECONDS - t0)) s"
  for l in "${LAYOUTS[@]}"; do
    layout_vars "$l"
    running_ports
    print_layout up "$(layout_ready | versions_of)" >&2
  done
}

# Stops this checkout's processes of the selected layouts; their ports are released (ports,
# cli.toml and env go). PostgreSQL is not stopped: other checkouts' Pulps may use it.
cmd_down() {
  local l pids=() rc=0
  for l in "${LAYOUTS[@]}"; do # in parallel: each group gets up to STOP_TIMEOUT s
    (layout_vars "$l" && stop_layout && rm -f "$L_PORTS" "$L_DIR/cli.toml" "$L_DIR/env" &&
      msg "[$l] down") &
    pids+=($!)
  done
  for l in "${pids[@]}"; do wait "$l" || rc=1; done
  ((rc == 0)) || die "down failed"
  rm -f "$LEGACY_PG_MARKER"
}

cmd_status() {
  local l rc=0 json
  for l in "${LAYOUTS[@]}"; do
    layout_vars "$l"
    if layout_procs_alive && running_ports && json="$(layout_ready)"; then
      print_layout up "$(versions_of <<<"$json")"
    else
      rc=3
      echo "$L_NAME: down"
      echo "  state:    $L_DIR"
    fi
  done
  return "$rc"
}

# Stops the selected layouts and deletes their data: database, media, settings, secrets, logs.
# The virtualenv (slow to rebuild) and PostgreSQL itself stay (started if it is down, to drop
# the databases; never stopped). Only this checkout's databases and role are dropped.
cmd_clean() {
  local l
  cmd_down
  ensure_pg_cluster
  for l in "${LAYOUTS[@]}"; do
    layout_vars "$l"
    psql_su -c "DROP DATABASE IF EXISTS $L_DB WITH (FORCE)" >&2 || die "could not drop $L_DB"
    rm -rf "$L_DIR"
    msg "[$l] cleaned (database $L_DB dropped, $L_DIR removed)"
  done
  if [[ ${PULP_LAYOUT:-both} == both ]]; then
    psql_su -c "DROP ROLE IF EXISTS $DB_USER" >&2 || msg "warning: could not drop role $DB_USER"
    rm -f "$DB_PASSWORD_FILE"
    msg "role $DB_USER dropped"
  fi
}

[[ $# -eq 1 ]] || usage
case "$1" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  clean) cmd_clean ;;
  *) usage ;;
esac
