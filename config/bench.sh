#!/usr/bin/env bash
# `make bench`: wheelgate upload side by side with what a user would otherwise pick, on the
# same local Pulp (plain layout), in one run. Writes docs/benchmarks.md. A benchmark, not a test.
#
#   BENCH_SMALL_COUNT  wheels of 10-100 KB per tool (default 300)
#   BENCH_BIG_BYTES    size of the big wheel (default 1 GiB; 0 skips that workload)
#   BENCH_TOOLS        subset of: wheelgate pulpcli uv curl (default all)
#   BENCH_PULP_AREA    where the local Pulp's cli.toml/env are (default .build/pulp)
#   BENCH_FLIPS        promote/rollback rounds for the latency medians (default 5)
#   BENCH_MIRROR=0     skips workload 3, config/bench-mirror.sh (mirror a release; its
#                      own BENCH_MIRROR_* settings)
#   BENCH_SCALE=0      skips workload 4, config/bench-scale.sh (commands on a 1,020- and a
#                      10,200-file index; its own BENCH_SCALE_* settings)
#   BENCH_BIG=0        skips workload 5, config/bench-big.sh (big files; its own BENCH_BIG_*
#                      settings)
#
# Every tool gets its own, never-seen wheels (Pulp deduplicates by sha256: re-sending known
# bytes would be a shortcut).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SMALL="${BENCH_SMALL_COUNT:-300}"
BIG="${BENCH_BIG_BYTES:-1073741824}"
TOOLS="${BENCH_TOOLS:-wheelgate pulpcli uv curl}"
FLIPS="${BENCH_FLIPS:-5}"
RUN="b$(date +%s)"
WORK="$ROOT/.build/bench/$RUN"
# The cache of version changes (vet, promote) of this run, not the user's ~/.cache/wheelgate.
export WHEELGATE_CACHE_DIR="$WORK/cache"
VENV="$ROOT/.build/bench/venv"
BIN="$ROOT/target/release/wheelgate"
FIX="$ROOT/target/release/wheelgate-fixtures"
AREA="${BENCH_PULP_AREA:-$ROOT/.build/pulp}"
CLI_TOML="$AREA/plain/cli.toml"
# shellcheck disable=SC1091
source "$AREA/plain/env"
API="$PULP_BASE_URL${PULP_API_ROOT:-/pulp/}api/v3"
AUTH="$PULP_USERNAME:$PULP_PASSWORD"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
unset PIP_FIND_LINKS

say() { echo "bench: $*" >&2; }
has() { [[ " $TOOLS " == *" $1 "* ]]; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# --- tools ---------------------------------------------------------------------------------
if ! [ -x /usr/bin/time ]; then
  say "installing GNU time (peak RSS)"
  apt-get update -qq >/dev/null && apt-get install -y -qq time >/dev/null
fi
if ! [ -x "$VENV/bin/pulp" ] || ! [ -x "$VENV/bin/uv" ]; then
  say "installing pulp-cli and uv into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pulp-cli uv
fi
PULP=("$VENV/bin/pulp" --config "$CLI_TOML")
command -v jq >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq jq >/dev/null; }

# peak RSS (KiB) and wall seconds of a command: "rss secs" on stdout, command output to a log.
measure() {
  local log="$1"; shift
  local t0 t1
  t0=$(now)
  /usr/bin/time -f "%M" -o "$log.rss" "$@" >"$log" 2>&1 || { echo "FAILED $(tail -3 "$log" | tr '\n' ' ')" >"$log.err"; }
  t1=$(now)
  echo "$(cat "$log.rss" | tail -1) $(elapsed "$t0" "$t1")"
}

api() { curl -sf -u "$AUTH" -H 'content-type: application/json' "$@"; }
wait_task() {
  local href="$1" state
  while :; do
    state=$(api "$PULP_BASE_URL$href" | jq -r .state)
    case "$state" in completed) return 0 ;; failed|canceled) say "task $href $state"; return 1 ;; esac
    sleep 0.1
  done
}
new_repo() { api -X POST -d "{\"name\":\"$1\"}" "$API/repositories/python/python/" | jq -r .pulp_href; }
modify_add() { # repo href, file with one content href per line
  local body task
  body=$(jq -R . <"$2" | jq -s '{add_content_units: .}')
  task=$(api -X POST -d "$body" "$PULP_BASE_URL${1}modify/" | jq -r .task)
  wait_task "$task"
}

gen_set() { # dir prefix seed
  "$FIX" set --count "$SMALL" --min-size 10000 --max-size 100000 --seed "$3" --prefix "$2" --out "$1" >/dev/null
}

