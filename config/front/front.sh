#!/usr/bin/env bash
# The TLS front: Debian's nginx on loopback in front of the local Pulp (config/local-pulp/pulp.sh),
# demanding a client certificate for every path, as the customer-facing index must.
#
#   bash config/front/front.sh up|down|status [plain|hosted|both]
#
# Layout: the argument, else FRONT_LAYOUT, else PULP_LAYOUT, else both.
# Environment: FRONT_UP_TIMEOUT (seconds to wait for a layout's front to answer, default 30).
#
# Per layout everything lives under <repo>/.build/front/<layout>/: nginx.conf + server.conf
# (rendered from config/front/nginx.conf.in), nginx.pid, logs/{error,access}.log, tmp/, and
# front.env (what tests read; see docs/front.md). The throwaway PKI (config/front/pki.sh) is
# shared by both layouts: <repo>/.build/front/pki/ (manifest pki.env).
#
# Ports: two per layout (FRONT_PORT: 403 with reasons; FRONT_STRICT_PORT: ssl_verify_client on),
# derived from a hash of this checkout's build area into 18000-23999 so that two checkouts on one
# machine start apart, checked to be free (else the next candidate), kept while the front runs.
# Only 127.0.0.1 is bound. nginx runs as its own master process (-c/-p); the system nginx
# service, /etc/nginx and other checkouts' fronts are never touched: `down` signals only the pid
# in this checkout's pid file, and only if that process runs this checkout's nginx.conf.
#
# Exit status: 0 ok; 1 error; 2 usage; `status` exits 3 when a selected layout is down.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BUILD="$ROOT/.build/front"
PULP_BUILD="$ROOT/.build/pulp"
TEMPLATE="$SCRIPT_DIR/nginx.conf.in"
PKI_SH="$SCRIPT_DIR/pki.sh"
PKI_DIR="$BUILD/pki"
PORT_MIN=18000
PORT_SLOTS=1000 # slots of 6 ports: 18000-23999 (below the local Pulp's 24000-29999)
UP_TIMEOUT="${FRONT_UP_TIMEOUT:-30}"
STOP_TIMEOUT=10

umask 022

msg() { echo "front.sh: $*" >&2; }
die() { echo "front.sh: error: $*" >&2; exit 1; }
usage() {
  echo "usage: bash config/front/front.sh up|down|status [plain|hosted|both]" >&2
  exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
CMD="$1"
SEL="${2:-${FRONT_LAYOUT:-${PULP_LAYOUT:-both}}}"
case "$SEL" in
  plain) LAYOUTS=(plain) ;;
  hosted) LAYOUTS=(hosted) ;;
  both) LAYOUTS=(plain hosted) ;;
  *) die "layout must be plain, hosted or both (got '$SEL')" ;;
esac
[[ $ROOT != *[[:space:]]* ]] || die "the checkout path must not contain whitespace: $ROOT"

# --- per-layout parameters (paths as in config/local-pulp/pulp.sh layout_vars) ---------------
layout_vars() {
  L_NAME="$1"
  L_DIR="$BUILD/$1"
  L_CONF="$L_DIR/nginx.conf"
  L_SERVER_CONF="$L_DIR/server.conf"
  L_PID="$L_DIR/nginx.pid"
  L_ENV="$L_DIR/front.env"
  L_PORTS="$L_DIR/ports"
  L_ERRLOG="$L_DIR/logs/error.log"
  L_PULP_ENV="$PULP_BUILD/$1/env"
  case "$1" in
    plain)
      L_OFFSET=0 L_INDEX_ROOT=/pypi/ L_CONTENT_ROOT=/pulp/content/ L_API_ROOT=/pulp/api/
      L_INDEX_BASE_RE=/pypi/
      ;;
    hosted) # pulp_python's routes: <PYPI_PATH_PREFIX><slug:pulp_domain>/<path:path>/...
      L_OFFSET=2 L_INDEX_ROOT=/api/pypi/ L_CONTENT_ROOT=/api/pulp-content/ L_API_ROOT=/api/pulp/
      L_INDEX_BASE_RE='/api/pypi/[-a-zA-Z0-9_]+/'
      ;;
  esac
}

