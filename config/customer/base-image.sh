#!/usr/bin/env bash
# The local stand-in for the UBI 9 Python 3.12 image that the generated Containerfile
# (`wheelgate client-config --format containerfile`) is built on in tests: podman and mmdebstrap
# from Debian when missing, then (once per machine, cached) a bookworm root filesystem made by
# mmdebstrap, imported into podman and finished by standin.Containerfile.
#
#   base-image.sh [ensure]   make the stand-in unless podman already has it; print its tag
#   base-image.sh tag        print the tag only
#
# The cache (the root filesystem tarball and a lock) is outside the checkout, shared by every
# checkout of this user: ${WHEELGATE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/wheelgate}/base-image.
# Two checkouts running this at once wait for each other on the lock; the image is built once.
# A warm run checks `podman image exists` and nothing else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Bump the version when standin.Containerfile or the mmdebstrap line changes.
TAG=${WHEELGATE_STANDIN_IMAGE:-localhost/wheelgate/ubi9-python-312-standin:1}
ROOTFS_TAG=localhost/wheelgate/bookworm-rootfs:1
CACHE=${WHEELGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wheelgate}/base-image
PYPI_CA=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}

log() { echo "base-image: $*" >&2; }

need_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    ((${#missing[@]} == 0)) && return 0
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    log "installing ${missing[*]} (apt-get)"
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        "${missing[@]}" >&2
}

build() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/lock"
    flock 9
    # Another checkout may have built it while we waited.
    podman image exists "$TAG" && return 0
    if [[ ! -s $CACHE/rootfs.tar ]]; then
        log "making a Debian bookworm root filesystem with mmdebstrap (about 100 s)"
        # Left by an interrupted run (we hold the lock: nobody is writing one now).
        rm -rf "$CACHE"/rootfs.*.tmp.tar
        local tmp="$CACHE/rootfs.$$.tmp.tar"
        mmdebstrap --quiet --format=tar --variant=apt --include=python3-pip,python3-venv,ca-certificates \
            bookworm "$tmp" >&2
        mv "$tmp" "$CACHE/rootfs.tar"
    fi
    podman image exists "$ROOTFS_TAG" || podman import --quiet "$CACHE/rootfs.tar" "$ROOTFS_TAG" >/dev/null
    log "finishing $TAG (venv at /opt/app-root, user 1001, uv from PyPI)"
    local ctx
    ctx=$(mktemp -d)
    trap 'rm -rf "$ctx"' RETURN
    podman build --quiet --isolation=chroot --network=host --pull=never --layers=false \
        --build-arg ROOTFS="$ROOTFS_TAG" --secret id=pypi-ca,src="$PYPI_CA" \
        -f "$here/standin.Containerfile" -t "$TAG" "$ctx" >/dev/null
}

case ${1:-ensure} in
ensure)
    need_tools
    podman image exists "$TAG" || build
    echo "$TAG"
    ;;
tag) echo "$TAG" ;;
*)
    echo "usage: $0 [ensure|tag]" >&2
    exit 2
    ;;
esac