declare -A T RSS
ROWS=()

# --- workload 1: SMALL wheels of 10-100 KB -------------------------------------------------
if has wheelgate; then
  d="$WORK/wg"; gen_set "$d" "wg-$RUN" 11
  printf 'product = "%s"\n[variants.cpu]\npython = ["cp312"]\nplatforms = ["linux_x86_64"]\n[releases."1.0"]\nvariants = ["cpu"]\n[packages]\nallow = ["*"]\n' "$RUN" >"$WORK/wheelgate.toml"
  export PULP_CLI_CONFIG="$CLI_TOML"
  "$BIN" -q --catalog "$WORK/wheelgate.toml" init --release 1.0 >/dev/null
  read -r rss secs < <(measure "$WORK/wg.log" "$BIN" -q --catalog "$WORK/wheelgate.toml" --output json upload --release 1.0 --variant cpu --jobs 4 "$d")
  T[wheelgate]=$secs; RSS[wheelgate]=$rss
  read -r rss secs < <(measure "$WORK/wg2.log" "$BIN" -q --catalog "$WORK/wheelgate.toml" --output json upload --release 1.0 --variant cpu "$d")
  T[noop]=$secs
  say "wheelgate: ${T[wheelgate]} s, no-op re-run ${T[noop]} s"
fi