env_get() { # file key
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

# --- nginx ------------------------------------------------------------------------------------
NGINX=""
ensure_nginx() {
  NGINX="$(command -v nginx || true)"
  [[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
  [[ -n $NGINX ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "nginx is not installed; run as root or: sudo apt-get install -y nginx"
  msg "installing nginx (apt-get install -y nginx; the system service is not started)"
  # Debian's postinst would start the system nginx on port 80: forbid service starts for the
  # install unless a policy already exists (containers usually have one that says 101).
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from wheelgate config/front/front.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2; } || rc=1
  ((made_policy)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install nginx failed"
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
  [[ -x $NGINX ]] || die "nginx not found after installing it"
}

# The pid counts as ours only if that process is an nginx master running our nginx.conf
# (guards against pid reuse and against other checkouts' fronts).
pid_is_ours() { # pid
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ $cmd == *"nginx: master process"* && $cmd == *" -c $L_CONF "* ]]
}

front_pid() { # prints our master's pid if it runs; uses L_*
  local pid
  pid="$(cat "$L_PID" 2>/dev/null)" || return 1
  pid_is_ours "$pid" || return 1
  echo "$pid"
}

run_nginx() { # args... (uses L_*)
  "$NGINX" -c "$L_CONF" -p "$L_DIR/" -e "$L_ERRLOG" "$@" 8>&- # the master must not inherit our lock
}

# --- ports ------------------------------------------------------------------------------------
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# Prints "PORT STRICT_PORT" for candidate number $1 (0, 1, ...) of this layout.
port_candidate() {
  local h slot
  h="$(printf '%s' "$BUILD" | sha256sum | cut -c1-8)"
  slot=$(((0x$h + $1) % PORT_SLOTS))
  local p=$((PORT_MIN + slot * 6 + L_OFFSET))
  echo "$p $((p + 1))"
}

pick_ports() { # start-candidate; sets PORT STRICT_PORT NEXT_CANDIDATE
  local k p s
  for ((k = $1; k < $1 + 100; k++)); do
    read -r p s <<<"$(port_candidate "$k")"
    if port_free "$p" && port_free "$s"; then
      PORT=$p STRICT_PORT=$s NEXT_CANDIDATE=$((k + 1))
      return 0
    fi
  done
  die "[$L_NAME] no free port pair found in $PORT_MIN-$((PORT_MIN + PORT_SLOTS * 6 - 1))"
}

# --- rendering --------------------------------------------------------------------------------
render() { # out-conf out-server-conf (uses L_*, PORT, STRICT_PORT, PKI_*, PULP_*)
  local user_line="# not root: workers run as the invoking user"
  [[ $(id -u) -eq 0 ]] && user_line="user root root; # our own throwaway instance; temp dirs are ours"
  local -A v=(
    [LAYOUT]="$L_NAME" [STATE]="$L_DIR" [USER_LINE]="$user_line"
    [PORT]="$PORT" [STRICT_PORT]="$STRICT_PORT"
    [INDEX_PREFIX]="$L_INDEX_ROOT" [INDEX_BASE_RE]="$L_INDEX_BASE_RE" [CONTENT_PREFIX]="$L_CONTENT_ROOT" [PULP_API_ROOT]="$L_API_ROOT"
    [PULP_API_ORIGIN]="$PULP_BASE_URL" [PULP_CONTENT_ORIGIN]="$PULP_CONTENT_ORIGIN"
    [SERVER_CERT]="$PKI_SERVER_CERT" [SERVER_KEY]="$PKI_SERVER_KEY" [CLIENT_CAS]="$PKI_CLIENT_CAS"
    [CUSTOMER_CA_DN]="$PKI_CUSTOMER_CA_DN" [INTERNAL_CA_DN]="$PKI_INTERNAL_CA_DN"
  )
  local k content
  content="$(cat "$TEMPLATE")"
  for k in "${!v[@]}"; do
    case "${v[$k]}" in *'"'* | *\\* | *$'\n'* | *';'*) [[ $k == USER_LINE ]] || die "unsupported character in $k: ${v[$k]}" ;; esac
    content="${content//@$k@/${v[$k]}}"
  done
  if grep -qE '@[A-Z_]+@' <<<"$content"; then
    die "unsubstituted placeholder in $TEMPLATE: $(grep -oE '@[A-Z_]+@' <<<"$content" | sort -u | tr '\n' ' ')"
  fi
  # The PKI's creation time makes a renewed PKI a config change (→ reload).
  printf '%s\n# pki: %s\n' "${content%%##SERVER##*}" "$PKI_CREATED" >"$1"
  printf '%s\n' "${content#*##SERVER##}" >"$2"
}

# --- readiness --------------------------------------------------------------------------------
# http code + refusal header of a request: "CODE REFUSAL" (REFUSAL "-" if none).
probe() { # url [curl args...]
  local url="$1"; shift
  local out
  out="$(env -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR curl -sS -o /dev/null --max-time 5 \
    --cacert "$PKI_SERVER_CA" -D - -w '%{http_code}\n' "$@" "$url" 2>/dev/null)" || return 1
  local code ref
  code="$(tail -n 1 <<<"$out")"
  ref="$(grep -i '^x-wheelgate-front-refusal:' <<<"$out" | tr -d '\r' | awk '{print $2}')"
  echo "$code ${ref:--}"
}

front_answers() { # uses L_*, PORT, STRICT_PORT
  [[ $(probe "https://127.0.0.1:$PORT/" || true) == "403 no-certificate" ]] || return 1
  [[ $(probe "https://127.0.0.1:$STRICT_PORT/" | cut -d' ' -f1 || true) == 400 ]] || return 1
}

# Does a request with the customer cert reach Pulp? (Pulp's 404 for a base path nobody has.)
upstream_check() { # uses L_*
  local r
  r="$(probe "https://127.0.0.1:$PORT${INDEX_PREFIX}wheelgate-front-probe/simple/" --cert "$PKI_CLIENT_PEM" || true)"
  case "$r" in
    "404 -") return 0 ;;
    *) msg "[$L_NAME] warning: a request with the customer certificate got '$r' instead of Pulp's 404 (is the local Pulp up? see $L_ERRLOG)"; return 1 ;;
  esac
}

