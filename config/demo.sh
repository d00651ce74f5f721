#!/usr/bin/env bash
# `make demo`: the main job end to end on the local Pulp (plain layout), each step printed.
# Re-runnable: every run uses a fresh product name.
#
# Every command is echoed ("$ ...") before it runs, quoted so that it can be copied and run in a
# shell set up as the demo's first lines say. Bold step titles only when stdout is a terminal
# (and NO_COLOR is unset); wheelgate itself colours only on a terminal.
#
# Environment: WHEELGATE_DEMO_BIN_DIR (directory with wheelgate and wheelgate-fixtures; default
# target/demo, where `make demo` builds them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN_DIR="${WHEELGATE_DEMO_BIN_DIR:-$ROOT/target/demo}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/wheelgate-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# The cache of version changes (vet, promote) of this run, not the user's ~/.cache/wheelgate.
export WHEELGATE_CACHE_DIR="$WORK/cache"
RUN="d$(date +%s)"
unset PULP_BASE_URL PULP_USERNAME PULP_PASSWORD PULP_DOMAIN PULP_API_ROOT WHEELGATE_CATALOG

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then BOLD=$'\033[1m' RESET=$'\033[0m'; else BOLD="" RESET=""; fi

# A word as a shell would need it: bare when safe, else single-quoted.
quote() {
  local w out=()
  for w; do
    if [[ $w =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=("$w"); else out+=("${w@Q}"); fi
  done
  printf '%s' "${out[*]}"
}
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
echo_cmd() { printf '$ %s\n' "$(quote "$@")"; }
# show [VAR=value...] command args...: echo, then run (leading assignments as environment).
show() { echo_cmd "$@"; env "$@"; }
# expect CODE [VAR=value...] command args...: like show, for a command that must fail with CODE.
expect() {
  local want="$1" rc=0
  shift
  echo_cmd "$@"
  env "$@" || rc=$?
  if ((rc == want)); then
    echo "exit code: $rc"
  else
    echo "exit code: $rc (the demo expected $want)"
  fi
}

step "0. setup: wheelgate on PATH, the local Pulp's pulp-cli config, a catalog for a fresh product"
printf '$ export PATH=%s:"$PATH"\n' "$(quote "$BIN_DIR")"
export PATH="$BIN_DIR:$PATH"
echo_cmd export PULP_CLI_CONFIG="$ROOT/.build/pulp/plain/cli.toml"
export PULP_CLI_CONFIG="$ROOT/.build/pulp/plain/cli.toml"
echo_cmd cd "$WORK"
cd "$WORK"
SED_EXPR="s/^product = \"demo\"/product = \"$RUN\"/"
printf '$ %s > wheelgate.toml\n' "$(quote sed "$SED_EXPR" "$ROOT/config/demo.toml")"
sed "$SED_EXPR" "$ROOT/config/demo.toml" >wheelgate.toml

step "1. init: create the staging repositories and the staging/production indexes of release 3.0"
show wheelgate init --release 3.0 --dry-run
show wheelgate init --release 3.0
show wheelgate init --release 3.0

step "2. build 1: synthetic wheels made by the fixtures generator (some projects in several versions)"
show mkdir -p build1
show wheelgate-fixtures wheel --name demo-core --version 1.0.0 --out build1
show wheelgate-fixtures wheel --name demo-core --version 1.1.0 --out build1
show wheelgate-fixtures wheel --name demo-app --version 2.0.0 --requires "demo-core>=1.1" --requires "nvidia-cublas-cu12; platform_machine == 'aarch64'" --out build1
show wheelgate-fixtures wheel --name demo-native --version 0.3.0 --tag cp312-cp312-manylinux_2_28_x86_64 --size 200000 --out build1
show ls build1
for v in cpu-ubi9 cuda12.9-ubi9; do
  step "3. upload build 1 to $v staging: one new immutable version"
  show wheelgate upload --release 3.0 --variant "$v" --build-id build-1 build1
done

step "4. re-running an upload is safe: nothing to do"
show wheelgate upload --release 3.0 --variant cpu-ubi9 --build-id build-1 build1

step "5. bad input is refused before any byte is sent (exit 2)"
show mkdir -p bad
show wheelgate-fixtures wheel --name demo-core --version 9.0 --defect record-hash-mismatch --out bad
show wheelgate-fixtures wheel --name left-pad --version 1.0 --out bad
expect 2 wheelgate upload --release 3.0 --variant cpu-ubi9 bad

step "6. vet build 1 (tags, allowlist, dependency closure, metadata) and promote both variants"
show wheelgate vet --release 3.0 --variant cpu-ubi9
show wheelgate vet --release 3.0 --variant cuda12.9-ubi9
show WHEELGATE_ACTOR=release-engineer wheelgate promote --release 3.0 --all --yes --reason "3.0 GA"
show wheelgate status --release 3.0

step "7. a customer installs through the TLS front: a client certificate from the entitlement, pip set up by client-config"
# The front (config/front/front.sh, started by make demo) demands a client certificate signed by
# the customer CA; its throwaway PKI made an entitlement directory as subscription-manager lays it out.
FRONT_ENV="$ROOT/.build/front/plain/front.env"
echo_cmd . "$FRONT_ENV"
# shellcheck disable=SC1090
. "$FRONT_ENV"
show wheelgate client-cert --entitlement-dir "$PKI_ENTITLEMENT_DIR" --out client.pem
printf '$ %s > pip.conf\n' "$(quote wheelgate client-config --release 3.0 --variant cpu-ubi9 --format pip --index-host "$FRONT_URL" --cert "$WORK/client.pem" --ca-bundle "$FRONT_CA_BUNDLE")"
wheelgate client-config --release 3.0 --variant cpu-ubi9 --format pip --index-host "$FRONT_URL" --cert "$WORK/client.pem" --ca-bundle "$FRONT_CA_BUNDLE" >pip.conf
show cat pip.conf
INDEX="$(sed -n 's/^index-url = //p' pip.conf)"
echo "index: $INDEX"
# Without a client certificate the front refuses every page (403).
show curl --silent --output /dev/null --write-out '%{http_code}\n' --cacert "$FRONT_CA_BUNDLE" "$INDEX"
show python3 -m venv venv
# PIP_CERT, PIP_FIND_LINKS and the SSL_*, REQUESTS_* and CURL_* CA variables are this machine's own settings
# (they would override pip.conf); a customer's machine has none.
show env -u PIP_FIND_LINKS -u PIP_CERT -u SSL_CERT_FILE -u SSL_CERT_DIR -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE PIP_CONFIG_FILE="$WORK/pip.conf" venv/bin/pip install --quiet --no-cache-dir demo-app
show venv/bin/pip freeze --exclude-editable

step "8. build 2 needs demo-core 2.0, which it does not contain: vet refuses it (exit 3)"
show mkdir -p build2
show wheelgate-fixtures wheel --name demo-app --version 2.1.0 --requires "demo-core==2.0.0" --out build2
show wheelgate upload --release 3.0 --variant cpu-ubi9 --build-id build-2 build2
expect 3 wheelgate vet --release 3.0 --variant cpu-ubi9
expect 3 wheelgate promote --release 3.0 --variant cpu-ubi9 --version 2 --yes

step "9. build 3 adds demo-core 2.0.0: vet passes, promote (compare-and-swap on what production serves)"
show mkdir -p build3
show wheelgate-fixtures wheel --name demo-core --version 2.0.0 --out build3
show wheelgate upload --release 3.0 --variant cpu-ubi9 --build-id build-3 build3
show wheelgate diff --release 3.0 --variant cpu-ubi9
show wheelgate vet --release 3.0 --variant cpu-ubi9
show WHEELGATE_ACTOR=release-engineer wheelgate promote --release 3.0 --variant cpu-ubi9 --expect-current 1 --yes --reason "demo-app 2.1"

step "10. something is wrong at 3 a.m.: the SRE rolls back"
show WHEELGATE_ACTOR=sre wheelgate rollback --release 3.0 --variant cpu-ubi9 --yes --reason "customer reports breakage"

step "11. housekeeping: prune staging versions nothing refers to (build 2 was never vetted)"
show wheelgate prune --release 3.0 --variant cpu-ubi9 --keep-latest 1 --yes --reason "demo housekeeping"

step "12. history, read from Pulp"
show wheelgate history --release 3.0
echo
echo "demo finished: release 3.0 of product $RUN on $(grep base_url "$PULP_CLI_CONFIG" | cut -d'"' -f2)"
