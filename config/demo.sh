#!/usr/bin/env bash
# `make demo`: the main job end to end on the local Pulp (plain layout), each step printed.
# Re-runnable: every run uses a fresh product name.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/target/release/wheelgate"
FIX="$ROOT/target/release/wheelgate-fixtures"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/wheelgate-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
RUN="d$(date +%s)"
export PULP_CLI_CONFIG="$ROOT/.build/pulp/plain/cli.toml"
unset PULP_BASE_URL PULP_USERNAME PULP_PASSWORD PULP_DOMAIN PULP_API_ROOT WHEELGATE_CATALOG

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

sed "s/^product = \"demo\"/product = \"$RUN\"/" config/demo.toml > "$WORK/wheelgate.toml"
cd "$WORK"

step "1. init: create the staging repositories and the staging/production indexes of release 3.0"
show "$BIN" init --release 3.0 --dry-run
show "$BIN" init --release 3.0
show "$BIN" init --release 3.0

step "2. build 1: synthetic wheels made by the fixtures generator (some projects in several versions)"
mkdir -p build1
"$FIX" wheel --name demo-core --version 1.0.0 --out build1 >/dev/null
"$FIX" wheel --name demo-core --version 1.1.0 --out build1 >/dev/null
"$FIX" wheel --name demo-app --version 2.0.0 --requires "demo-core>=1.1" --requires "nvidia-cublas-cu12; platform_machine == 'aarch64'" --out build1 >/dev/null
"$FIX" wheel --name demo-native --version 0.3.0 --tag cp312-cp312-manylinux_2_28_x86_64 --size 200000 --out build1 >/dev/null
ls build1
for v in cpu-ubi9 cuda12.9-ubi9; do
  step "3. upload build 1 to $v staging: one new immutable version"
  show "$BIN" upload --release 3.0 --variant "$v" --build-id build-1 build1
done

step "4. re-running an upload is safe: nothing to do"
show "$BIN" upload --release 3.0 --variant cpu-ubi9 --build-id build-1 build1

step "5. bad input is refused before any byte is sent (exit 2)"
mkdir -p bad
"$FIX" wheel --name demo-core --version 9.0 --defect record-hash-mismatch --out bad >/dev/null
"$FIX" wheel --name left-pad --version 1.0 --out bad >/dev/null
set +e; "$BIN" upload --release 3.0 --variant cpu-ubi9 bad; echo "exit code: $?"; set -e

step "6. vet build 1 (tags, allowlist, dependency closure, metadata) and promote both variants"
show "$BIN" vet --release 3.0 --variant cpu-ubi9
show "$BIN" vet --release 3.0 --variant cuda12.9-ubi9
WHEELGATE_ACTOR=release-engineer show "$BIN" promote --release 3.0 --all --yes --reason "3.0 GA"
show "$BIN" status --release 3.0

step "7. a customer installs from the production index with pip, in a fresh venv"
INDEX="$("$BIN" --output json status --release 3.0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["variants"][0]["production"]["index_url"])')"
echo "index: $INDEX"
python3 -m venv venv >/dev/null
env -u PIP_FIND_LINKS -u PIP_CERT venv/bin/pip install --quiet --no-cache-dir --index-url "$INDEX" demo-app
venv/bin/pip list 2>/dev/null | grep -i demo

step "8. build 2 needs demo-core 2.0, which it does not contain: vet refuses it (exit 3)"
mkdir -p build2
"$FIX" wheel --name demo-app --version 2.1.0 --requires "demo-core==2.0.0" --out build2 >/dev/null
show "$BIN" upload --release 3.0 --variant cpu-ubi9 --build-id build-2 build2
set +e; "$BIN" vet --release 3.0 --variant cpu-ubi9; echo "exit code: $?"; set -e
set +e; "$BIN" promote --release 3.0 --variant cpu-ubi9 --version 2 --yes; echo "exit code: $?"; set -e

step "9. build 3 adds demo-core 2.0.0: vet passes, promote (compare-and-swap on what production serves)"
mkdir -p build3
"$FIX" wheel --name demo-core --version 2.0.0 --out build3 >/dev/null
show "$BIN" upload --release 3.0 --variant cpu-ubi9 --build-id build-3 build3
show "$BIN" diff --release 3.0 --variant cpu-ubi9
show "$BIN" vet --release 3.0 --variant cpu-ubi9
WHEELGATE_ACTOR=release-engineer show "$BIN" promote --release 3.0 --variant cpu-ubi9 --expect-current 1 --yes --reason "demo-app 2.1"

step "10. something is wrong at 3 a.m.: the SRE rolls back"
WHEELGATE_ACTOR=sre show "$BIN" rollback --release 3.0 --variant cpu-ubi9 --yes --reason "customer reports breakage"

step "11. housekeeping: prune staging versions nothing refers to (build 2 was never vetted)"
show "$BIN" prune --release 3.0 --variant cpu-ubi9 --keep-latest 1 --yes --reason "demo housekeeping"

step "12. history, read from Pulp"
show "$BIN" history --release 3.0
echo
echo "demo finished: release 3.0 of product $RUN on $(grep base_url "$PULP_CLI_CONFIG" | cut -d'"' -f2)"
