#!/usr/bin/env bash
# `make bench-mirror` (and the last workload of `make bench`): mirror a promoted 3-variant
# release through the plain layout's TLS front with the customer client certificate, side by
# side with what a customer would otherwise use, in one run:
#
#   wheelgate mirror --all (cold, then a no-op re-run)    curl ×8 of every page, then every file
#   pip download, all projects in one command per variant  pip download per project (a loop)
#   Pulp sync (python remotes with client_cert/client_key/ca_cert, policy immediate)
#
# wheelgate's cold run and three curl runs (xargs -P8; one curl --parallel-max 8; the same with
# the .metadata files wheelgate also fetches) alternate over BENCH_MIRROR_ROUNDS rounds; the
# verdict is the median of the per-round ratios. wheelgate runs with -v: its request log splits
# its time into phases. Requests and bytes come from the front's access log (this run's paths).
#
# Writes its section ("## Mirror a release", between <!-- bench-mirror --> markers) into
# docs/benchmarks.md: replaced in place, or appended; the other sections are left alone.
# A benchmark, not a test.
#
#   BENCH_MIRROR_FILES    distinct wheels in the release (default 300)
#   BENCH_MIRROR_SHARED   of those, wheels every variant serves (default 30); the others are
#                         dealt round-robin to the 3 variants
#   BENCH_MIRROR_SIZES    size bands "min-max:weight,..." (default 10K-100K:50,100K-1M:35,1M-2M:15)
#   BENCH_MIRROR_ROUNDS   rounds of wheelgate cold / curl, alternating (default 3)
#   BENCH_MIRROR_TOOLS    subset of: wheelgate curl pip piploop pulp (default all)
#   BENCH_MIRROR_QUICK=1  36 files of 10 KB-256 KB, 1 round, section to .build/bench/ only
#   BENCH_MIRROR_DOC      file to write the section into (default docs/benchmarks.md;
#                         quick mode: .build/bench/benchmarks-mirror.md)
#   BENCH_PULP_AREA       where the local Pulps' cli.toml/env are (default .build/pulp)
#   BENCH_FRONT_AREA      where the TLS fronts' front.env are (default .build/front)
#
# Needs: the plain layout's Pulp and TLS front (make pulp-up front-up), the release binaries
# (cargo build --release --workspace --bins). The Pulp sync goes into the hosted layout's Pulp
# (another Pulp with its own database and storage, as a customer's Pulp would be) when it is up,
# and into a second repository of the plain Pulp too, where Pulp finds every file already
# stored (its sha256 is known) and downloads nothing. Like bench.sh, a run leaves its product
# (repositories, distributions, ~140 MB of content) in both Pulps.
#
# A few helpers (say, now, elapsed, median, spread, the admin API call) are duplicated from
# config/bench.sh rather than sourced: bench.sh runs its workloads at top level when sourced.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
QUICK="${BENCH_MIRROR_QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  FILES="${BENCH_MIRROR_FILES:-36}"; SHARED="${BENCH_MIRROR_SHARED:-6}"
  SIZES="${BENCH_MIRROR_SIZES:-10K-100K:60,100K-256K:40}"; ROUNDS="${BENCH_MIRROR_ROUNDS:-1}"
  DOC="${BENCH_MIRROR_DOC:-$ROOT/.build/bench/benchmarks-mirror.md}"
else
  FILES="${BENCH_MIRROR_FILES:-300}"; SHARED="${BENCH_MIRROR_SHARED:-30}"
  SIZES="${BENCH_MIRROR_SIZES:-10K-100K:50,100K-1M:35,1M-2M:15}"; ROUNDS="${BENCH_MIRROR_ROUNDS:-3}"
  DOC="${BENCH_MIRROR_DOC:-$ROOT/docs/benchmarks.md}"
fi
TOOLS="${BENCH_MIRROR_TOOLS:-wheelgate curl pip piploop pulp}"
VARIANTS=(cpu-ubi9 cuda12.9-ubi9 rocm6.4-ubi9)
REL=1.0
RUN="m$(date +%s)"
PRODUCT="bm$RUN"
WORK="$ROOT/.build/bench/$RUN"
# The cache of version changes (vet, promote) of this run, not the user's ~/.cache/wheelgate.
export WHEELGATE_CACHE_DIR="$WORK/cache"
VENV="$ROOT/.build/bench/venv"
BIN="$ROOT/target/release/wheelgate"
FIX="$ROOT/target/release/wheelgate-fixtures"
AREA="${BENCH_PULP_AREA:-$ROOT/.build/pulp}"
FRONT_AREA="${BENCH_FRONT_AREA:-$ROOT/.build/front}"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

