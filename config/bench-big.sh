#!/usr/bin/env bash
# Big files (issue 10): wheelgate upload side by side with the fair raw limit, in one run, on
# the local Pulp — curl logged in once with a session (as wheelgate logs in), to the
# synchronous upload endpoint, then one modify:
#
#   A. a CUDA-like build, BENCH_BIG_FILES wheels of BENCH_BIG_FILE_BYTES:
#      wheelgate upload --jobs 4    vs  curl-session ×4 + one modify
#   B. one wheel of BENCH_BIG_ONE_BYTES:  wheelgate upload  vs  one curl-session + one modify
#   C. one wheel of BENCH_BIG_HUGE_BYTES (must go chunked; peak RSS < 100 MB)
#   E. BENCH_BIG_SMALL wheels of 10–100 KB: wheelgate upload --jobs 4 vs curl-session ×4 + one
#      modify (the issue's "200 small wheels stay ≤ 1.0×")
#   D. the chunked-upload curve: one wheel of BENCH_BIG_CURVE_BYTES forced chunked
#      (chunk_threshold = 1) for each chunk size × parallelism, and the same size chosen freely
#
# Writes its section ("## Big files (issue 10)", between <!-- bench-big --> markers) into
# docs/benchmarks.md: replaced in place, or appended; the other sections are left alone.
# A benchmark, not a test. Every run uploads its own, never-seen wheels (Pulp deduplicates by
# sha256). A full run sends ~20 GB: after each measurement (untimed) it deletes what it made —
# its repositories, distributions and ledgers (names b<run>...), then its content by
# `orphans/cleanup/` with exactly those content hrefs, and the copies pulp_python 3.36's
# synchronous endpoint leaves in the local Pulp's FILE_UPLOAD_TEMP_DIR (one per file: it
# renames Django's temporary file and never deletes it). Nothing of anyone else's is touched.
#
#   BENCH_BIG_FILES        wheels in workload A (default 6; 0 skips A)
#   BENCH_BIG_FILE_BYTES   size of each (default 300M; K/M/G suffixes are powers of 1024)
#   BENCH_BIG_ONE_BYTES    workload B's wheel (default 1G; 0 skips B)
#   BENCH_BIG_HUGE_BYTES   workload C's wheel (default 3G; 0 skips C)
#   BENCH_BIG_CURVE_BYTES  workload D's wheel (default 512M; 0 skips D)
#   BENCH_BIG_SMALL        wheels in workload E (default 200; 0 skips E)
#   BENCH_BIG_CHUNK_SIZES  chunk sizes of the curve, MiB (default "8 16 32 64")
#   BENCH_BIG_PARALLEL     chunks in flight of the curve (default "1 2 3 4")
#   BENCH_BIG_ROUNDS       rounds of A and B, wheelgate and curl alternating (default 2)
#   BENCH_BIG_CURVE_ROUNDS rounds of the whole curve grid, odd ones backwards; medians per
#                          point (default 2)
#   BENCH_BIG_LAYOUT       plain | hosted (default hosted, where the issue measured)
#   BENCH_BIG_QUICK=1      6 × 40M, 128M, no C, curve 128M at 8/16 MiB × 1/3, E 50 wheels, 1 round;
#                          section to .build/bench/benchmarks-big.md only
#   BENCH_BIG_DOC          file to write the section into (default docs/benchmarks.md)
#   BENCH_BIG_KEEP=1       keep what the runs made in Pulp
#   BENCH_PULP_AREA        where the local Pulps' cli.toml/env are (default .build/pulp)
#
# Needs: the local Pulp (make pulp-up) and the release binaries
# (cargo build --release --workspace --bins).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
QUICK="${BENCH_BIG_QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  FILES="${BENCH_BIG_FILES:-6}"; FILE_BYTES="${BENCH_BIG_FILE_BYTES:-40M}"
  ONE_BYTES="${BENCH_BIG_ONE_BYTES:-128M}"; HUGE_BYTES="${BENCH_BIG_HUGE_BYTES:-0}"
  CURVE_BYTES="${BENCH_BIG_CURVE_BYTES:-128M}"; CHUNK_SIZES="${BENCH_BIG_CHUNK_SIZES:-8 16}"
  PARALLEL="${BENCH_BIG_PARALLEL:-1 3}"; ROUNDS="${BENCH_BIG_ROUNDS:-1}"; CROUNDS="${BENCH_BIG_CURVE_ROUNDS:-1}"
  SMALL="${BENCH_BIG_SMALL:-50}"
  DOC="${BENCH_BIG_DOC:-$ROOT/.build/bench/benchmarks-big.md}"
