#!/usr/bin/env bash
# Scale benchmark (issue 10, scope 2 and 3): what wheelgate's commands cost on a variant index
# of ~1,000 files and on one of >= 10,000 files over >= 3,000 projects, side by side in one run,
# against the raw PATCH flip and curl where one exists. Writes the "Scale (issue 10)" section
# of docs/benchmarks.md (between <!-- scale:begin --> and <!-- scale:end -->; the rest of the
# file is left alone). A benchmark, not a test. Standalone: it sources nothing but the local
# Pulp's env file; the few helpers it shares with config/bench.sh (now, elapsed, the task wait,
# the served-at poller) are copied here, adapted to a curl session.
#
#   BENCH_SCALE_QUICK=1         developer mode, < 3 minutes on an idle 2-core machine once the
#                               indexes exist (~1 more the first time): indexes of 300 and 1,500
#                               files, a 50-file build, 1 round, 2 flips, no curl upload
#   BENCH_SCALE_SMALL_FILES     files in the small index (default 1020; quick 300)
#   BENCH_SCALE_FILES           files in the big index (default 10200; quick 1500)
#   BENCH_SCALE_PER_PROJECT     files per project, one per wheel tag (default 3, at most 6), so
#                               the big index has BENCH_SCALE_FILES / 3 = 3,400 projects
#   BENCH_SCALE_BUILD           files in the measured new build (default 1000; quick 50)
#   BENCH_SCALE_CURL=0          skip the curl ×4 upload of the same build (quick: skipped)
#   BENCH_SCALE_ROUNDS          runs of each read-only command; the median counts (default 3)
#   BENCH_SCALE_FLIPS           promote/rollback rounds (default 3; quick 2)
#   BENCH_SCALE_PRODUCT         product name of the grown indexes (default scalebench)
#   BENCH_SCALE_WRITE=0         print the section instead of writing docs/benchmarks.md
#   BENCH_SCALE_BIN             the wheelgate binary (default target/release/wheelgate)
#   BENCH_SCALE_KEEP=1          keep the run's directory (.build/bench-scale/s<time>: the -v logs)
#   BENCH_PULP_AREA             where the local Pulp's cli.toml/env are (default .build/pulp)
#
# wheelgate's cache of version changes (docs/commands.md, "The cache") lives in the run's
# directory (WHEELGATE_CACHE_DIR), never in ~/.cache. vet is measured twice: with a cold cache
# (emptied before each round: every version's changes read from Pulp), and the usual flow, vet
# of the new version when the previous one was vetted on this machine (a fresh copy of the cache
# left by vet of the build's version, per round, so each round does the same work).
# The indexes are grown once per machine and reused: product `scalebench`, one release per
# size (`1.0-i<projects>x<files per project>`, variant `cpu`), grown by wheelgate itself in one
# build per wheel tag (tiny synthetic wheels; the small index's bytes are reused by the big
# one). Every run adds a new build of BENCH_SCALE_BUILD files (10-100 KB wheels, new projects)
# and one extra project on top, measures, and deletes its versions again (production back on
# the grown version), so the next run starts from the same index. An interrupted run is
# cleaned up by the next one.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${BENCH_SCALE_ROOT:-$(dirname "$HERE")}"
cd "$ROOT"
QUICK="${BENCH_SCALE_QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  d_small=300; d_big=1500; d_build=50; d_rounds=1; d_flips=2; d_curl=0
else
  d_small=1020; d_big=10200; d_build=1000; d_rounds=3; d_flips=3; d_curl=1