if has pulpcli; then
  d="$WORK/pc"; gen_set "$d" "pc-$RUN" 22
  repo=$(new_repo "pc-$RUN")
  : >"$WORK/pc.hrefs"
  t0=$(now)
  for f in "$d"/*.whl; do
    "${PULP[@]}" --format json python content upload --file "$f" --relative-path "$(basename "$f")" | jq -r .pulp_href >>"$WORK/pc.hrefs"
  done
  modify_add "$repo" "$WORK/pc.hrefs"
  T[pulpcli]=$(elapsed "$t0" "$(now)")
  say "pulp-cli loop + modify: ${T[pulpcli]} s"
fi

if has uv; then
  d="$WORK/uv"; gen_set "$d" "uv-$RUN" 33
  repo=$(new_repo "uv-$RUN")
  task=$(api -X POST -d "{\"name\":\"uv-$RUN\",\"base_path\":\"bench/uv-$RUN\",\"repository\":\"$repo\"}" "$API/distributions/python/pypi/" | jq -r .task)
  wait_task "$task"
  read -r rss secs < <(measure "$WORK/uv.log" "$VENV/bin/uv" publish --publish-url "$PULP_BASE_URL/pypi/bench/uv-$RUN/legacy/" -u "$PULP_USERNAME" -p "$PULP_PASSWORD" "$d"/*.whl)
  T[uv]=$secs
  [ -s "$WORK/uv.log.err" ] && T[uv]="failed"
  say "uv publish: ${T[uv]} s"
fi

if has curl; then
  d="$WORK/curl"; gen_set "$d" "curl-$RUN" 44
  repo=$(new_repo "curl-$RUN")
  t0=$(now)
  ls "$d"/*.whl | xargs -P4 -I{} curl -sf -u "$AUTH" -F file=@{} "$API/content/python/packages/upload/" | jq -r .pulp_href >"$WORK/curl.hrefs"
  modify_add "$repo" "$WORK/curl.hrefs"
  T[curl]=$(elapsed "$t0" "$(now)")
  say "curl x4 + modify: ${T[curl]} s"
fi

# --- promote / rollback latency vs the raw PATCH + task wait ------------------------------
declare -A L
if has wheelgate; then
  WG=("$BIN" -q --catalog "$WORK/wheelgate.toml")
  mkdir -p "$WORK/wg-b2"
  "$FIX" wheel --name "wg-$RUN-extra" --version 1.0 --out "$WORK/wg-b2" >/dev/null
  "${WG[@]}" --output json upload --release 1.0 --variant cpu "$WORK/wg-b2" >/dev/null
  "${WG[@]}" vet --release 1.0 --variant cpu --version 1 >/dev/null
  "${WG[@]}" vet --release 1.0 --variant cpu --version 2 >/dev/null
  "${WG[@]}" promote --release 1.0 --variant cpu --version 1 --yes >/dev/null
  # Latency = command start → the new content is served (a poller watches the index); the
  # command itself finishes later, after verifying every page and writing the ledger.
  dist=$(api "$API/distributions/python/pypi/?name=$RUN-1.0-cpu" | jq -r '.results[0].pulp_href')
  repo=$(api "$API/repositories/python/python/?name=$RUN-1.0-cpu" | jq -r '.results[0].pulp_href')
  index="$PULP_BASE_URL/pypi/$RUN/1.0/cpu/simple/wg-$RUN-extra/"
  served_at() { # expected status → prints the time it is first seen
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.pypi.simple.v1+json' "$index")" = "$1" ]; do sleep 0.02; done
    now
  }
  timed_switch() { # expected status, command... → "served_latency command_time"
    local want="$1" t0 seen done_at; shift
    t0=$(now)
    served_at "$want" >"$WORK/seen" &
    "$@" >/dev/null
    done_at=$(now)
    wait
    seen=$(cat "$WORK/seen")
    echo "$(elapsed "$t0" "$seen") $(elapsed "$t0" "$done_at")"
  }
  median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }
  spread() { python3 -c "import sys; v = sorted(map(float, sys.argv[1:])); print(f'{v[0]:.2f}–{v[-1]:.2f}')" "$@"; }
  declare -a p_lat p_cmd r_lat r_cmd rp_lat rr_lat
  # Raw: PATCH repository_version, wait for the task, poll the index until the change shows.
  raw_switch() { # version, expected HTTP status of the extra project's page
    local t0 task
    t0=$(now)
    task=$(api -X PATCH -d "{\"repository_version\":\"${repo}versions/$1/\",\"repository\":null}" "$PULP_BASE_URL$dist" | jq -r '.task // empty')
    [ -n "$task" ] && wait_task "$task"
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.pypi.simple.v1+json' "$index")" = "$2" ]; do sleep 0.05; done
    elapsed "$t0" "$(now)"
  }
  # Alternate wheelgate and raw flips, so drift on this shared machine hits both alike.
  for ((i = 0; i < FLIPS; i++)); do
    read -r a b < <(timed_switch 200 "${WG[@]}" promote --release 1.0 --variant cpu --version 2 --yes)
    p_lat+=("$a"); p_cmd+=("$b")
    read -r a b < <(timed_switch 404 "${WG[@]}" rollback --release 1.0 --variant cpu --yes)
    r_lat+=("$a"); r_cmd+=("$b")
    rp_lat+=("$(raw_switch 2 200)")
    rr_lat+=("$(raw_switch 1 404)")
  done
  # Each round ends with the raw flip back to version 1, where the ledger's last rollback
  # left production, so the next wheelgate rollback still finds its way.
  L[promote]=$(median "${p_lat[@]}"); L[promote_cmd]=$(median "${p_cmd[@]}")
  L[rollback]=$(median "${r_lat[@]}"); L[rollback_cmd]=$(median "${r_cmd[@]}")
  L[raw_promote]=$(median "${rp_lat[@]}"); L[raw_rollback]=$(median "${rr_lat[@]}")
  L[promote_range]=$(spread "${p_lat[@]}"); L[rollback_range]=$(spread "${r_lat[@]}")
  L[raw_promote_range]=$(spread "${rp_lat[@]}"); L[raw_rollback_range]=$(spread "${rr_lat[@]}")
  say "promote ${L[promote]} s (raw ${L[raw_promote]} s), rollback ${L[rollback]} s (raw ${L[raw_rollback]} s)"
fi

# --- workload 2: one big wheel -------------------------------------------------------------
declare -A BT BR
if [ "$BIG" != "0" ]; then
  free_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
  if (( free_kb < BIG / 1024 * 6 )); then
    say "not enough disk for the big wheel workload; skipped"; BIG=0
  fi
fi
if [ "$BIG" != "0" ]; then
  big() { # tool: writes its own big wheel
    mkdir -p "$WORK/big-$1"
    "$FIX" wheel --name "big-$1-$RUN" --version 1.0 --tag cp312-cp312-linux_x86_64 --size "$BIG" --seed $RANDOM --out "$WORK/big-$1"
  }
  if has wheelgate; then
    f=$(big wg)
    read -r rss secs < <(measure "$WORK/bwg.log" "$BIN" -q --catalog "$WORK/wheelgate.toml" --output json upload --release 1.0 --variant cpu "$f")
    BT[wheelgate]=$secs; BR[wheelgate]=$rss; [ -s "$WORK/bwg.log.err" ] && BT[wheelgate]="failed"
    rm -f "$f"; say "big wheelgate: ${BT[wheelgate]} s, ${BR[wheelgate]} KiB"
  fi
  if has uv; then
    f=$(big uv)
    read -r rss secs < <(measure "$WORK/buv.log" "$VENV/bin/uv" publish --publish-url "$PULP_BASE_URL/pypi/bench/uv-$RUN/legacy/" -u "$PULP_USERNAME" -p "$PULP_PASSWORD" "$f")
    BT[uv]=$secs; BR[uv]=$rss; [ -s "$WORK/buv.log.err" ] && BT[uv]="failed ($(head -c 120 "$WORK/buv.log.err"))"
    rm -f "$f"; say "big uv: ${BT[uv]}"
  fi
  if has curl; then
    f=$(big curl)
    read -r rss secs < <(measure "$WORK/bcurl.log" curl -sf -u "$AUTH" -F "file=@$f" "$API/content/python/packages/upload/")
    BT[curl]=$secs; BR[curl]=$rss; [ -s "$WORK/bcurl.log.err" ] && BT[curl]="failed (single request; Pulp's 30 s limit)"
    rm -f "$f"; say "big curl: ${BT[curl]}"
  fi
  if has pulpcli; then
    f=$(big pc)
    read -r rss secs < <(measure "$WORK/bpc.log" "${PULP[@]}" python content upload --chunk-size 16MB --file "$f" --relative-path "$(basename "$f")")
    BT[pulpcli]=$secs; BR[pulpcli]=$rss; [ -s "$WORK/bpc.log.err" ] && BT[pulpcli]="failed ($(head -c 120 "$WORK/bpc.log.err"))"
    rm -f "$f"; say "big pulp-cli: ${BT[pulpcli]}"
  fi
fi

# --- report --------------------------------------------------------------------------------
ratio() { python3 -c "
a, b = '$1', '$2'
try: print(f'{float(a)/float(b):.2f}x')
except Exception: print('-')"; }
pass() { python3 -c "
try: print('PASS' if $1 else 'FAIL')
except Exception: print('n/a')"; }
mib() { [ -n "${1:-}" ] && python3 -c "print(f'{int($1)/1024:.0f} MiB')" || echo "-"; }
wg="${T[wheelgate]:-}"
# The mirror section (config/bench-mirror.sh, run below) stays until that script replaces it.
# Sections other scripts write (scale, mirror, big files) and the notes after them: kept as they are.
mirror_section=$(sed -n '/^<!-- \(scale\|bench-mirror\|bench-big\):begin/,$p' docs/benchmarks.md 2>/dev/null || true)
status=$(curl -s "$API/status/")
core=$(echo "$status" | jq -r '.versions[] | select(.component=="core") | .version')
py=$(echo "$status" | jq -r '.versions[] | select(.component=="python") | .version')
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (config/bench.sh) on $(date -u +%Y-%m-%dT%H:%MZ). Not a test: these machines are shared and noisy."
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)."
  echo "Pulp: pulpcore $core + pulp-python $py, local plain layout (API 2 gunicorn workers, 2 task workers, PostgreSQL), on the same machine."
  echo "Tools: wheelgate $(git rev-parse --short HEAD), $("$VENV/bin/pulp" --version 2>/dev/null | head -1), $("$VENV/bin/uv" --version), $(curl --version | head -1 | cut -d' ' -f1-2)."
  echo
  echo "## $SMALL wheels of 10–100 KB, into one repository version"
  echo
  echo "| tool | wall time | files/s | time vs wheelgate |"
  echo "|---|---|---|---|"
  for t in wheelgate pulpcli uv curl; do
    [ -n "${T[$t]:-}" ] || continue
    name=$t; [ $t = pulpcli ] && name="pulp-cli (upload per file, then one modify)"; [ $t = uv ] && name="uv publish (/legacy/, one version per file)"; [ $t = curl ] && name="curl ×4 to upload/ + one modify"; [ $t = wheelgate ] && name="wheelgate upload --jobs 4"
    fps=$(python3 -c "
try: print(f'{$SMALL/float(\"${T[$t]}\"):.1f}')
except Exception: print('-')")
    echo "| $name | ${T[$t]} s | $fps | $(ratio "${T[$t]}" "$wg") |"
  done
  echo
  echo "No-op re-run of the same wheelgate upload: ${T[noop]:-n/a} s."
  echo
  if [ "$BIG" != "0" ]; then
    echo "## One wheel of $((BIG / 1048576)) MiB"
    echo
    echo "| tool | wall time | peak RSS |"
    echo "|---|---|---|"
    for t in wheelgate pulpcli uv curl; do
      [ -n "${BT[$t]:-}" ] || continue
      echo "| $t | ${BT[$t]} s | $(mib "${BR[$t]:-}") |"
    done
    echo
  fi
  if [ -n "${L[promote]:-}" ]; then
    echo "## Promote and rollback latency (command start → new content served)"
    echo
    echo "Medians of $FLIPS rounds (range in brackets); wheelgate and raw flips alternate."
    echo
    echo "| operation | wheelgate: new content served | wheelgate: command done | raw PATCH + task wait + index poll |"
    echo "|---|---|---|---|"
    echo "| promote | ${L[promote]} s (${L[promote_range]}) | ${L[promote_cmd]} s | ${L[raw_promote]} s (${L[raw_promote_range]}) |"
    echo "| rollback | ${L[rollback]} s (${L[rollback_range]}) | ${L[rollback_cmd]} s | ${L[raw_rollback]} s (${L[raw_rollback_range]}) |"
    echo
    echo "\"New content served\": a poller watching the production index sees the switch (planning — session login, ledger read, vet check, diff — plus the PATCH and its task)."
    echo "The raw flip uses HTTP basic auth, as a script around curl or pulp-cli would; wheelgate logs in once and uses a session (see docs/design.md)."
    echo "\"Command done\": after that, wheelgate reads back the index root (exactly the $((SMALL + 1)) projects here), the changed project pages and a sample of 8 others (\`--verify changed\`, the default; \`--verify full\` reads every page, ~50 ms of Pulp API time each) to check the exact file set and sha256, and writes the ledger record."
    echo
  fi
  echo "## Targets (from the upload and promote issues)"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  [ -n "${T[pulpcli]:-}" ] && echo "| ≥ 5× faster than the pulp-cli loop | $(ratio "${T[pulpcli]}" "$wg") | $(pass "float('${T[pulpcli]}')/float('$wg') >= 5") |"
  [ -n "${T[uv]:-}" ] && echo "| ≥ 1.7× faster than uv publish | $(ratio "${T[uv]}" "$wg") | $(pass "float('${T[uv]}')/float('$wg') >= 1.7") |"
  [ -n "${T[curl]:-}" ] && echo "| within 1.25× of raw parallel curl | $(ratio "$wg" "${T[curl]}") | $(pass "float('$wg')/float('${T[curl]}') <= 1.25") |"
  [ -n "${T[noop]:-}" ] && echo "| no-op re-run < 3 s | ${T[noop]} s | $(pass "float('${T[noop]}') < 3") |"
  [ -n "${L[promote]:-}" ] && echo "| promote ≤ raw + 0.5 s | ${L[promote]} s vs ${L[raw_promote]} s | $(pass "float('${L[promote]}') <= float('${L[raw_promote]}') + 0.5") |"
  [ -n "${L[rollback]:-}" ] && echo "| rollback ≤ raw + 0.5 s | ${L[rollback]} s vs ${L[raw_rollback]} s | $(pass "float('${L[rollback]}') <= float('${L[raw_rollback]}') + 0.5") |"
  [ -n "${BR[wheelgate]:-}" ] && echo "| big wheel peak RSS < 100 MB | $(mib "${BR[wheelgate]}") | $(pass "int('${BR[wheelgate]}')*1024 < 100e6") |"
  echo
  echo "Reference figures from the issue, same kind of machine, 100 wheels: pulp-cli loop 182 s, uv publish 44 s, curl ×4 + modify 21 s."
  echo
  echo "## How measured"
  echo
  echo "- Each tool uploads its own freshly generated wheels (\`wheelgate-fixtures set\`, distinct seeds and names), so no tool profits from Pulp's deduplication."
  echo "- Wall time from start to the content being in one new repository version (pulp-cli and curl: including the final modify and its task; uv publish: the /legacy/ endpoint makes one version per file)."
  echo "- Peak RSS: GNU time's maximum resident set size of the client process."
  echo "- Authentication: pulp-cli, uv and curl send HTTP basic auth with every request, which Pulp checks with PBKDF2 each time (~0.2 s of server CPU); wheelgate logs in once and uses a session. That is most of wheelgate's lead over curl here; see docs/design.md."
  if [ -n "$mirror_section" ]; then echo; echo "$mirror_section"; fi
} >docs/benchmarks.md
cat docs/benchmarks.md

# --- workload 3: mirror a release (BENCH_MIRROR=0 skips it; it writes its own section) ------
if [ "${BENCH_MIRROR:-1}" != 0 ]; then
  bash "$ROOT/config/bench-mirror.sh"
fi

# --- workload 4: scale, a 1,020- and a 10,200-file index (BENCH_SCALE=0 skips it; own section) -
if [ "${BENCH_SCALE:-1}" != 0 ]; then
  bash "$ROOT/config/bench-scale.sh"
fi

# --- workload 5: big files (BENCH_BIG=0 skips it; it writes its own section) ------------------
if [ "${BENCH_BIG:-1}" != 0 ]; then
  bash "$ROOT/config/bench-big.sh"
fi