else
  FILES="${BENCH_BIG_FILES:-6}"; FILE_BYTES="${BENCH_BIG_FILE_BYTES:-300M}"
  ONE_BYTES="${BENCH_BIG_ONE_BYTES:-1G}"; HUGE_BYTES="${BENCH_BIG_HUGE_BYTES:-3G}"
  CURVE_BYTES="${BENCH_BIG_CURVE_BYTES:-512M}"; CHUNK_SIZES="${BENCH_BIG_CHUNK_SIZES:-8 16 32 64}"
  PARALLEL="${BENCH_BIG_PARALLEL:-1 2 3 4}"; ROUNDS="${BENCH_BIG_ROUNDS:-2}"; CROUNDS="${BENCH_BIG_CURVE_ROUNDS:-2}"
  SMALL="${BENCH_BIG_SMALL:-200}"
  DOC="${BENCH_BIG_DOC:-$ROOT/docs/benchmarks.md}"
fi
LAYOUT="${BENCH_BIG_LAYOUT:-hosted}"
RUN="g$(date +%s)"
WORK="$ROOT/.build/bench/$RUN"
BIN="$ROOT/target/release/wheelgate"
FIX="$ROOT/target/release/wheelgate-fixtures"
AREA="${BENCH_PULP_AREA:-$ROOT/.build/pulp}"
CLI_TOML="$AREA/$LAYOUT/cli.toml"
mkdir -p "$WORK"
trap 'clean_up || true; [ -s "$WORK/clean-cookies" ] && logout "$WORK/clean-cookies"; rm -rf "$WORK"' EXIT
unset PIP_FIND_LINKS