# --- state file -------------------------------------------------------------------------------
write_env() { # uses L_*, PORT, STRICT_PORT, PKI env file $1
  local domain_part=""
  [[ $L_NAME == hosted ]] && domain_part="$PULP_DOMAIN/"
  {
    echo "FRONT_LAYOUT=$L_NAME"
    echo "FRONT_URL=https://127.0.0.1:$PORT"
    echo "FRONT_PORT=$PORT"
    echo "FRONT_STRICT_URL=https://127.0.0.1:$STRICT_PORT"
    echo "FRONT_STRICT_PORT=$STRICT_PORT"
    echo "FRONT_INDEX_PREFIX=$INDEX_PREFIX"
    echo "FRONT_CONTENT_PREFIX=$L_CONTENT_ROOT$domain_part"
    echo "FRONT_CA_BUNDLE=$PKI_SERVER_CA"
    echo "FRONT_CLIENT_CERT=$PKI_CLIENT_PEM"
    echo "FRONT_STAGING_CLIENT_CERT=$PKI_STAGING_PEM"
    echo "FRONT_UPSTREAM_API=$PULP_BASE_URL"
    echo "FRONT_UPSTREAM_CONTENT=$PULP_CONTENT_ORIGIN"
    echo "FRONT_PID_FILE=$L_PID"
    echo "FRONT_ERROR_LOG=$L_ERRLOG"
    echo "FRONT_ACCESS_LOG=$L_DIR/logs/access.log"
    echo "FRONT_PKI_ENV=$1"
    cat "$1"
  } >"$L_ENV.tmp"
  mv "$L_ENV.tmp" "$L_ENV"
}

