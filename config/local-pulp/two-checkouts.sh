#!/usr/bin/env bash
# Two checkouts on one machine: `pulp.sh down` and `clean` in one leave the other's Pulp answering.
# Run by `make test` (target test-shared-machine), after `make pulp-up` brought up this checkout's
# Pulp (the first checkout, both layouts).
#
#   bash config/local-pulp/two-checkouts.sh
#
# The second checkout is a temporary directory holding this tree's Makefile and config/local-pulp/
# (all that `make pulp-*` needs: pulp.sh finds its build area from its own path) and a link to
# this checkout's virtualenv (so pip does not run again). In it, in the plain layout:
#   1. an `up` that cannot become ready (PULP_UP_TIMEOUT=1) fails and leaves none of its
#      processes running (it runs the migrations, ~30 s, so the next step is quick);
#   2. `up` with PULP_* variables exported that would move Pulp if it read them (PULP_API_ROOT,
#      PULP_CONTENT_ORIGIN, ...) comes up where its cli.toml says, on ports of its own, while the
#      first checkout's Pulp keeps answering on its own;
#   3. a second `up` keeps the running processes (same pids, same ports);
#   4. `make pulp-down` stops only its processes: PostgreSQL stays online, the first checkout
#      answers (both layouts);
#   5. `make clean-pulp` drops only its databases and role: the first checkout answers.
# On any exit the second checkout is cleaned and removed (an EXIT trap), so nothing of it keeps
# running after a failure.
#
# Exit status: 0 proven; 1 a check failed (the message says which); 2 the first checkout's Pulp
# is not up (run `make pulp-up`).

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
FIRST="$ROOT/.build/pulp"
T0=$SECONDS

say() { echo "two-checkouts: $*" >&2; }
fail() { echo "two-checkouts: FAILED: $*" >&2; exit 1; }

toml_get() { # file key
  sed -n "s/^$2 = \"\(.*\)\"$/\1/p" "$1" | head -n 1
}

# Does the Pulp whose cli.toml is $1 answer GET status/ with online workers?
answers() { # cli.toml
  [[ -f $1 ]] || return 1
  local base root
  base="$(toml_get "$1" base_url)" root="$(toml_get "$1" api_root)"
  [[ -n $base && -n $root ]] || return 1
  curl -fsS --max-time 10 "$base${root}api/v3/status/" 2>/dev/null |
    jq -e '(.online_workers | length) > 0 and (.online_content_apps | length) > 0' >/dev/null
}

first_answers() { # what: prints which layout does not
  local l
  for l in plain hosted; do
    answers "$FIRST/$l/cli.toml" || fail "$1: the first checkout's $l Pulp ($(toml_get "$FIRST/$l/cli.toml" base_url)) does not answer"
  done
}

for l in plain hosted; do
  if ! answers "$FIRST/$l/cli.toml"; then
    echo "two-checkouts: the first checkout's $l Pulp is not up ($FIRST/$l/cli.toml); run make pulp-up" >&2
    exit 2
  fi
done

SECOND="$(mktemp -d "${TMPDIR:-/tmp}/wheelgate-second-checkout.XXXXXX")"
SECOND_PULP=(bash "$SECOND/config/local-pulp/pulp.sh")
AREA2="$SECOND/.build/pulp"
LOG="$SECOND.log"

# pids of processes that run with a settings file of the second checkout
second_pids() {
  local f p
  for f in /proc/[0-9]*/environ; do
    p="${f#/proc/}" p="${p%/environ}"
    if tr '\0' '\n' 2>/dev/null <"$f" | grep -q "^PULP_SETTINGS=$AREA2/"; then echo "$p"; fi
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -d $SECOND/config ]]; then
    PULP_LAYOUT=both "${SECOND_PULP[@]}" clean >>"$LOG" 2>&1 || say "warning: clean of $SECOND failed (log: $LOG)"
    local left
    left="$(second_pids | tr '\n' ' ')"
    if [[ -n $left ]]; then
      say "warning: processes of the second checkout still ran after clean: $left (killed)"
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null || true
    fi
  fi
  rm -rf "$SECOND"
  if ((rc == 0)); then rm -f "$LOG"; else say "log of the second checkout's pulp.sh runs: $LOG"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$SECOND/config/local-pulp" "$AREA2"
cp "$SCRIPT_DIR/pulp.sh" "$SCRIPT_DIR/settings.py.in" "$SECOND/config/local-pulp/"
cp "$ROOT/Makefile" "$SECOND/"
if [[ -f $FIRST/venv/.pulp-installed ]]; then ln -s "$FIRST/venv" "$AREA2/venv"; fi
say "second checkout: $SECOND"