say() { echo "bench-mirror: $*" >&2; }
has() { [[ " $TOOLS " == *" $1 "* ]]; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
env_get() { sed -n "s/^$2=//p" "$1" | tail -1; }

for f in "$BIN" "$FIX"; do
  [ -x "$f" ] || { say "$f missing: cargo build --release --workspace --bins"; exit 1; }
done
FRONT_ENV="$FRONT_AREA/plain/front.env"
[ -f "$FRONT_ENV" ] || { say "no TLS front for the plain layout ($FRONT_ENV): make front-up"; exit 1; }
FRONT_URL=$(env_get "$FRONT_ENV" FRONT_URL)
CERT=$(env_get "$FRONT_ENV" FRONT_CLIENT_CERT)       # customer key + certificate, one PEM
CA=$(env_get "$FRONT_ENV" FRONT_CA_BUNDLE)
ACCESS_LOG=$(env_get "$FRONT_ENV" FRONT_ACCESS_LOG)
CLI_TOML="$AREA/plain/cli.toml"
# The plain Pulp (uploads, and the same-Pulp sync) and, when up, the hosted one (the sync).
P_BASE=$(env_get "$AREA/plain/env" PULP_BASE_URL)
P_API="$P_BASE$(env_get "$AREA/plain/env" PULP_API_ROOT)api/v3"
P_AUTH="$(env_get "$AREA/plain/env" PULP_USERNAME):$(env_get "$AREA/plain/env" PULP_PASSWORD)"
H_BASE="" H_API="" H_AUTH=""
if [ -f "$AREA/hosted/env" ]; then
  H_BASE=$(env_get "$AREA/hosted/env" PULP_BASE_URL)
  H_API="$H_BASE$(env_get "$AREA/hosted/env" PULP_API_ROOT)$(env_get "$AREA/hosted/env" PULP_DOMAIN)/api/v3"
  H_AUTH="$(env_get "$AREA/hosted/env" PULP_USERNAME):$(env_get "$AREA/hosted/env" PULP_PASSWORD)"
  curl -sf -o /dev/null "$H_API/status/" || { say "hosted Pulp not answering: the sync into another Pulp is skipped"; H_BASE=""; }
fi
index_url() { echo "$FRONT_URL/pypi/$PRODUCT/$REL/$1/simple/"; }

# --- tools ---------------------------------------------------------------------------------
command -v jq >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq jq >/dev/null; }
if ! [ -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if [ ! -f "$VENV/.pip-upgraded" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip && touch "$VENV/.pip-upgraded"
fi
# pip as a customer runs it: no config file, no cache, none of this machine's PIP_*/CA settings
# (REQUESTS_CA_BUNDLE would override --cert).
pip_clean() {
  env -u PIP_FIND_LINKS -u PIP_CERT -u PIP_CLIENT_CERT -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL \
    -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR \
    PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$VENV/bin/python" -m pip "$@"
}
PIP_FLAGS=(download --no-deps --only-binary :all: --client-cert "$CERT" --cert "$CA" -q)
CURL=(curl -sf --no-progress-meter --cert "$CERT" --cacert "$CA")
ACCEPT_JSON='Accept: application/vnd.pypi.simple.v1+json'

api() { # base-auth, curl args...: the admin API of one of the Pulps
  local auth="$1"; shift
  curl -sf -u "$auth" -H 'content-type: application/json' "$@"
}
# The front's access log: requests and body bytes of this run's product since a mark.
mark() { wc -l <"$ACCESS_LOG"; }
traffic() { # mark → "requests bytes non2xx"
  tail -n +"$(($1 + 1))" "$ACCESS_LOG" | awk -v p="/$PRODUCT/" '
    index($4, p) { n++; b += $7; if ($6 !~ /^2/) e++ }
    END { printf "%d %d %d\n", n, b, e }'
}

# --- the release: 3 variants, FILES distinct wheels of mixed sizes, SHARED in every variant --
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "run $RUN: $FILES wheels ($SHARED shared), sizes $SIZES, product $PRODUCT"
GEN="$WORK/wheels"
mkdir -p "$GEN"
seed0=$(( $(date +%s) % 1000000 * 1000 ))   # new bytes every run: no Pulp knows them yet
IFS=, read -r -a BANDS <<<"$SIZES"
total_w=0
for b in "${BANDS[@]}"; do total_w=$((total_w + ${b##*:})); done
left=$FILES
for i in "${!BANDS[@]}"; do
  b=${BANDS[$i]} range=${BANDS[$i]%%:*}
  if ((i == ${#BANDS[@]} - 1)); then n=$left; else n=$((FILES * ${b##*:} / total_w)); fi
  left=$((left - n))
  ((n > 0)) || continue
  "$FIX" set --count "$n" --min-size "${range%-*}" --max-size "${range#*-}" --seed $((seed0 + i * 100)) \
    --prefix "mb-$i" --out "$GEN" >/dev/null
done
mapfile -t ALL < <(ls "$GEN"/*.whl | sort)
[ "${#ALL[@]}" = "$FILES" ] || { say "generated ${#ALL[@]} wheels, expected $FILES"; exit 1; }
# Deal: a shuffled order (fixed per run), the first SHARED to every variant, the rest round-robin.
mapfile -t ALL < <(printf '%s\n' "${ALL[@]}" | python3 -c "
import random, sys; l = sys.stdin.read().split(); random.Random($seed0).shuffle(l); print('\n'.join(l))")
for v in "${VARIANTS[@]}"; do mkdir -p "$WORK/build-$v"; done
for i in "${!ALL[@]}"; do
  if ((i < SHARED)); then
    for v in "${VARIANTS[@]}"; do ln "${ALL[$i]}" "$WORK/build-$v/"; done
  else
    ln "${ALL[$i]}" "$WORK/build-${VARIANTS[$(((i - SHARED) % 3))]}/"
  fi
done
DISTINCT_BYTES=$(du -cb "${ALL[@]}" | tail -1 | cut -f1)
LISTED=0
for v in "${VARIANTS[@]}"; do LISTED=$((LISTED + $(ls "$WORK/build-$v" | wc -l))); done
SIZE_MIN=$(stat -c %s "${ALL[@]}" | sort -n | head -1)
SIZE_MAX=$(stat -c %s "${ALL[@]}" | sort -n | tail -1)

CAT="$WORK/wheelgate.toml"
{
  echo "product = \"$PRODUCT\""
  for v in "${VARIANTS[@]}"; do printf '[variants."%s"]\npython = ["cp312"]\nplatforms = ["linux_x86_64"]\n' "$v"; done
  echo "[releases.\"$REL\"]"
  echo "variants = [$(printf '"%s",' "${VARIANTS[@]}" | sed 's/,$//')]"
  printf '[packages]\nallow = ["*"]\n'
  printf '[customer]\nindex_host = "%s"\nclient_cert = "%s"\nca_bundle = "%s"\n' "$FRONT_URL" "$CERT" "$CA"
} >"$CAT"
export PULP_CLI_CONFIG="$CLI_TOML"
WG=("$BIN" -q --catalog "$CAT")
t0=$(now)
"${WG[@]}" init --release "$REL" >/dev/null
for v in "${VARIANTS[@]}"; do
  "${WG[@]}" --output json upload --release "$REL" --variant "$v" --jobs 4 "$WORK/build-$v" >/dev/null
  "${WG[@]}" vet --release "$REL" --variant "$v" >/dev/null
done
"${WG[@]}" promote --release "$REL" --all --yes --reason "bench-mirror $RUN" >/dev/null
say "release published in $(elapsed "$t0" "$(now)") s: $FILES distinct wheels ($LISTED listed), $((DISTINCT_BYTES / 1048576)) MiB"
PROJECTS_PER_VARIANT=()
for v in "${VARIANTS[@]}"; do
  n=$("${CURL[@]}" -H "$ACCEPT_JSON" "$(index_url "$v")" | jq '.projects | length')
  PROJECTS_PER_VARIANT+=("$n")
done
say "served through the front: ${PROJECTS_PER_VARIANT[*]} projects per variant"

declare -A T REQ BYTES ERRS NFILES NOTE PH
record() { # key mark secs files
  local r b e
  read -r r b e < <(traffic "$2")
  T[$1]=$3 REQ[$1]=$r BYTES[$1]=$b ERRS[$1]=$e NFILES[$1]=$4
  say "$1: $3 s, $4 files, $r requests ($e not 2xx), $((b / 1048576)) MiB"
}
median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }
colmedian() { python3 -c "
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(' '.join(f'{statistics.median(c):.2f}' for c in zip(*rows)))"; }
spread() { python3 -c "import sys; v = sorted(map(float, sys.argv[1:])); print(f'{v[0]:.2f}–{v[-1]:.2f}')" "$@"; }

# --- wheelgate mirror ----------------------------------------------------------------------
TEMPLATE="$FRONT_URL/pypi/{product}/{release}/{variant}/simple/"
# -v: one log line per request, inside the mirror_plan / mirror_fetch spans (the phases below).
wg_mirror() { # dest → JSON summary on stdout, the request log on stderr
  "$BIN" -v --catalog "$CAT" --output json mirror --release "$REL" --all --dest "$1" \
    --index-url-template "$TEMPLATE" --cert "$CERT" --ca-bundle "$CA"
}
# "pages files rest" seconds: start → last page read, → last file fetched (after the last page
# when files are fetched while pages are read; 0 when none ends later), → process end.
phases() { # log t0 t1
  python3 - "$@" <<'PY'
import datetime, re, sys
log, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ts = lambda l: datetime.datetime.fromisoformat(l.split()[0].replace("Z", "+00:00")).timestamp()
plan = fetch = None
for l in open(log):
    if "index_request" in l:
        # File requests run in mirror_fetch (inside mirror_plan: pages and files overlap);
        # a no-op run's conditional root requests in mirror_revalidate.
        if "mirror_fetch" in l: fetch = ts(l)
        elif "mirror_plan" in l or "mirror_revalidate" in l: plan = ts(l)
plan = plan or t0
fetch = max(fetch or plan, plan)
print(f"{plan - t0:.2f} {fetch - plan:.2f} {t1 - fetch:.2f}")
PY
}
wg_cold() { # round
  local d="$WORK/wg-$1" m t0 t1
  rm -rf "$d"; sync
  m=$(mark); t0=$(now)
  wg_mirror "$d" >"$WORK/wg-$1.json" 2>"$WORK/wg-$1.err" || { say "wheelgate mirror failed: $(tail -3 "$WORK/wg-$1.err")"; T[wheelgate]=failed; return 1; }
  t1=$(now)
  record "wheelgate-$1" "$m" "$(elapsed "$t0" "$t1")" "$(jq .files "$WORK/wg-$1.json")"
  PH[wheelgate-$1]=$(phases "$WORK/wg-$1.err" "$t0" "$t1")
  say "  phases (pages files rest): ${PH[wheelgate-$1]}"
}

# --- curl ×8: every page (JSON), then every distinct file ----------------------------------
# (a) xargs -P8, one curl process (and TLS handshake) per URL; (b) one curl --parallel-max 8
# (connections reused); (c) as (b), also fetching each wheel's PEP 658 .metadata file, as
# wheelgate does (the same requests). Files are fetched once per sha256, as a script reading the
# hashes would.
curl_pages_then_files() { # mode (xargs|parallel|meta), dir → number of files
  local mode="$1" d="$2"
  mkdir -p "$d/pages" "$d/files"
  local roots="$d/roots.lst" pages="$d/pages.lst" files="$d/files.lst"
  : >"$roots"
  for v in "${VARIANTS[@]}"; do echo "$d/pages/$v.root.json $(index_url "$v")" >>"$roots"; done
  fetch_list() { # list of "out url", accept header or "" → fails if any transfer failed
    if [ "$mode" = xargs ]; then
      if [ -n "$2" ]; then xargs -P8 -L1 "${CURL[@]}" -H "$2" -o <"$1"; else xargs -P8 -L1 "${CURL[@]}" -o <"$1"; fi
    else
      awk '{ printf "output = \"%s\"\nurl = \"%s\"\n", $1, $2 }' "$1" >"$1.cfg"
      if [ -n "$2" ]; then "${CURL[@]}" --parallel --parallel-max 8 -H "$2" -K "$1.cfg"; else "${CURL[@]}" --parallel --parallel-max 8 -K "$1.cfg"; fi
    fi
  }
  fetch_list "$roots" "$ACCEPT_JSON" || return 1
  : >"$pages"
  for v in "${VARIANTS[@]}"; do
    jq -r --arg d "$d/pages/$v" --arg u "$(index_url "$v")" '.projects[].name | ascii_downcase | gsub("[-_.]+"; "-") | "\($d).\(.).json \($u)\(.)/"' "$d/pages/$v.root.json" >>"$pages"
  done
  fetch_list "$pages" "$ACCEPT_JSON" || return 1
  now >"$d/pages.done"
  jq -r --arg d "$d/files" --arg meta "$([ "$mode" = meta ] && echo 1)" '(.files // [])[] |
      "\(.hashes.sha256) \($d)/\(.filename) \(.url)",
      (select($meta == "1" and .["core-metadata"] != null) | "\(.hashes.sha256).m \($d)/\(.filename).metadata \(.url).metadata")' \
    "$d"/pages/*.*.json | sort -u -k1,1 | cut -d' ' -f2- >"$files"
  fetch_list "$files" "" || return 1
  grep -vc '\.metadata$' "$files"
}
curl_run() { # mode round
  local d="$WORK/curl-$1-$2" m t0 n secs
  rm -rf "$d"; sync
  m=$(mark); t0=$(now)
  if n=$(curl_pages_then_files "$1" "$d"); then
    secs=$(elapsed "$t0" "$(now)")
    record "curl-$1-$2" "$m" "$secs" "$n"
    PH[curl-$1-$2]="$(elapsed "$t0" "$(cat "$d/pages.done")") $(python3 -c "print(f'{$secs - ($(cat "$d/pages.done") - $t0):.2f}')")"
    say "  phases (pages files): ${PH[curl-$1-$2]}"
  else
    say "curl ($1) failed"; T["curl-$1-$2"]=failed
  fi
}

if has wheelgate || has curl; then
  wg_r=() cx_r=() cp_r=() cm_r=()
  for ((r = 1; r <= ROUNDS; r++)); do
    if has curl; then
      curl_run xargs "$r" && cx_r+=("${T[curl-xargs-$r]}")
      curl_run parallel "$r" && cp_r+=("${T[curl-parallel-$r]}")
      curl_run meta "$r" && cm_r+=("${T[curl-meta-$r]}")
    fi
    if has wheelgate; then wg_cold "$r" && wg_r+=("${T[wheelgate-$r]}"); fi
  done
  for k in wheelgate:wg_r curl-xargs:cx_r curl-parallel:cp_r curl-meta:cm_r; do
    declare -n arr="${k#*:}"
    if ((${#arr[@]})); then
      T[${k%%:*}]=$(median "${arr[@]}"); T[${k%%:*}_range]=$(spread "${arr[@]}")
      for x in REQ BYTES ERRS NFILES; do declare -n h=$x; h[${k%%:*}]=${h[${k%%:*}-1]}; unset -n h; done
      PH[${k%%:*}]=$(for ((r = 1; r <= ROUNDS; r++)); do echo "${PH[${k%%:*}-$r]:-}"; done | colmedian)
    fi
    unset -n arr
  done
fi
if has wheelgate && [ -s "$WORK/wg-1.json" ]; then
  # No-op re-run on the first round's tree (3 times; the median).
  noops=()
  for i in 1 2 3; do
    m=$(mark); t0=$(now)
    wg_mirror "$WORK/wg-1" >"$WORK/wg-noop.json" 2>"$WORK/wg-noop-$i.err"
    t1=$(now)
    record "noop-$i" "$m" "$(elapsed "$t0" "$t1")" "$(jq .downloaded "$WORK/wg-noop.json")"
    PH[noop-$i]=$(phases "$WORK/wg-noop-$i.err" "$t0" "$t1")
    say "  phases (pages files rest): ${PH[noop-$i]}"
    noops+=("${T[noop-$i]}")
  done
  T[noop]=$(median "${noops[@]}"); T[noop_range]=$(spread "${noops[@]}")
  PH[noop]=$(for i in 1 2 3; do echo "${PH[noop-$i]}"; done | colmedian)
  NOTE[wg_meta]=$(grep -c 'mirror_fetch.*\.metadata' "$WORK/wg-1.err" || true)
  REQ[noop]=${REQ[noop-1]} BYTES[noop]=${BYTES[noop-1]} NFILES[noop]=${NFILES[noop-1]}
  NOTE[wg_bytes]=$(jq .bytes_downloaded "$WORK/wg-1.json")
fi

# --- pip download ---------------------------------------------------------------------------
projects_of() { "${CURL[@]}" -H "$ACCEPT_JSON" "$(index_url "$1")" | jq -r '.projects[].name'; }
if has pip; then
  d="$WORK/pip"; m=$(mark); t0=$(now); ok=1
  for v in "${VARIANTS[@]}"; do
    mapfile -t ps < <(projects_of "$v")
    pip_clean "${PIP_FLAGS[@]}" --index-url "$(index_url "$v")" -d "$d/$v" "${ps[@]}" >"$WORK/pip-$v.log" 2>&1 ||
      { ok=0; say "pip ($v) failed: $(tail -3 "$WORK/pip-$v.log")"; }
  done
  secs=$(elapsed "$t0" "$(now)")
  if [ $ok = 1 ]; then record pip "$m" "$secs" "$(find "$d" -name '*.whl' | wc -l)"; else T[pip]=failed; fi
fi
if has piploop; then
  d="$WORK/piploop"; m=$(mark); t0=$(now); ok=1
  for v in "${VARIANTS[@]}"; do
    for p in $(projects_of "$v"); do
      pip_clean "${PIP_FLAGS[@]}" --index-url "$(index_url "$v")" -d "$d/$v" "$p" >>"$WORK/piploop.log" 2>&1 || ok=0
    done
  done
  secs=$(elapsed "$t0" "$(now)")
  if [ $ok = 1 ]; then record piploop "$m" "$secs" "$(find "$d" -name '*.whl' | wc -l)"; else T[piploop]=failed; say "pip loop failed: $(tail -3 "$WORK/piploop.log")"; fi
fi

# --- Pulp sync: one python remote + repository per variant, synced at once --------------------
if has pulp; then
  awk '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/' "$CERT" >"$WORK/client-cert.pem"
  awk '/-BEGIN .*PRIVATE KEY-/,/-END .*PRIVATE KEY-/' "$CERT" >"$WORK/client-key.pem"
  iso_epoch() { python3 -c "import datetime, sys; print(datetime.datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')).timestamp())" "$1"; }
  pulp_sync() { # key base api auth → records T[key]; NOTE[key] = artifacts downloaded
    local key="$1" base="$2" api_="$3" auth="$4" v remote repo task m t0 last=0 tasks=() state fin done_n
    local -a repos=()
    for v in "${VARIANTS[@]}"; do
      remote=$(jq -n --arg n "$key-$RUN-$v" --arg url "$FRONT_URL/pypi/$PRODUCT/$REL/$v/" \
        --rawfile cert "$WORK/client-cert.pem" --rawfile key "$WORK/client-key.pem" --rawfile ca "$CA" \
        '{name: $n, url: $url, policy: "immediate", client_cert: $cert, client_key: $key, ca_cert: $ca}' |
        api "$auth" -X POST -d @- "$api_/remotes/python/python/" | jq -r .pulp_href)
      repo=$(api "$auth" -X POST -d "{\"name\":\"$key-$RUN-$v\",\"remote\":\"$remote\"}" "$api_/repositories/python/python/" | jq -r .pulp_href)
      repos+=("$repo")
    done
    m=$(mark); t0=$(now)
    for repo in "${repos[@]}"; do
      tasks+=("$(api "$auth" -X POST -d '{"mirror":true}' "$base${repo}sync/" | jq -r .task)")
    done
    # Sparse polling (every request pays Pulp's password check), the time from the task itself.
    for task in "${tasks[@]}"; do
      while :; do
        api "$auth" "$base$task" >"$WORK/task.json"
        state=$(jq -r .state "$WORK/task.json")
        case "$state" in
          completed) break ;;
          failed|canceled) say "$key sync $state: $(jq -c .error "$WORK/task.json" | head -c 600)"; T[$key]=failed; return 0 ;;
        esac
        sleep 1
      done
      fin=$(iso_epoch "$(jq -r .finished_at "$WORK/task.json")")
      last=$(python3 -c "print(max($last, $fin))")
      # Content units whose artifacts had to be downloaded; the wait for a free task worker.
      done_n=$(jq '[.progress_reports[] | select(.code == "sync.downloading.artifacts") | .done] | add // 0' "$WORK/task.json")
      NOTE[$key]=$(( ${NOTE[$key]:-0} + done_n ))
      NOTE[${key}_wait]=$(python3 -c "print(f'{max(${NOTE[${key}_wait]:-0}, $(iso_epoch "$(jq -r .started_at "$WORK/task.json")") - $(iso_epoch "$(jq -r .pulp_created "$WORK/task.json")")):.1f}')")
    done
    local files=0
    for repo in "${repos[@]}"; do
      files=$((files + $(api "$auth" "$base${repo}versions/1/" | jq '.content_summary.present["python.python"].count // 0')))
    done
    record "$key" "$m" "$(elapsed "$t0" "$last")" "$files"
  }
  if [ -n "$H_BASE" ]; then pulp_sync pulp "$H_BASE" "$H_API" "$H_AUTH"; fi
  pulp_sync pulpsame "$P_BASE" "$P_API" "$P_AUTH"
fi

# --- this disk's cost of a durable small write (what every page and file write pays) ----------
FSYNC_MS=$(python3 - "$WORK" <<'PY'
import os, sys, time
d = os.path.join(sys.argv[1], "fsync-probe"); os.makedirs(d)
t = time.time()
for i in range(200):
    p = os.path.join(d, f"f{i}")
    with open(p + ".part", "wb") as f:
        f.write(b"x" * 2048); f.flush(); os.fsync(f.fileno())
    os.rename(p + ".part", p)
print(f"{(time.time() - t) / 200 * 1000:.1f}")
PY
)
say "write + fsync + rename of a small file: $FSYNC_MS ms"

# --- report ----------------------------------------------------------------------------------
num() { [[ "${1:-}" =~ ^[0-9.]+$ ]]; }
ratio() { num "$1" && num "$2" && python3 -c "print(f'{$1/$2:.2f}x')" || echo "-"; }
mibs() { num "${1:-}" && python3 -c "print(f'{$1/1048576:.1f}')" || echo "-"; }
# The curl reference: the faster of the two curl runs ("the server's limit").
CREF="" CREF_NAME=""
for k in curl-parallel curl-xargs; do
  if num "${T[$k]:-}" && { [ -z "$CREF" ] || python3 -c "import sys; sys.exit(0 if ${T[$k]} < $CREF else 1)"; }; then
    CREF=${T[$k]} CREF_NAME=$k
  fi
done
# The verdict pairs each round's wheelgate run with the same round's reference curl run (they
# ran back to back), so drift on this shared machine cancels; the median of those ratios.
PAIRED="" PAIRED_ALL=""
if [ -n "$CREF_NAME" ] && num "${T[wheelgate]:-}"; then
  for ((r = 1; r <= ROUNDS; r++)); do
    if num "${T[wheelgate-$r]:-}" && num "${T[$CREF_NAME-$r]:-}"; then
      PAIRED_ALL+="$(python3 -c "print(f'{${T[wheelgate-$r]}/${T[$CREF_NAME-$r]}:.2f}')") "
    fi
  done
  [ -n "$PAIRED_ALL" ] && PAIRED=$(median $PAIRED_ALL)
fi
META_ALL=""
for ((r = 1; r <= ROUNDS; r++)); do
  if num "${T[wheelgate-$r]:-}" && num "${T[curl-meta-$r]:-}"; then
    META_ALL+="$(python3 -c "print(f'{${T[wheelgate-$r]}/${T[curl-meta-$r]}:.2f}')") "
  fi
done
row() { # key label
  local k="$1"
  [ -n "${T[$k]:-}" ] || return 0
  local t="${T[$k]}" range=""
  [ -n "${T[${k}_range]:-}" ] && range=" (${T[${k}_range]})"
  num "$t" && t="$t s"
  local vs; vs=$(ratio "${T[$k]}" "$CREF"); [ "$k" = noop ] && vs="–"
  echo "| $2 | $t$range | ${NFILES[$k]:-–} | ${REQ[$k]:-–} | $(mibs "${BYTES[$k]:-}") | $vs |"
}
pass() { python3 -c "
try: print('PASS' if $1 else 'FAIL')
except Exception: print('n/a')"; }
{
  echo "<!-- bench-mirror:begin (written by config/bench-mirror.sh; replaced on every run) -->"
  echo "## Mirror a release"
  echo
  echo "Written by \`make bench-mirror\` (config/bench-mirror.sh) on $(date -u +%Y-%m-%dT%H:%MZ)$([ "$QUICK" = 1 ] && echo ", quick mode"); wheelgate $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes'), $("$VENV/bin/python" -m pip --version | cut -d' ' -f1-2), $(curl --version | head -1 | cut -d' ' -f1-2), load average (1, 5, 15 min) before the run $LOAD_BEFORE, after it $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "A release with 3 variants (${VARIANTS[*]}) promoted on the local plain Pulp and read through its TLS front (nginx, client certificate, \`https://127.0.0.1\`): $FILES distinct py3-none-any wheels, $(mibs "$DISTINCT_BYTES") MiB, $SIZE_MIN B – $((SIZE_MAX / 1024)) KiB (bands $SIZES), $SHARED of them served by all three variants, the rest dealt round-robin: $LISTED files listed, ${PROJECTS_PER_VARIANT[*]} projects per variant."
  echo
  echo "| tool | wall time | files | requests | MiB through the front | time vs curl |"
  echo "|---|---|---|---|---|---|"
  row wheelgate "wheelgate mirror --all (cold, --jobs 8), median of $ROUNDS"
  row noop "wheelgate mirror --all, no-op re-run (median of 3)"
  row curl-xargs "curl ×8 (xargs -P8, one process per URL): pages, then files"
  row curl-parallel "curl --parallel-max 8 (one process, connections reused): pages, then files"
  row curl-meta "the same, also fetching the PEP 658 \`.metadata\` files"
  row pip "pip download --no-deps, all projects in one command per variant (3 commands)"
  row piploop "pip download --no-deps, one command per project"
  row pulp "Pulp sync into another Pulp (hosted layout), 3 remotes at once, immediate"
  row pulpsame "Pulp sync into a 2nd repository of the same Pulp (files already stored)"
  echo
  echo "Time vs curl: against the faster of the first two curl runs by median ($CREF_NAME, $CREF s). Requests and MiB: what the front's access log shows for this release's paths during the run (pages, files, PEP 658 \`.metadata\` files, and for Pulp also its refused XML-RPC POSTs and \`/pypi/<project>/json\`)."
  [ -n "${NOTE[wg_bytes]:-}" ] && echo "wheelgate fetched $(mibs "${NOTE[wg_bytes]}") MiB of files and metadata (its own count) and verified every sha256; curl and pip verify nothing here (pip checks hashes only when given \`--require-hashes\`)."
  [ -n "${NOTE[pulp]:-}" ] && echo "Pulp sync: the three tasks run on the Pulp's task workers (two here); the longest wait for a free one was ${NOTE[pulp_wait]} s (hosted) and ${NOTE[pulpsame_wait]:-?} s (same Pulp), included. Its requests not answered 2xx are its XML-RPC POSTs (refused, 3 per remote, then it reads \`simple/\`) and one redirect per \`/pypi/<project>/json\` (to \`json/\`)."
  [ -n "${NOTE[pulpsame]:-}" ] && echo "Pulp sync into the same Pulp downloaded ${NOTE[pulpsame]} artifacts: it knows every sha256 already, so it only reads the metadata and links the existing content: not a transfer."
  echo
  if [ -n "${PH[wheelgate]:-}" ]; then
    echo "Where the time goes (medians; wheelgate's phases from its \`-v\` request log):"
    echo
    echo "| run | start → last page response | → last file response | → exit (pages written, fsynced, switched; manifest) |"
    echo "|---|---|---|---|"
    read -r a b c <<<"${PH[wheelgate]}"; echo "| wheelgate cold | $a s | $b s | $c s |"
    if [ -n "${PH[noop]:-}" ]; then read -r a b c <<<"${PH[noop]}"; echo "| wheelgate no-op | $a s | $b s | $c s |"; fi
    for k in curl-xargs curl-parallel curl-meta; do
      if [ -n "${PH[$k]:-}" ]; then read -r a b <<<"${PH[$k]}"; echo "| $k | $a s | $b s | – |"; fi
    done
    echo
    echo "wheelgate fetches each wheel as soon as the page listing it was read (pages and files share the 8 request slots), and takes its PEP 658 metadata file from the verified wheel when its sha256 is the advertised one (it requested ${NOTE[wg_meta]:-?} \`.metadata\` files from the server: those whose hash differed); it writes the pages of a variant, then fsyncs them together before the switch (a small write + fsync + rename, one at a time, costs $FSYNC_MS ms on this disk)."
    echo
    pages_total=$(( ${#VARIANTS[@]} + PROJECTS_PER_VARIANT[0] + PROJECTS_PER_VARIANT[1] + PROJECTS_PER_VARIANT[2] ))
    echo "Reading it: the pages are rendered by pulpcore-api (2 worker processes), which every tool waits for alike ($pages_total pages, $(python3 -c "print(f'{$pages_total / ${PH[curl-parallel]%% *}:.0f}')" 2>/dev/null || echo '?') pages/s for curl --parallel here); wheelgate's files mostly arrive while pages are still being read (its second column is what is left after the last page); the last column is wheelgate writing $((2 * pages_total)) page files and making them durable, which curl does not do. A no-op run sends one request per variant: the index root with \`If-None-Match\` and the ETag the previous run recorded (pulp_python's token of the served repository version, passed weak by the front); Pulp answers 304 without rendering, the variant's tree and files are checked with \`stat\` only (size and mtime against the manifest), and nothing is written."
    echo
  fi
  echo "| target (issue 13) | measured | verdict |"
  echo "|---|---|---|"
  num "${PAIRED:-}" && echo "| within 1.25× of parallel curl | ${PAIRED}x: median of the per-round ratios to $CREF_NAME (${PAIRED_ALL% }); ratio of the medians $(ratio "${T[wheelgate]}" "$CREF") | $(pass "$PAIRED <= 1.25") |"
  num "${T[noop]:-}" && echo "| no-op re-run < 2 s | ${T[noop]} s | $(pass "${T[noop]} < 2") |"
  [ -n "$META_ALL" ] && { echo; echo "For comparison, against curl also fetching the \`.metadata\` files (which wheelgate takes from the verified wheels instead): median of the per-round ratios $(median $META_ALL)x (${META_ALL% })."; }
  echo
  echo "Reference figures from the issue, same kind of machine, 100 projects × 1 file of 10–100 KB on a plain local Pulp (no TLS front): per-project pip loop 82 s, pip one command 13.1 s, Pulp sync 9.8 s, curl ×8 pages + files 4.7 s."
  echo
  echo "How measured: each run writes into a fresh directory (after \`sync\`); wheelgate and the three curl runs alternate over $ROUNDS rounds; pip runs without a cache or config file, with \`--client-cert\` and \`--cert\`; the Pulp sync time runs from the first sync POST to the last task's \`finished_at\` (tasks polled once a second: each poll pays Pulp's password check), remotes with \`client_cert\`, \`client_key\`, \`ca_cert\` and the default download concurrency. Everything shares the 2 cores with Pulp, nginx and whatever else runs on the machine."
  echo "<!-- bench-mirror:end -->"
} >"$WORK/section.md"
cat "$WORK/section.md"
mkdir -p "$(dirname "$DOC")"
touch "$DOC"
python3 "$ROOT/config/bench-section.py" "$DOC" bench-mirror "$WORK/section.md"
say "section written to $DOC"