load_pki() { # pki.env path
  local k val
  while IFS='=' read -r k val; do
    [[ $k == PKI_* ]] && printf -v "$k" '%s' "$val"
  done <"$1"
}

# --- commands ---------------------------------------------------------------------------------
up_layout() {
  layout_vars "$1"
  mkdir -p "$L_DIR"/{logs,tmp}
  exec 8>"$L_DIR/.lock"
  flock -w 60 8 || die "[$L_NAME] another front.sh holds $L_DIR/.lock"
  [[ -f $L_PULP_ENV ]] || die "[$L_NAME] $L_PULP_ENV not found: start the local Pulp first (make pulp-up)"
  PULP_BASE_URL="$(env_get "$L_PULP_ENV" PULP_BASE_URL)"
  PULP_CONTENT_ORIGIN="$(env_get "$L_PULP_ENV" PULP_CONTENT_ORIGIN)"
  PULP_DOMAIN="$(env_get "$L_PULP_ENV" PULP_DOMAIN)"
  [[ -n $PULP_BASE_URL && -n $PULP_CONTENT_ORIGIN && -n $PULP_DOMAIN ]] ||
    die "[$L_NAME] $L_PULP_ENV lacks PULP_BASE_URL, PULP_CONTENT_ORIGIN or PULP_DOMAIN"
  INDEX_PREFIX="$L_INDEX_ROOT"
  [[ $L_NAME == hosted ]] && INDEX_PREFIX="$L_INDEX_ROOT$PULP_DOMAIN/"

  local pki_env
  pki_env="$(bash "$PKI_SH" "$PKI_DIR")" || die "[$L_NAME] could not make the PKI"
  load_pki "$pki_env"

  local pid
  if pid="$(front_pid)"; then
    PORT="$(env_get "$L_PORTS" PORT)" STRICT_PORT="$(env_get "$L_PORTS" STRICT_PORT)"
    [[ -n $PORT && -n $STRICT_PORT ]] || die "[$L_NAME] nginx $pid runs but $L_PORTS is missing"
    render "$L_CONF.new" "$L_SERVER_CONF.new"
    if cmp -s "$L_CONF.new" "$L_CONF" && cmp -s "$L_SERVER_CONF.new" "$L_SERVER_CONF"; then
      rm -f "$L_CONF.new" "$L_SERVER_CONF.new"
    else
      msg "[$L_NAME] configuration changed: reloading nginx $pid"
      cp "$L_CONF" "$L_CONF.old"; cp "$L_SERVER_CONF" "$L_SERVER_CONF.old"
      mv "$L_CONF.new" "$L_CONF"; mv "$L_SERVER_CONF.new" "$L_SERVER_CONF"
      if ! run_nginx -t -q 2>>"$L_ERRLOG"; then
        mv "$L_CONF.old" "$L_CONF"; mv "$L_SERVER_CONF.old" "$L_SERVER_CONF"
        die "[$L_NAME] the new configuration does not pass nginx -t (see $L_ERRLOG)"
      fi
      kill -HUP "$pid"
      sleep 1
    fi
  else
    rm -f "$L_PID"
    local attempt next=0 err="$L_DIR/logs/start.err"
    for attempt in 1 2 3 4 5; do
      pick_ports "$next"
      next=$NEXT_CANDIDATE
      render "$L_CONF" "$L_SERVER_CONF"
      printf 'PORT=%s\nSTRICT_PORT=%s\n' "$PORT" "$STRICT_PORT" >"$L_PORTS"
      run_nginx -t -q 2>"$err" || { cat "$err" >&2; die "[$L_NAME] nginx -t failed for $L_CONF"; }
      if run_nginx </dev/null >/dev/null 2>"$err"; then
        break
      fi
      if grep -q 'Address already in use' "$err" "$L_ERRLOG" 2>/dev/null && ((attempt < 5)); then
        msg "[$L_NAME] port $PORT or $STRICT_PORT was taken meanwhile: trying the next pair"
        continue
      fi
      cat "$err" >&2
      die "[$L_NAME] nginx did not start (see $L_ERRLOG)"
    done
    local i
    for i in $(seq 1 50); do
      pid="$(front_pid)" && break
      sleep 0.1
    done
    [[ -n ${pid:-} ]] || die "[$L_NAME] nginx started but $L_PID names no nginx of ours (see $L_ERRLOG)"
    msg "[$L_NAME] nginx $pid started on 127.0.0.1:$PORT and :$STRICT_PORT"
  fi

  local start=$SECONDS
  until front_answers; do
    ((SECONDS - start < UP_TIMEOUT)) || die "[$L_NAME] the front does not answer on :$PORT/:$STRICT_PORT after ${UP_TIMEOUT}s (see $L_ERRLOG)"
    front_pid >/dev/null || die "[$L_NAME] nginx died (see $L_ERRLOG)"
    sleep 0.2
  done
  upstream_check || true
  write_env "$pki_env"
  msg "[$L_NAME] up: https://127.0.0.1:$PORT$INDEX_PREFIX<base_path>/simple/ (state: $L_ENV)"
}