# 1. A failed up stops what it started.
say "1. an up that cannot become ready (PULP_UP_TIMEOUT=1; runs the migrations, ~30 s)"
if PULP_LAYOUT=plain PULP_UP_TIMEOUT=1 "${SECOND_PULP[@]}" up >>"$LOG" 2>&1; then
  fail "up with PULP_UP_TIMEOUT=1 succeeded; expected it to fail"
fi
left="$(second_pids | tr '\n' ' ')"
[[ -z $left ]] || fail "the failed up left processes running: $left"
[[ ! -e $AREA2/plain/cli.toml ]] || fail "the failed up left $AREA2/plain/cli.toml behind"
say "   ok: up failed and no process of it runs"

# 2. Pulp's processes get a clean PULP_* environment; ports of its own; both answer.
say "2. up with PULP_API_ROOT=/api/pulp/ (and more PULP_* settings) exported"
if ! PULP_LAYOUT=plain PULP_API_ROOT=/api/pulp/ PULP_CONTENT_ORIGIN=http://127.0.0.1:9 \
  PULP_DOMAIN_ENABLED=true DYNACONF_API_ROOT=/x/ "${SECOND_PULP[@]}" up >>"$LOG" 2>&1; then
  tail -n 40 "$LOG" >&2
  fail "up in the second checkout failed"
fi
CLI2="$AREA2/plain/cli.toml"
[[ $(toml_get "$CLI2" api_root) == /pulp/ ]] || fail "second checkout's cli.toml has api_root $(toml_get "$CLI2" api_root)"
answers "$CLI2" || fail "the second checkout's Pulp does not answer at $(toml_get "$CLI2" base_url)/pulp/api/v3/status/"
api_pid="$(cat "$AREA2/plain/pids/api.pid")"
if tr '\0' '\n' <"/proc/$api_pid/environ" | grep -E '^(PULP_|DYNACONF_)' | grep -qv '^PULP_SETTINGS='; then
  fail "pulpcore-api $api_pid got the caller's PULP_*/DYNACONF_* variables"
fi
base1="$(toml_get "$FIRST/plain/cli.toml" base_url)" base1h="$(toml_get "$FIRST/hosted/cli.toml" base_url)"
base2="$(toml_get "$CLI2" base_url)"
[[ $base2 != "$base1" && $base2 != "$base1h" ]] || fail "both checkouts use $base2"
first_answers "after the second checkout's up"
say "   ok: first $base1 (plain), $base1h (hosted); second $base2; only PULP_SETTINGS passed to Pulp"

# 3. up on a running Pulp keeps it.
say "3. up again in the second checkout"
PULP_LAYOUT=plain "${SECOND_PULP[@]}" up >>"$LOG" 2>&1 || fail "the second up failed"
[[ $(cat "$AREA2/plain/pids/api.pid") == "$api_pid" && $(toml_get "$CLI2" base_url) == "$base2" ]] ||
  fail "the second up restarted Pulp or moved it (api pid $api_pid -> $(cat "$AREA2/plain/pids/api.pid"), $base2 -> $(toml_get "$CLI2" base_url))"
say "   ok: same processes, same ports"

# 4. down stops only the second checkout's processes, never PostgreSQL.
say "4. make pulp-down in the second checkout"
PULP_LAYOUT=both make -s -C "$SECOND" pulp-down >>"$LOG" 2>&1 || fail "make pulp-down in the second checkout failed"
left="$(second_pids | tr '\n' ' ')"
[[ -z $left ]] || fail "down left processes of the second checkout running: $left"
! curl -fsS --max-time 3 "$base2/pulp/api/v3/status/" >/dev/null 2>&1 || fail "$base2 still answers after down"
pg_lsclusters -h | awk '{print $4}' | grep -q online || fail "no PostgreSQL cluster online after down"
first_answers "after the second checkout's down"
say "   ok: second stopped, PostgreSQL online, first checkout answers (both layouts)"

# 5. clean drops only the second checkout's databases and role.
say "5. make clean-pulp in the second checkout"
PULP_LAYOUT=both make -s -C "$SECOND" clean-pulp >>"$LOG" 2>&1 || fail "make clean-pulp in the second checkout failed"
id2="$(printf '%s' "$AREA2" | sha256sum | cut -c1-8)"
left="$(cd / && runuser -u postgres -- psql -X -tA -c \
  "select datname from pg_database where datname like '%\\_$id2' union all select rolname from pg_roles where rolname = 'pulp_$id2'")"
[[ -z $left ]] || fail "clean left behind: $left"
first_answers "after the second checkout's clean"
say "   ok: its databases and role dropped; first checkout answers (both layouts)"

say "proven in $((SECONDS - T0)) s"