say() { echo "bench-big: $*" >&2; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
env_get() { sed -n "s/^$2=//p" "$1" | tail -1; }
bytes() { # 300M → 314572800
  python3 -c "
import sys; s = sys.argv[1].strip().upper(); m = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
print(int(float(s[:-1]) * m[s[-1]]) if s and s[-1] in m else int(s))" "$1"
}
human() { python3 -c "
b = int('$1')
print(f'{b / (1 << 30):g} GiB' if b >= 1 << 30 else f'{b / (1 << 20):g} MiB')"; }

for f in "$BIN" "$FIX"; do
  [ -x "$f" ] || { say "$f missing: cargo build --release --workspace --bins"; exit 1; }
done
[ -f "$CLI_TOML" ] || { say "no local Pulp ($CLI_TOML): make pulp-up"; exit 1; }
if ! [ -x /usr/bin/time ]; then
  say "installing GNU time (peak RSS)"
  apt-get update -qq >/dev/null && apt-get install -y -qq time >/dev/null
fi
command -v jq >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq jq >/dev/null; }

FILE_BYTES=$(bytes "$FILE_BYTES"); ONE_BYTES=$(bytes "$ONE_BYTES")
HUGE_BYTES=$(bytes "$HUGE_BYTES"); CURVE_BYTES=$(bytes "$CURVE_BYTES")
BASE=$(env_get "$AREA/$LAYOUT/env" PULP_BASE_URL)
DOMAIN=$(env_get "$AREA/$LAYOUT/env" PULP_DOMAIN)
API="$BASE$(env_get "$AREA/$LAYOUT/env" PULP_API_ROOT)${DOMAIN:+$DOMAIN/}api/v3"
AUTH="$(env_get "$AREA/$LAYOUT/env" PULP_USERNAME):$(env_get "$AREA/$LAYOUT/env" PULP_PASSWORD)"
export PULP_CLI_CONFIG="$CLI_TOML"

# Disk: every wheel is written here, then stored by Pulp (the chunked task needs ~3× free).
largest=$(printf '%s\n' "$((FILES * FILE_BYTES))" "$ONE_BYTES" "$HUGE_BYTES" "$CURVE_BYTES" | sort -n | tail -1)
free_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
if (( free_kb * 1024 < largest * 5 )); then
  say "not enough disk: $(human "$largest") workloads need ~5× that free; lower BENCH_BIG_*"; exit 1
fi

# --- helpers -----------------------------------------------------------------------------
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOADS=()
# peak RSS (KiB) and wall seconds of a command: "rss secs"; its output to $log, stderr to $log.err
measure() {
  local log="$1"; shift
  local t0 t1
  t0=$(now)
  /usr/bin/time -f "%M" -o "$log.rss" "$@" >"$log" 2>"$log.err" || echo "FAILED" >>"$log.failed"
  t1=$(now)
  echo "$(tail -1 "$log.rss") $(elapsed "$t0" "$t1")"
}
# the session's requests: cookie jar + CSRF token + Origin, as Django wants for POST
login() { # jar
  curl -sf -c "$1" -u "$AUTH" -X POST "$API/login/" -o /dev/null
}
scurl() { # jar, curl args...
  local jar="$1"; shift
  curl -sf -b "$jar" -H "X-CSRFToken: $(awk '$6=="csrftoken"{print $7}' "$jar")" -H "Origin: $BASE" "$@"
}
logout() { scurl "$1" -X DELETE "$API/login/" -o /dev/null || true; }
wait_task() { # jar href
  local state
  while :; do
    state=$(scurl "$1" "$BASE$2" | jq -r .state)
    case "$state" in completed) return 0 ;; failed|canceled) say "task $2 $state"; return 1 ;; esac
    sleep 0.1
  done
}
new_repo() { curl -sf -u "$AUTH" -H 'content-type: application/json' -X POST -d "{\"name\":\"$1\"}" "$API/repositories/python/python/" | jq -r .pulp_href; }

N=0
wheels() { # dir count size → writes never-seen wheels (unique names and seeds)
  mkdir -p "$1"
  local i
  for ((i = 0; i < $2; i++)); do
    N=$((N + 1))
    "$FIX" wheel --name "big-$RUN-$N" --version 1.0 --tag cp312-cp312-linux_x86_64 \
      --size "$3" --seed "$((RANDOM * 32768 + RANDOM + N))" --out "$1" >/dev/null
  done
  sync
}

# A fresh product per wheelgate run: its own staging repository, nothing already present.
catalog() { # file product [upload table lines]
  {
    printf 'product = "%s"\n[variants.cpu]\npython = ["cp312"]\nplatforms = ["linux_x86_64"]\n' "$2"
    printf '[releases."1.0"]\nvariants = ["cpu"]\n[packages]\nallow = ["*"]\n'
    if [ -n "${3:-}" ]; then printf '[upload]\n%s\n' "$3"; fi
  } >"$1"
  "$BIN" -q --catalog "$1" init --release 1.0 >/dev/null
}

# wheelgate upload of a directory: "rss secs sync chunked fallbacks", the choices logged.
# (Called in a subshell: a name from the clock, not a counter.)
wg_upload() { # dir [upload table lines]
  local id; id=$(date +%s%N)
  local cat="$WORK/wg$id.toml" log="$WORK/wg$id.log" rss secs
  catalog "$cat" "b${RUN}w$id" "${2:-}"
  read -r rss secs < <(WHEELGATE_LOG="warn,pulp_client::uploads=debug" measure "$log" \
    "$BIN" --catalog "$cat" --output json upload --release 1.0 --variant cpu --jobs 4 "$1")
  if [ -s "$log.failed" ]; then
    say "wheelgate failed: $(tail -3 "$log.err")"; echo "- - - - -"; return
  fi
  local up ch fb
  up=$(jq '.uploaded | length' "$log"); ch=$(jq '.chunked | length' "$log"); fb=$(jq '.sync_fallbacks | length' "$log")
  grep -E "transfer chosen|probed|measured meanwhile|one request done|single-request upload failed" "$log.err" | sed 's/\x1b\[[0-9;]*m//g' >>"$WORK/choices.log" || true
  echo "$rss $secs $((up - ch)) $ch $fb"
}