stop_layout() { # uses L_*
  local pid waited=0
  if pid="$(front_pid)"; then
    kill -QUIT "$pid" 2>/dev/null || true # graceful
    while [[ -e /proc/$pid ]] && pid_is_ours "$pid" && ((waited < STOP_TIMEOUT * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if pid_is_ours "$pid"; then
      msg "[$L_NAME] nginx $pid did not stop in ${STOP_TIMEOUT}s: SIGTERM"
      kill -TERM "$pid" 2>/dev/null || true
      sleep 2
    fi
    msg "[$L_NAME] stopped nginx $pid"
  elif [[ -f $L_PID ]]; then
    msg "[$L_NAME] stale pid file (process $(cat "$L_PID" 2>/dev/null) is not our nginx): removed"
  fi
  rm -f "$L_PID" "$L_ENV"
}

cmd_status() {
  local l rc=0 pid
  for l in "${LAYOUTS[@]}"; do
    layout_vars "$l"
    if pid="$(front_pid)" && [[ -f $L_ENV ]]; then
      PORT="$(env_get "$L_ENV" FRONT_PORT)" STRICT_PORT="$(env_get "$L_ENV" FRONT_STRICT_PORT)"
      PKI_SERVER_CA="$(env_get "$L_ENV" PKI_SERVER_CA)"
      local state=up
      front_answers || { state="not answering"; rc=3; }
      echo "$l: $state (nginx $pid)"
      echo "  url:      $(env_get "$L_ENV" FRONT_URL)$(env_get "$L_ENV" FRONT_INDEX_PREFIX)<base_path>/simple/"
      echo "  strict:   $(env_get "$L_ENV" FRONT_STRICT_URL) (ssl_verify_client on)"
      echo "  upstream: $(env_get "$L_ENV" FRONT_UPSTREAM_API), $(env_get "$L_ENV" FRONT_UPSTREAM_CONTENT)"
      echo "  env:      $L_ENV"
    else
      rc=3
      echo "$l: down"
    fi
  done
  return "$rc"
}

case "$CMD" in
  up)
    ensure_nginx
    for l in "${LAYOUTS[@]}"; do (up_layout "$l") || die "up failed for $l"; done
    ;;
  down) for l in "${LAYOUTS[@]}"; do (layout_vars "$l" && stop_layout); done ;;
  status) cmd_status ;;
  *) usage ;;
esac