fi
PER="${BENCH_SCALE_PER_PROJECT:-3}"
SMALL_FILES="${BENCH_SCALE_SMALL_FILES:-$d_small}"
BIG_FILES="${BENCH_SCALE_FILES:-$d_big}"
BUILD="${BENCH_SCALE_BUILD:-$d_build}"
ROUNDS="${BENCH_SCALE_ROUNDS:-$d_rounds}"
FLIPS="${BENCH_SCALE_FLIPS:-$d_flips}"
CURL="${BENCH_SCALE_CURL:-$d_curl}"
PRODUCT="${BENCH_SCALE_PRODUCT:-scalebench}"
TAGS=(py3-none-any cp312-cp312-linux_x86_64 cp312-abi3-linux_x86_64 cp312-cp312-manylinux_2_28_x86_64 cp312-abi3-manylinux_2_28_x86_64 py312-none-any)
(( PER >= 1 && PER <= ${#TAGS[@]} )) || { echo "BENCH_SCALE_PER_PROJECT must be 1..${#TAGS[@]}" >&2; exit 2; }
SMALL_P=$((SMALL_FILES / PER)); BIG_P=$((BIG_FILES / PER))
SMALL_FILES=$((SMALL_P * PER)); BIG_FILES=$((BIG_P * PER))
BIN="${BENCH_SCALE_BIN:-$ROOT/target/release/wheelgate}"
FIX="$ROOT/target/release/wheelgate-fixtures"
AREA="${BENCH_PULP_AREA:-$ROOT/.build/pulp}"
STATE="$ROOT/.build/bench-scale"
RUN="s$(date +%s)"
WORK="$STATE/$RUN"
CATALOG="$STATE/wheelgate.toml"
JAR="$WORK/cookies"
# shellcheck disable=SC1091
source "$AREA/plain/env"
export PULP_CLI_CONFIG="$AREA/plain/cli.toml"
unset PIP_FIND_LINKS
API="$PULP_BASE_URL${PULP_API_ROOT:-/pulp/}api/v3"
T_START=$(date +%s)

say() { echo "bench-scale: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

for b in "$BIN" "$FIX"; do
  [ -x "$b" ] || { say "building the release binaries"; cargo build --release --workspace --bins; break; }
done
command -v jq >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq jq >/dev/null; }
mkdir -p "$WORK"
WORKCACHE="$WORK/cache"
export WHEELGATE_CACHE_DIR="$WORKCACHE"
unset WHEELGATE_NO_CACHE

# --- a curl session, as wheelgate logs in (one password check, then a cookie) -------------
curl -sf -c "$JAR" -u "$PULP_USERNAME:$PULP_PASSWORD" -X POST "$API/login/" -o /dev/null \
  || die "cannot log in to $API (is the local Pulp up? make pulp-status)"
CSRF=$(awk '$6 == "csrftoken" { print $7 }' "$JAR")
sapi() { curl -sf -b "$JAR" -H "X-CSRFToken: $CSRF" -H "Origin: $PULP_BASE_URL" "$@"; }
sjson() { sapi -H 'content-type: application/json' "$@"; }
cleanup() {
  sapi -X DELETE "$API/login/" -o /dev/null || true
  if [ "${BENCH_SCALE_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

wait_task() { # task href (from bench.sh, with the session and a limit)
  local href="$1" state i
  for ((i = 0; i < 3000; i++)); do
    state=$(sapi "$PULP_BASE_URL$href" | jq -r .state)
    case "$state" in
      completed) return 0 ;;
      failed|canceled) say "task $href $state: $(sapi "$PULP_BASE_URL$href" | jq -c .error)"; return 1 ;;
    esac
    sleep 0.1
  done
  say "task $href still $state after 5 minutes"; return 1
}

# --- numbers --------------------------------------------------------------------------------
median() { python3 -c "
import statistics, sys
v = sys.argv[1:]
if not v or any(x == 'failed' for x in v): print('failed')
else: print(f'{statistics.median(map(float, v)):.2f}')" "$@"; }
spread() { python3 -c "
import sys
v = sys.argv[1:]
try:
    v = sorted(map(float, v)); print(f'{v[0]:.2f}–{v[-1]:.2f}')
except Exception: print('-')" "$@"; }
sec() { case "$1" in failed|skipped) echo "$1" ;; *) echo "$1 s" ;; esac; }
timed() { # log cmd... → wall seconds on stdout ("failed" if the command failed)
  local log="$1" t0 t1; shift
  t0=$(now)
  if "$@" >"$log" 2>"$log.err"; then
    t1=$(now); elapsed "$t0" "$t1"
  else
    say "FAILED: ${*:1:6} … ($(tail -2 "$log.err" | tr '\n' ' '))"; echo failed
  fi
}
rounds() { # name cmd... → median of ROUNDS runs
  local name="$1" i; shift
  local v=()
  for ((i = 0; i < ROUNDS; i++)); do v+=("$(timed "$WORK/$name.$i.log" "$@")"); done
  median "${v[@]}"
}
rounds_after() { # name prepare-function cmd... → median of ROUNDS runs, each after the (untimed) function
  local name="$1" prep="$2" i; shift 2
  local v=()
  for ((i = 0; i < ROUNDS; i++)); do "$prep"; v+=("$(timed "$WORK/$name.$i.log" "$@")"); done
  median "${v[@]}"
}

# --- the catalog and the grown indexes --------------------------------------------------------
rel_of() { echo "1.0-i${1}x$PER"; } # projects → release
{
  printf 'product = "%s"\n\n[variants.cpu]\npython = ["cp312"]\nplatforms = ["linux_x86_64", "manylinux_2_28_x86_64"]\n\n' "$PRODUCT"
  for p in "$SMALL_P" "$BIG_P"; do printf '[releases."%s"]\nvariants = ["cpu"]\n\n' "$(rel_of "$p")"; done
  printf '[packages]\nallow = ["*"]\n'
} >"$CATALOG"
WG=("$BIN" -q --catalog "$CATALOG")

repo_of() { sapi "$API/repositories/python/python/?name=$PRODUCT-$1-cpu" | jq -r '.results[0].pulp_href // empty'; }
dist_of() { sapi "$API/distributions/python/pypi/?name=$PRODUCT-$1-cpu" | jq -r ".results[0].$2 // empty"; }
latest_of() { sapi "$PULP_BASE_URL$1" | jq -r .latest_version_href; }
count_of() { sapi "$PULP_BASE_URL$1" | jq -r '.content_summary.present["python.python"].count // 0'; }
number_of() { basename "$1"; }

# Back to the grown index: production on version `base`, a new latest version with exactly
# base's content (`modify` with `base_version`; the staging distribution serves the latest, so
# Pulp would refuse to delete it), and every version in between deleted (a run's own, or an
# interrupted run's). Pulp folds a deleted version's changes into the next one, so the new
# latest version adds nothing and history stays as grown.
restore() { # release base-number
  local repo dist task n latest
  repo=$(repo_of "$1"); dist=$(dist_of "$1" pulp_href)
  task=$(sjson -X PATCH -d "{\"repository_version\":\"${repo}versions/$2/\",\"repository\":null}" "$PULP_BASE_URL$dist" | jq -r '.task // empty')
  [ -z "$task" ] || wait_task "$task"
  latest=$(number_of "$(latest_of "$repo")")
  if (( latest > $2 )); then
    task=$(sjson -X POST -d "{\"base_version\":\"${repo}versions/$2/\"}" "$PULP_BASE_URL${repo}modify/" | jq -r .task)
    wait_task "$task"
    latest=$(number_of "$(latest_of "$repo")")
  fi
  for n in $(sapi "$PULP_BASE_URL${repo}versions/?limit=1000&fields=number" | jq -r --argjson b "$2" --argjson l "$latest" '.results[].number | select(. > $b and . < $l)'); do
    task=$(sapi -X DELETE "$PULP_BASE_URL${repo}versions/$n/" | jq -r .task)
    wait_task "$task"
  done
}

declare -A BASE GROWN
GROWN_SECS=0
grow() { # projects → the release holds projects × PER files in its latest version (once)
  local p="$1" rel repo files count base i d
  rel=$(rel_of "$p"); files=$((p * PER))
  "${WG[@]}" init --release "$rel" >/dev/null
  repo=$(repo_of "$rel")
  count=$(count_of "$(latest_of "$repo")")
  if (( count > files )); then
    # Left over by an interrupted run: back to the newest version holding exactly the index.
    base=$(sapi "$PULP_BASE_URL${repo}versions/?limit=1000&fields=number,content_summary" \
      | jq -r --argjson f "$files" '[.results[] | select((.content_summary.present["python.python"].count // 0) == $f) | .number] | max // empty')
    [ -n "$base" ] || die "$PRODUCT-$rel-cpu holds $count files and no version holds exactly $files; delete its objects or set BENCH_SCALE_PRODUCT"
    say "$rel: removing an earlier run's versions (back to version $base)"
    restore "$rel" "$base"
    count=$(count_of "$(latest_of "$repo")")
  fi
  if (( count < files )); then
    say "$rel: growing the index to $p projects × $PER files (once per machine)"
    local t0; t0=$(now)
    for ((i = 0; i < PER; i++)); do
      d="$WORK/grow-$rel-$i"
      "$FIX" set --count "$p" --min-size 500 --max-size 3000 --seed $((1000 + i)) --prefix sb --tag "${TAGS[$i]}" --out "$d" >/dev/null
      # Idempotent (present files are skipped, known bytes reused): retried when a busy Pulp fails.
      local try
      for try in 1 2 3; do
        "${WG[@]}" upload --release "$rel" --variant cpu --jobs 4 --build-id "grow-$i" "$d" >/dev/null && break
        (( try < 3 )) || die "$rel: growth upload $i failed 3 times"
        say "$rel: growth upload $i failed; again in 10 s"; sleep 10
      done
      rm -rf "$d"
    done
    count=$(count_of "$(latest_of "$repo")")
    GROWN[$rel]=$(elapsed "$t0" "$(now)")
    GROWN_SECS=$(( GROWN_SECS + ${GROWN[$rel]%.*} ))
    say "$rel: grown in ${GROWN[$rel]} s"
  fi
  (( count == files )) || die "$PRODUCT-$rel-cpu holds $count files, expected $files"
  BASE[$rel]=$(number_of "$(latest_of "$repo")")
}

# --- requests per command (wheelgate -v logs one line per request) --------------------------
# Counts the request lines of a -v log by kind: "total listing:N pages:N ..." .
request_kinds() {
  python3 - "$1" <<'EOF'
import re, sys, collections
kinds = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    # One line per request: pulp-client's "done status=…", the index client's "response".
    if "done status=" not in line and not re.search(r"(: response|no response)", line):
        continue
    urls = re.findall(r'url=(\S+?)[}\s]', line)
    if not urls:
        continue
    u = urls[-1]
    if "/simple/" in u:
        k = "index pages"
    elif "login/" in u:
        k = "login"
    elif "content/python/packages/" in u and "filename__in" in u:
        k = "file look-ups"
    elif "content/python/packages/" in u and "name__in" in u:
        k = "project look-ups"
    elif "content/python/packages/" in u and "repository_version_added" in u:
        k = "listing pages of a version's additions"
    elif "content/python/packages/" in u and "repository_version_removed" in u:
        k = "listing pages of a version's removals"
    elif "content/python/packages/" in u and "repository_version=" in u:
        k = "listing pages of a whole version"
    elif "content/python/packages/" in u and "sha256__in" in u:
        k = "sha256 look-ups"
    elif "content/python/packages/" in u and "_between" in u:
        k = "added/removed between"
    elif "content/python/packages/" in u:
        k = "package uploads/look-ups"
    elif "/tasks/" in u:
        k = "task polls"
    elif "/file/" in u:
        k = "ledger"
    else:
        k = "objects"
    kinds[k] += 1
print(sum(kinds.values()), "; ".join(f"{k} {n}" for k, n in kinds.most_common()))
EOF
}

# --- one index -----------------------------------------------------------------------------
declare -A R        # "<size>:<figure>" → value
measure_index() { # size-label projects
  local s="$1" p="$2" rel repo base d n v1 v2 idx a b c i
  rel=$(rel_of "$p"); repo=$(repo_of "$rel"); base=${BASE[$rel]}
  idx="$(dist_of "$rel" base_url)"; idx="${idx%/}/simple"
  say "[$s] $rel: $((p * PER)) files, $p projects (version $base)"
  restore "$rel" "$base" # production on the grown index (init pins a new one to version 0)
  local tagargs=()
  for ((i = 0; i < PER; i++)); do tagargs+=(--tag "${TAGS[$i]}"); done

  # Upload of a new build (new projects, 10-100 KB wheels, as in config/bench.sh).
  d="$WORK/build-$s"
  "$FIX" set --count "$BUILD" --min-size 10000 --max-size 100000 --seed 7 --prefix "n$RUN$s" "${tagargs[@]}" --out "$d" >/dev/null
  R[$s:upload]=$(timed "$WORK/up-$s.log" "${WG[@]}" --output json upload --release "$rel" --variant cpu --jobs 4 --build-id "b$RUN" "$d")
  v1=$(jq -r .version "$WORK/up-$s.log")
  R[$s:noop]=$(rounds "noop-$s" "${WG[@]}" --output json upload --release "$rel" --variant cpu --build-id "b$RUN" "$d")
  "$BIN" -v --catalog "$CATALOG" --output json upload --release "$rel" --variant cpu --build-id "b$RUN" "$d" >/dev/null 2>"$WORK/noop-$s.v"
  R[$s:noop_req]=$(request_kinds "$WORK/noop-$s.v")
  # One more project: the change the promote/rollback flips are about.
  mkdir -p "$WORK/extra-$s"
  "$FIX" wheel --name "x$RUN$s" --version 1.0 --out "$WORK/extra-$s" >/dev/null
  R[$s:upload1]=$(timed "$WORK/up1-$s.log" "${WG[@]}" --output json upload --release "$rel" --variant cpu --build-id "x$RUN" "$WORK/extra-$s")
  v2=$(jq -r .version "$WORK/up1-$s.log")
  say "[$s] upload ${R[$s:upload]} s (version $v1), no-op ${R[$s:noop]} s, one file ${R[$s:upload1]} s (version $v2)"

  R[$s:status]=$(rounds "status-$s" "${WG[@]}" status --release "$rel")
  "$BIN" -v --catalog "$CATALOG" status --release "$rel" >/dev/null 2>"$WORK/status-$s.v"
  R[$s:status_req]=$(request_kinds "$WORK/status-$s.v")
  R[$s:diff1]=$(rounds "diff1-$s" "${WG[@]}" diff --release "$rel" --variant cpu --from "$v1" --to "$v2")
  "$BIN" -v --catalog "$CATALOG" diff --release "$rel" --variant cpu --from "$v1" --to "$v2" >/dev/null 2>"$WORK/diff1-$s.v"
  R[$s:diff1_req]=$(request_kinds "$WORK/diff1-$s.v")
  R[$s:diffb]=$(rounds "diffb-$s" "${WG[@]}" diff --release "$rel" --variant cpu --from "$base" --to "$v1")
  # vet with a cold cache: emptied before each round.
  local cold="$WORK/vet-cold-cache" warm="$WORK/vet-warm-cache" vetted="$WORK/vet-vetted-cache"
  empty_cold() { rm -rf "$cold"; }
  R[$s:vet_cold]=$(rounds_after "vetcold-$s" empty_cold "${WG[@]}" --cache-dir "$cold" vet --release "$rel" --variant cpu --version "$v2")
  empty_cold
  "$BIN" -v --cache-dir "$cold" --catalog "$CATALOG" vet --release "$rel" --variant cpu --version "$v2" >/dev/null 2>"$WORK/vetcold-$s.v"
  R[$s:vet_cold_req]=$(request_kinds "$WORK/vetcold-$s.v")
  # vet of v2 when v1 (the build) was vetted on this machine: a fresh copy of that cache per round.
  rm -rf "$vetted"
  "${WG[@]}" --cache-dir "$vetted" vet --release "$rel" --variant cpu --version "$v1" >/dev/null
  copy_vetted() { rm -rf "$warm"; cp -a "$vetted" "$warm"; }
  R[$s:vet]=$(rounds_after "vet-$s" copy_vetted "${WG[@]}" --cache-dir "$warm" vet --release "$rel" --variant cpu --version "$v2")
  copy_vetted
  "$BIN" -v --cache-dir "$warm" --catalog "$CATALOG" vet --release "$rel" --variant cpu --version "$v2" >/dev/null 2>"$WORK/vet-$s.v"
  R[$s:vet_req]=$(request_kinds "$WORK/vet-$s.v")
  # From here on the commands use the cache vet left, as on a release engineer's machine
  # that vets and then promotes: the whole-version reads after a switch are replays.
  rm -rf "$WORKCACHE"
  mv "$warm" "$WORKCACHE"
  rm -rf "$cold" "$vetted"
  say "[$s] status ${R[$s:status]} s, diff ${R[$s:diff1]} s / ${R[$s:diffb]} s, vet ${R[$s:vet]} s (cold cache ${R[$s:vet_cold]} s)"

  # Promote the new build (from the grown index): its cost grows with the change.
  local first="n$RUN$s-0000"
  served_at() { # url expected-status → the time it is first seen (from bench.sh; gives up after 60 s)
    local i
    for ((i = 0; i < 3000; i++)); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.pypi.simple.v1+json' "$1")" = "$2" ] && break
      sleep 0.02
    done
    now
  }
  timed_switch() { # page expected-status log command... → "served done"
    local page="$1" want="$2" log="$3" t0 seen done_at; shift 3
    t0=$(now)
    served_at "$idx/$page/" "$want" >"$WORK/seen" &
    if "$@" >"$log" 2>"$log.err"; then done_at=$(now); else say "FAILED: ${*:1:6} ($(tail -2 "$log.err" | tr '\n' ' '))"; done_at=failed; fi
    wait
    seen=$(cat "$WORK/seen")
    if [ "$done_at" = failed ]; then echo "failed failed"; else echo "$(elapsed "$t0" "$seen") $(elapsed "$t0" "$done_at")"; fi
  }
  read -r a b < <(timed_switch "$first" 200 "$WORK/pb-$s.log" "${WG[@]}" --output json promote --release "$rel" --variant cpu --version "$v1" --yes)
  R[$s:pbuild]=$a; R[$s:pbuild_cmd]=$b
  R[$s:pbuild_pages]=$(jq -r '.pages_checked.cpu // "-"' "$WORK/pb-$s.log" 2>/dev/null || echo -)

  # Promote/rollback of one project vs the raw flip (alternating, as config/bench.sh does).
  local dist; dist=$(dist_of "$rel" pulp_href)
  raw_switch() { # version expected-status → seconds: log in, PATCH, task wait, index poll
    # A script around curl that logs in once, as wheelgate does: one password check, then a
    # session for the PATCH and the task polls.
    local t0 task seen jar="$WORK/raw-cookies" csrf state k
    t0=$(now)
    curl -sf -c "$jar" -u "$PULP_USERNAME:$PULP_PASSWORD" -X POST "$API/login/" -o /dev/null
    csrf=$(awk '$6 == "csrftoken" { print $7 }' "$jar")
    local c=(-sf -b "$jar" -H "X-CSRFToken: $csrf" -H "Origin: $PULP_BASE_URL")
    task=$(curl "${c[@]}" -H 'content-type: application/json' -X PATCH -d "{\"repository_version\":\"${repo}versions/$1/\",\"repository\":null}" "$PULP_BASE_URL$dist" | jq -r '.task // empty')
    for ((k = 0; k < 600; k++)); do
      [ -n "$task" ] || break
      state=$(curl "${c[@]}" "$PULP_BASE_URL$task" | jq -r .state)
      case "$state" in completed) break ;; failed|canceled) say "raw flip task $state"; break ;; esac
      sleep 0.1
    done
    seen=$(served_at "$idx/x$RUN$s/" "$2")
    curl "${c[@]}" -X DELETE "$API/login/" -o /dev/null || true
    elapsed "$t0" "$seen"
  }
  local p_lat=() p_cmd=() r_lat=() r_cmd=() rp=() rr=() pages=()
  for ((i = 0; i < FLIPS; i++)); do
    read -r a b < <(timed_switch "x$RUN$s" 200 "$WORK/p-$s-$i.log" "${WG[@]}" --output json promote --release "$rel" --variant cpu --version "$v2" --yes)
    p_lat+=("$a"); p_cmd+=("$b"); pages+=("$(jq -r '.pages_checked.cpu // "-"' "$WORK/p-$s-$i.log" 2>/dev/null || echo -)")
    read -r a b < <(timed_switch "x$RUN$s" 404 "$WORK/r-$s-$i.log" "${WG[@]}" --output json rollback --release "$rel" --variant cpu --yes)
    r_lat+=("$a"); r_cmd+=("$b")
    rp+=("$(raw_switch "$v2" 200)")
    rr+=("$(raw_switch "$v1" 404)")
  done
  "$BIN" -v --catalog "$CATALOG" promote --release "$rel" --variant cpu --version "$v2" --yes >/dev/null 2>"$WORK/promote-$s.v"
  R[$s:promote_req]=$(request_kinds "$WORK/promote-$s.v")
  "$BIN" -v --catalog "$CATALOG" rollback --release "$rel" --variant cpu --yes >/dev/null 2>"$WORK/rollback-$s.v"
  R[$s:rollback_req]=$(request_kinds "$WORK/rollback-$s.v")
  R[$s:promote]=$(median "${p_lat[@]}"); R[$s:promote_cmd]=$(median "${p_cmd[@]}")
  R[$s:rollback]=$(median "${r_lat[@]}"); R[$s:rollback_cmd]=$(median "${r_cmd[@]}")
  R[$s:raw_p]=$(median "${rp[@]}"); R[$s:raw_r]=$(median "${rr[@]}")
  R[$s:promote_range]=$(spread "${p_lat[@]}"); R[$s:rollback_range]=$(spread "${r_lat[@]}")
  R[$s:raw_p_range]=$(spread "${rp[@]}"); R[$s:raw_r_range]=$(spread "${rr[@]}")
  R[$s:pages]="${pages[0]}"
  say "[$s] promote ${R[$s:promote]} s / done ${R[$s:promote_cmd]} s, rollback ${R[$s:rollback]} s / ${R[$s:rollback_cmd]} s, raw ${R[$s:raw_p]} / ${R[$s:raw_r]} s"

  # Raw reads: what reading the whole index through the API costs (curl, session).
  local latest t0 url
  latest=$(latest_of "$repo")
  t0=$(now); url="$API/content/python/packages/?repository_version=$latest&fields=filename,sha256&limit=1000"
  n=0
  while [ -n "$url" ]; do
    url=$(sapi "$url" | jq -r '.next // empty'); n=$((n + 1))
    [ -z "$url" ] || [[ "$url" == http* ]] || url="$PULP_BASE_URL$url"
  done
  R[$s:list]=$(elapsed "$t0" "$(now)"); R[$s:list_pages]=$n
  t0=$(now)
  R[$s:root_bytes]=$(curl -s -H 'Accept: application/vnd.pypi.simple.v1+json' "$idx/" | wc -c)
  R[$s:root]=$(elapsed "$t0" "$(now)")

  # curl ×4 (session) to the synchronous endpoint + one modify: the raw upload of a build.
  R[$s:curl]=skipped
  if [ "$CURL" = 1 ]; then
  d="$WORK/curl-$s"
  "$FIX" set --count "$BUILD" --min-size 10000 --max-size 100000 --seed 9 --prefix "c$RUN$s" "${tagargs[@]}" --out "$d" >/dev/null
  t0=$(now)
  ls "$d"/*.whl | xargs -P4 -I{} curl -sf -b "$JAR" -H "X-CSRFToken: $CSRF" -H "Origin: $PULP_BASE_URL" -F file=@{} "$API/content/python/packages/upload/" | jq -r .pulp_href >"$WORK/curl-$s.hrefs"
  task=$(jq -R . <"$WORK/curl-$s.hrefs" | jq -s '{add_content_units: .}' | sjson -X POST -d @- "$PULP_BASE_URL${repo}modify/" | jq -r .task)
  wait_task "$task"
  R[$s:curl]=$(elapsed "$t0" "$(now)")
  [ "$(wc -l <"$WORK/curl-$s.hrefs")" = "$BUILD" ] || R[$s:curl]=failed
  fi
  say "[$s] curl ×4 + modify $(sec "${R[$s:curl]}"); listing the whole version ${R[$s:list]} s ($n pages); root page ${R[$s:root]} s"

  restore "$rel" "$base"
  rm -rf "$WORK/build-$s" "$WORK/curl-$s"
}

# --- run ---------------------------------------------------------------------------------------
grow "$SMALL_P"
grow "$BIG_P"
measure_index small "$SMALL_P"
measure_index big "$BIG_P"

# --- report ------------------------------------------------------------------------------------
growth() { python3 -c "
try: print(f'{float(\"$2\")/float(\"$1\"):.2f}×')
except Exception: print('-')"; }
verdict() { python3 -c "
try: print('PASS' if $1 else 'FAIL')
except Exception: print('n/a')"; }
row() { # label small big target verdict
  echo "| $1 | $2 | $3 | $(growth "${2% s*}" "${3% s*}") | $4 | $5 |"
}
status_json=$(curl -s "$API/status/")
core=$(echo "$status_json" | jq -r '.versions[] | select(.component=="core") | .version')
py=$(echo "$status_json" | jq -r '.versions[] | select(.component=="python") | .version')
mode=full; [ "$QUICK" = 1 ] && mode="quick (BENCH_SCALE_QUICK=1)"
sv() { echo "${R[small:$1]:-failed}"; }
bv() { echo "${R[big:$1]:-failed}"; }
verify_small=$(awk -v d="$(sv promote_cmd)" -v s="$(sv promote)" 'BEGIN { printf "%.2f", d - s }')
verify_big=$(awk -v d="$(bv promote_cmd)" -v s="$(bv promote)" 'BEGIN { printf "%.2f", d - s }')
section=$(
  echo "<!-- scale:begin (written by config/bench-scale.sh; edit the script, not this section) -->"
  echo "## Scale (issue 10)"
  echo
  echo "Written by \`config/bench-scale.sh\` on $(date -u +%Y-%m-%dT%H:%MZ), mode $mode, in $(( $(date +%s) - T_START )) s. Not a test: this machine is shared and noisy."
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "Pulp: pulpcore $core + pulp-python $py, local plain layout (API 2 gunicorn workers, 2 task workers, PostgreSQL), on the same machine."
  echo "wheelgate $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates src 2>/dev/null || echo ' + uncommitted changes'), release build; curl $(curl --version | head -1 | cut -d' ' -f2), with a session cookie (one password check, like wheelgate)."
  echo
  echo "Indexes (one variant each, grown once per machine by wheelgate in $PER builds, reused): **small** $SMALL_FILES files in $SMALL_P projects, **big** $BIG_FILES files in $BIG_P projects ($PER wheels per project, one per tag). Each run adds a new build of $BUILD wheels of 10–100 KB (new projects), then one wheel of one more project, measures, and deletes its versions again. Medians of $ROUNDS runs for the read-only commands, of $FLIPS rounds for the flips (range in brackets)."
  echo
  echo "| figure | small index ($SMALL_FILES files) | big index ($BIG_FILES files) | growth | target (big index) | verdict |"
  echo "|---|---|---|---|---|---|"
  row "upload of a new $BUILD-file build (\`--jobs 4\`)" "$(sec "$(sv upload)")" "$(sec "$(bv upload)")" "—" "—"
  row "the same, curl ×4 to \`upload/\` + one modify (raw)" "$(sec "$(sv curl)")" "$(sec "$(bv curl)")" "—" "wheelgate $(growth "$(bv curl)" "$(bv upload)") of curl"
  row "no-op re-upload of that build" "$(sec "$(sv noop)")" "$(sec "$(bv noop)")" "< 2 s" "$(verdict "float('$(bv noop)') < 2")"
  row "upload of one new file" "$(sec "$(sv upload1)")" "$(sec "$(bv upload1)")" "—" "—"
  row "\`status\`" "$(sec "$(sv status)")" "$(sec "$(bv status)")" "< 2 s" "$(verdict "float('$(bv status)') < 2")"
  row "\`diff\`, one project changed" "$(sec "$(sv diff1)")" "$(sec "$(bv diff1)")" "—" "—"
  row "\`diff\`, the $BUILD-file build" "$(sec "$(sv diffb)")" "$(sec "$(bv diffb)")" "—" "—"
  row "\`vet\` of the new version, cold cache (every version's changes read from Pulp; recorded)" "$(sec "$(sv vet_cold)")" "$(sec "$(bv vet_cold)")" "—" "—"
  row "\`vet\` of the new version (one file more) after the build's version was vetted on this machine (warm cache; the target's row)" "$(sec "$(sv vet)")" "$(sec "$(bv vet)")" "< 3 s" "$(verdict "float('$(bv vet)') < 3")"
  row "\`promote\` one project: new content served" "$(sec "$(sv promote)") ($(sv promote_range))" "$(sec "$(bv promote)") ($(bv promote_range))" "≤ raw + 0.5 s = $(awk -v r="$(bv raw_p)" 'BEGIN { printf "%.2f", r + 0.5 }') s" "$(verdict "float('$(bv promote)') <= float('$(bv raw_p)') + 0.5")"
  row "\`promote\` one project: command done" "$(sec "$(sv promote_cmd)")" "$(sec "$(bv promote_cmd)")" "—" "—"
  row "raw PATCH + task wait + index poll, promote direction" "$(sec "$(sv raw_p)") ($(sv raw_p_range))" "$(sec "$(bv raw_p)") ($(bv raw_p_range))" "—" "—"
  row "\`rollback\` one project: new content served" "$(sec "$(sv rollback)") ($(sv rollback_range))" "$(sec "$(bv rollback)") ($(bv rollback_range))" "≤ raw + 0.5 s = $(awk -v r="$(bv raw_r)" 'BEGIN { printf "%.2f", r + 0.5 }') s" "$(verdict "float('$(bv rollback)') <= float('$(bv raw_r)') + 0.5")"
  row "\`rollback\` one project: command done" "$(sec "$(sv rollback_cmd)")" "$(sec "$(bv rollback_cmd)")" "—" "—"
  row "raw PATCH + task wait + index poll, rollback direction" "$(sec "$(sv raw_r)") ($(sv raw_r_range))" "$(sec "$(bv raw_r)") ($(bv raw_r_range))" "—" "—"
  row "promote's verification (done − served), pages read" "$verify_small s, $(sv pages) pages" "$verify_big s, $(bv pages) pages" "independent of unchanged projects: the same pages" "$(verdict "'$(sv pages)' == '$(bv pages)' != '-'")"
  row "\`promote\` of the $BUILD-file build: served / done ($(sv pbuild_pages) / $(bv pbuild_pages) pages)" "$(sv pbuild) / $(sv pbuild_cmd) s" "$(bv pbuild) / $(bv pbuild_cmd) s" "grows with the change" "—"
  row "raw: list the whole version (filename, sha256; $(sv list_pages) / $(bv list_pages) pages of 1000)" "$(sec "$(sv list)")" "$(sec "$(bv list)")" "—" "—"
  row "raw: the index root page ($(sv root_bytes) / $(bv root_bytes) bytes)" "$(sec "$(sv root)")" "$(sec "$(bv root)")" "—" "—"
  echo
  echo "Requests per command (\`wheelgate -v\`, one line per request; small → big):"
  echo
  echo "| command | small index | big index |"
  echo "|---|---|---|"
  echo "| no-op re-upload | $(sv noop_req) | $(bv noop_req) |"
  echo "| \`status\` | $(sv status_req) | $(bv status_req) |"
  echo "| \`diff\`, one project | $(sv diff1_req) | $(bv diff1_req) |"
  echo "| \`vet\`, warm cache | $(sv vet_req) | $(bv vet_req) |"
  echo "| \`vet\`, cold cache | $(sv vet_cold_req) | $(bv vet_cold_req) |"
  echo "| \`promote\` one project | $(sv promote_req) | $(bv promote_req) |"
  echo "| \`rollback\` one project | $(sv rollback_req) | $(bv rollback_req) |"
  echo
  echo "- \"New content served\": command start → a poller (curl every 20 ms) sees the changed project page on the production index; \"command done\": after the read-back verification (\`--verify changed\`: the root page, the changed pages and 8 unchanged ones, which expects every file of the target version: replayed from the cache of version changes that vet left, as on a machine that vets and then promotes; without it, add the whole-version listing below) and the ledger record. promote and rollback run with \`--yes\`, so the diff is read while Pulp applies the switch. The raw flip is a curl PATCH of the distribution's \`repository_version\`, the task wait and the same poll, with the same session. wheelgate and raw flips alternate."
  echo "- Growth = big ÷ small. A figure that grows with the index, not with the change, is a cost of reading the whole version (see the request counts)."
  grew=""
  for k in noop:no-op status:status diff1:diff vet:vet promote:promote; do
    a=$(sv "${k%%:*}_req" | cut -d' ' -f1); b=$(bv "${k%%:*}_req" | cut -d' ' -f1)
    if [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] && (( b > a )); then grew+="${grew:+, }${k#*:} $a → $b"; fi
  done
  echo "- Commands whose requests grow with the index: ${grew:-none}. What grows is reading every file of a version — whole-version package listings (\`content/python/packages/?repository_version=…\`) or, for \`vet\` with a cold cache, every version's additions (\`repository_version_added=…\`), which hold the same files once (with the cache, only the versions not read before on this machine): Pulp's time per listing page grows with the files it returns, whatever the fields (listing all of the big version took $(bv list) s here), whatever the change."
  if [ -n "${GROWN[*]:-}" ]; then
    echo "- Growing the indexes this run: $(for k in "${!GROWN[@]}"; do printf '%s %s s; ' "$k" "${GROWN[$k]}"; done | sed 's/; $//')."
  fi
  echo "- Rerun: \`bash config/bench-scale.sh\` (about $(( ($(date +%s) - T_START - GROWN_SECS) / 60 + 1 )) minutes here once the indexes exist), or \`BENCH_SCALE_QUICK=1 bash config/bench-scale.sh\` (< 3 minutes on an idle 2-core machine)."
  echo "<!-- scale:end -->"
)
if [ "${BENCH_SCALE_WRITE:-1}" = 0 ]; then
  echo "$section"
  exit 0
fi
# Replace only this section (the other scripts write theirs); insert it before the mirror
# section, or at the end, when it is not there yet.
printf '%s\n' "$section" >"$WORK/section.md"
python3 "$HERE/bench-section.py" docs/benchmarks.md scale "$WORK/section.md" bench-mirror
echo "$section"