# curl-session ×J to the synchronous endpoint, then one modify: "secs", from the login (as
# wheelgate's time includes its login) to the modify's task done; "-" when an upload failed
# (the status and time of each request are in $WORK/curl.codes).
curl_upload() { # dir jobs
  local jar="$WORK/jar" t0 repo task
  repo=$(new_repo "b$RUN-curl-$(date +%s%N)")
  t0=$(now)
  login "$jar"
  CSRF=$(awk '$6=="csrftoken"{print $7}' "$jar") JAR="$jar" BASE="$BASE" \
    URL="$API/content/python/packages/upload/" \
    xargs -P"$2" -I{} sh -c 'curl -s -b "$JAR" -H "X-CSRFToken: $CSRF" -H "Origin: $BASE" \
      -o "$0.json" -w "%{http_code} %{time_total}\n" -F file=@"$0" "$URL"' {} \
    < <(ls "$1"/*.whl) >"$WORK/curl.codes"
  if grep -qv '^201 ' "$WORK/curl.codes"; then
    say "curl: $(grep -v '^201 ' "$WORK/curl.codes" | sed 's/^/HTTP /; s/ \([0-9.]*\)$/ after \1 s/' | sort | uniq -c | xargs)"
    awk '{print $1}' "$WORK/curl.codes" | grep -v 201 | head -1 >"$WORK/curl.failed"
    echo "-"; logout "$jar"; return
  fi
  task=$(jq -r .pulp_href "$1"/*.whl.json | jq -R . | jq -s '{add_content_units: .}' |
    scurl "$jar" -H 'content-type: application/json' -X POST -d @- "$BASE${repo}modify/" | jq -r .task)
  wait_task "$jar" "$task"
  elapsed "$t0" "$(now)"
  logout "$jar"
}

# Delete what this run made (see the header). Untimed, between measurements, with a session of
# its own (one password check per run: with basic auth each request paid one, which made the
# clean-ups take longer than the measurements in quick mode).
CLEAN_JAR="$WORK/clean-cookies"
api() {
  [ -s "$CLEAN_JAR" ] || login "$CLEAN_JAR"
  scurl "$CLEAN_JAR" -H 'content-type: application/json' "$@"
}
basic_wait() {
  local state
  while :; do
    state=$(api "$BASE$1" | jq -r .state)
    case "$state" in completed) return 0 ;; failed|canceled) say "task $1 $state"; return 1 ;; esac
    sleep 0.2
  done
}
clean_up() {
  [ "${BENCH_BIG_KEEP:-0}" = 1 ] && return 0
  local kind name href task hrefs
  for kind in distributions/python/pypi repositories/python/python repositories/file/file; do
    api "$API/$kind/?name__startswith=b$RUN&limit=1000&fields=name,pulp_href" | jq -r '.results[] | "\(.name) \(.pulp_href)"' |
      while read -r name href; do
        task=$(api -X DELETE "$BASE$href" | jq -r '.task // empty')
        [ -z "$task" ] || basic_wait "$task"
      done
  done
  hrefs=$(api "$API/content/python/packages/?filename__contains=big_${RUN}_&orphaned_for=0&limit=1000&fields=pulp_href" | jq -c '[.results[].pulp_href]')
  if [ "$(jq length <<<"$hrefs")" != 0 ]; then
    task=$(api -X POST -d "{\"content_hrefs\": $hrefs, \"orphan_protection_time\": 0}" "$API/orphans/cleanup/" | jq -r .task)
    basic_wait "$task"
  fi
  if [ -d "$AREA/$LAYOUT/upload-tmp" ]; then
    find "$AREA/$LAYOUT/upload-tmp" -maxdepth 1 -type f -name "tmp*big_${RUN}_*" -delete
  fi
}

median() { python3 -c "
import statistics, sys
v = [float(x) for x in sys.argv[1:] if x not in ('-', '')]
print(f'{statistics.median(v):.2f}' if v else '-')" "$@"; }
spread() { python3 -c "
import sys
v = sorted(float(x) for x in sys.argv[1:] if x not in ('-', ''))
print(f'{v[0]:.2f}–{v[-1]:.2f}' if v else '-')" "$@"; }
# "median s (range)", and how many rounds failed and how (R[<key>_failed]: status, seconds)
cell() { # failure-key values...
  local key="$1"; shift
  local ok=0 bad=0 v
  for v in "$@"; do if [ "$v" = "-" ] || [ -z "$v" ]; then bad=$((bad + 1)); else ok=$((ok + 1)); fi; done
  local out=""
  (( ok > 0 )) && out="$(median "$@") s ($(spread "$@"))"
  if (( bad > 0 )); then
    read -r code secs <<<"${R[$key]:-? ?}"
    out="${out:+$out; }failed in $bad of $((ok + bad)) rounds: HTTP $code${secs:+ after $secs s}"
    [ "$code" = 500 ] && out="$out, Pulp's request-time limit"
  fi
  echo "$out"
}
maxrss() { printf "%s\n" "$@" | { grep -v -e "^-$" -e "^$" || true; } | sort -n | tail -1; }
mib() { [ -n "${1:-}" ] && [ "$1" != "-" ] && python3 -c "print(f'{int($1)/1024:.0f} MiB')" || echo "-"; }
ratio() { python3 -c "
try: print(f'{float(\"$1\")/float(\"$2\"):.2f}×')
except Exception: print('-')"; }
pass() { python3 -c "
try: print('PASS' if $1 else 'FAIL')
except Exception: print('n/a')"; }

declare -A R
LOADS+=("start $(load)")

# --- A. the CUDA-like build ----------------------------------------------------------------
declare -a a_wg a_curl a_rss a_how
for ((r = 0; r < ROUNDS && FILES > 0; r++)); do
  order="wg curl"; (( r % 2 )) && order="curl wg"
  for tool in $order; do
    d="$WORK/a-$tool-$r"; wheels "$d" "$FILES" "$FILE_BYTES"
    if [ $tool = wg ]; then
      read -r rss secs sync chunked fb < <(wg_upload "$d")
      a_wg+=("$secs"); a_rss+=("$rss"); a_how+=("$sync/$chunked/$fb")
      say "A round $r wheelgate: $secs s, $(mib "$rss"), sync/chunked/fallbacks $sync/$chunked/$fb"
    else
      rm -f "$WORK/curl.failed"
      secs=$(curl_upload "$d" 4); a_curl+=("$secs")
      [ -s "$WORK/curl.failed" ] && R[a_curl_failed]="$(cat "$WORK/curl.failed")"
      say "A round $r curl-session ×4 + modify: $secs s"
    fi
    rm -rf "$d"; clean_up || say "clean-up failed; continuing"
  done
done
LOADS+=("after A $(load)")

# --- B. one big wheel ----------------------------------------------------------------------
declare -a b_wg b_curl b_rss b_how
if [ "$ONE_BYTES" != 0 ]; then
  for ((r = 0; r < ROUNDS; r++)); do
    order="wg curl"; (( r % 2 )) && order="curl wg"
    for tool in $order; do
      d="$WORK/b-$tool-$r"; wheels "$d" 1 "$ONE_BYTES"
      if [ $tool = wg ]; then
        read -r rss secs sync chunked fb < <(wg_upload "$d")
        b_wg+=("$secs"); b_rss+=("$rss"); b_how+=("$sync/$chunked/$fb")
        say "B round $r wheelgate: $secs s, $(mib "$rss"), sync/chunked/fallbacks $sync/$chunked/$fb"
      else
        rm -f "$WORK/curl.failed"
        secs=$(curl_upload "$d" 1); b_curl+=("$secs")
        [ -s "$WORK/curl.failed" ] && R[b_curl_failed]="$(cat "$WORK/curl.failed") $(awk '{print $2}' "$WORK/curl.codes" | head -1)"
        say "B round $r one curl-session + modify: $secs s"
      fi
      rm -rf "$d"; clean_up || say "clean-up failed; continuing"
    done
  done
  LOADS+=("after B $(load)")
fi

# --- E. many small wheels ------------------------------------------------------------------
declare -a e_wg e_curl
for ((r = 0; r < ROUNDS && SMALL > 0; r++)); do
  order="wg curl"; (( r % 2 )) && order="curl wg"
  for tool in $order; do
    # big-<run>-... so that clean_up finds them (filename__contains=big_<run>_)
    d="$WORK/e-$tool-$r"
    "$FIX" set --count "$SMALL" --min-size 10000 --max-size 100000 --seed "$((RANDOM * 32768 + RANDOM))" \
      --prefix "big-$RUN-e$r$tool" --out "$d" >/dev/null
    sync
    if [ $tool = wg ]; then
      read -r rss secs sync chunked fb < <(wg_upload "$d")
      e_wg+=("$secs")
      say "E round $r wheelgate $SMALL small: $secs s"
    else
      rm -f "$WORK/curl.failed"
      secs=$(curl_upload "$d" 4); e_curl+=("$secs")
      [ -s "$WORK/curl.failed" ] && R[e_curl_failed]="$(cat "$WORK/curl.failed")"
      say "E round $r curl-session ×4 + modify $SMALL small: $secs s"
    fi
    rm -rf "$d"; clean_up || say "clean-up failed; continuing"
  done
done
(( SMALL > 0 )) && LOADS+=("after E $(load)")

# --- C. a wheel too big for one request -----------------------------------------------------
if [ "$HUGE_BYTES" != 0 ]; then
  d="$WORK/c"; wheels "$d" 1 "$HUGE_BYTES"
  read -r rss secs sync chunked fb < <(wg_upload "$d")
  R[c_secs]=$secs; R[c_rss]=$rss; R[c_how]="$sync/$chunked/$fb"
  say "C wheelgate $(human "$HUGE_BYTES"): $secs s, $(mib "$rss"), sync/chunked/fallbacks $sync/$chunked/$fb"
  rm -rf "$d"; clean_up || say "clean-up failed; continuing"
  LOADS+=("after C $(load)")
fi

# --- D. chunk size × parallelism ------------------------------------------------------------
declare -a CURVE
if [ "$CURVE_BYTES" != 0 ]; then
  d="$WORK/d"; wheels "$d" 1 "$CURVE_BYTES"
  read -r rss secs sync chunked fb < <(wg_upload "$d")
  R[d_free]="$secs $rss $sync/$chunked/$fb"
  say "D free choice: $secs s, $(mib "$rss"), sync/chunked/fallbacks $sync/$chunked/$fb"
  rm -rf "$d"; clean_up || say "clean-up failed; continuing"
  # Odd rounds walk the grid backwards, so a machine getting busier does not favour the
  # points measured first.
  for ((r = 0; r < CROUNDS; r++)); do
    sizes=$CHUNK_SIZES; pars=$PARALLEL
    if (( r % 2 )); then
      sizes=$(tr ' ' '\n' <<<"$CHUNK_SIZES" | tac | xargs); pars=$(tr ' ' '\n' <<<"$PARALLEL" | tac | xargs)
    fi
    for cs in $sizes; do
      for p in $pars; do
        d="$WORK/d"; wheels "$d" 1 "$CURVE_BYTES"
        read -r rss secs sync chunked fb < <(wg_upload "$d" "chunk_threshold = 1
chunk_size = $((cs * 1048576))
chunk_parallel = $p")
        CURVE+=("$cs $p $secs $rss")
        say "D round $r chunked $cs MiB × $p: $secs s, $(mib "$rss")"
        rm -rf "$d"; clean_up || say "clean-up failed; continuing"
      done
    done
  done
  LOADS+=("after D $(load)")
fi

# --- report --------------------------------------------------------------------------------
status=$(curl -s "$BASE$(env_get "$AREA/$LAYOUT/env" PULP_API_ROOT)api/v3/status/")
core=$(echo "$status" | jq -r '.versions[] | select(.component=="core") | .version')
py=$(echo "$status" | jq -r '.versions[] | select(.component=="python") | .version')
A_WG=$(median "${a_wg[@]}"); A_CURL=$(median "${a_curl[@]}"); A_RSS=$(maxrss "${a_rss[@]}")
B_WG=$(median "${b_wg[@]:-}"); B_CURL=$(median "${b_curl[@]:-}"); B_RSS=$(maxrss "${b_rss[@]:-}")
E_WG=$(median "${e_wg[@]:-}"); E_CURL=$(median "${e_curl[@]:-}")
{
  echo "<!-- bench-big:begin (config/bench-big.sh) -->"
  echo "## Big files (issue 10)"
  echo
  echo "Written by config/bench-big.sh on $(date -u +%Y-%m-%dT%H:%MZ), wheelgate $(git rev-parse --short HEAD), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); pulpcore $core + pulp-python $py, local $LAYOUT layout (API: 2 gunicorn workers, 30 s timeout; 2 task workers), on the same machine."
  echo "The machine is shared with other builds and test runs while this runs: load averages (1, 5, 15 min) were $(IFS='; '; echo "${LOADS[*]}"). Read ratios, not absolute times, and only those of one run."
  echo
  echo "The fair raw limit is curl logged in once with a session (\`POST login/\`, then the session cookie, CSRF token and Origin), as wheelgate logs in, uploading to the synchronous endpoint, then one \`modify\` and its task: the same end state as wheelgate's (the files in one new repository version). Times are medians of $ROUNDS rounds (range in brackets), wheelgate and curl alternating which goes first; wheelgate's include reading, validating and hashing every wheel before sending."
  echo
  echo "| workload | wheelgate | curl-session | wheelgate ÷ curl | wheelgate peak RSS | wheelgate's transfers (one request / chunked / fell back) |"
  echo "|---|---|---|---|---|---|"
  (( FILES > 0 )) && echo "| $FILES × $(human "$FILE_BYTES"), \`--jobs 4\` vs curl ×4 | $A_WG s ($(spread "${a_wg[@]}")) | $(cell a_curl_failed "${a_curl[@]}") | $(ratio "$A_WG" "$A_CURL") | $(mib "$A_RSS") | $(IFS=', '; echo "${a_how[*]}") |"
  [ "$ONE_BYTES" != 0 ] && echo "| 1 × $(human "$ONE_BYTES") vs one curl | $B_WG s ($(spread "${b_wg[@]}")) | $(cell b_curl_failed "${b_curl[@]}") | $(ratio "$B_WG" "$B_CURL") | $(mib "$B_RSS") | $(IFS=', '; echo "${b_how[*]}") |"
  (( SMALL > 0 )) && echo "| $SMALL wheels of 10–100 KB, \`--jobs 4\` vs curl ×4 | $E_WG s ($(spread "${e_wg[@]}")) | $(cell e_curl_failed "${e_curl[@]}") | $(ratio "$E_WG" "$E_CURL") | – | – |"
  [ "$HUGE_BYTES" != 0 ] && echo "| 1 × $(human "$HUGE_BYTES") (wheelgate alone) | ${R[c_secs]} s | – | – | $(mib "${R[c_rss]}") | ${R[c_how]} |"
  echo
  echo "| target (issue 10) | measured | verdict |"
  echo "|---|---|---|"
  (( FILES > 0 )) && echo "| $FILES × $(human "$FILE_BYTES") ≤ 1.25× curl-session ×4 + modify | $(ratio "$A_WG" "$A_CURL") | $(pass "float('$A_WG') / float('$A_CURL') <= 1.25") |"
  if [ "$ONE_BYTES" != 0 ]; then
    if [ "$B_CURL" = "-" ]; then
      echo "| $(human "$ONE_BYTES") ≤ 1.25× one curl | one request cannot upload it here (HTTP 500 at the limit); wheelgate: $B_WG s (${b_how[*]}) | n/a |"
    else
      echo "| $(human "$ONE_BYTES") ≤ 1.25× one curl | $(ratio "$B_WG" "$B_CURL") | $(pass "float('$B_WG') / float('$B_CURL') <= 1.25") |"
    fi
    echo "| $(human "$ONE_BYTES") peak RSS < 100 MB | $(mib "$B_RSS") | $(pass "int('$B_RSS') * 1024 < 100e6") |"
  fi
  (( SMALL > 0 )) && echo "| $SMALL small wheels ≤ 1.0× curl-session ×4 + modify | $(ratio "$E_WG" "$E_CURL") | $(pass "float('$E_WG') / float('$E_CURL') <= 1.0") |"
  if [ "$HUGE_BYTES" != 0 ]; then
    echo "| $(human "$HUGE_BYTES") uploads (chunked), peak RSS < 100 MB | ${R[c_how]}, $(mib "${R[c_rss]}") | $(pass "'${R[c_how]}'.split('/')[1] == '1' and int('${R[c_rss]}') * 1024 < 100e6") |"
  fi
  echo
  if [ "$CURVE_BYTES" != 0 ]; then
    read -r fsecs frss fhow <<<"${R[d_free]}"
    if (( CROUNDS > 1 )); then rounds="median of $CROUNDS rounds over the whole grid (range), peak RSS the largest"; else rounds="one run per point, so ±10 % is noise here"; fi
    echo "Chunked uploads of one $(human "$CURVE_BYTES") wheel (\`[upload] chunk_threshold = 1\`, so every byte goes in chunks; $rounds), against the same size chosen freely: $fsecs s, $(mib "$frss") ($fhow one request / chunked / fell back)."
    echo
    printf '| chunk size \\ chunks in flight |'; for p in $PARALLEL; do printf ' %s |' "$p"; done; echo
    printf '|---|'; for p in $PARALLEL; do printf -- '---|'; done; echo
    for cs in $CHUNK_SIZES; do
      printf '| %s MiB |' "$cs"
      for p in $PARALLEL; do
        secs=(); rss=()
        for row in "${CURVE[@]}"; do
          read -r c q t m <<<"$row"
          [ "$c" = "$cs" ] && [ "$q" = "$p" ] && { secs+=("$t"); rss+=("$m"); }
        done
        if (( CROUNDS > 1 )); then
          printf ' %s s (%s), %s |' "$(median "${secs[@]}")" "$(spread "${secs[@]}")" "$(mib "$(maxrss "${rss[@]}")")"
        else
          printf ' %s s, %s |' "$(median "${secs[@]}")" "$(mib "$(maxrss "${rss[@]}")")"
        fi
      done
      echo
    done
    echo
  fi
  echo "How the transfer is chosen: docs/catalog.md (\`[upload]\`). Peak RSS: GNU time's maximum resident set size of the wheelgate process."
  echo "<!-- bench-big:end -->"
} >"$WORK/section.md"
cat "$WORK/section.md"
if [ -s "$WORK/choices.log" ]; then
  say "choices (pulp_client::uploads debug log) kept in .build/bench/bench-big-choices.log"
  cp "$WORK/choices.log" "$ROOT/.build/bench/bench-big-choices.log"
fi
mkdir -p "$(dirname "$DOC")"
touch "$DOC"
python3 "$ROOT/config/bench-section.py" "$DOC" bench-big "$WORK/section.md"
say "section written to $DOC"
