#!/usr/bin/env bash
# build-images.sh: build memscan's container images, offline.
#
# Usage: scripts/build-images.sh [--force-base] [--app-dir DIR]
#                                [--memscan BINARY] [--protected]
#
#   memscan/python-base:local  by scripts/make-base-image.sh (skipped when
#                              it exists, unless --force-base)
#   memscan/unprotected:local  containers/unprotected.Dockerfile
#   memscan/secretmem:local    containers/secretmem.Dockerfile
#   memscan/memscan:local      containers/memscan.Dockerfile, only with
#                              --memscan BINARY (a release build from this
#                              host, e.g. target/release/memscan)
#   memscan/protected:local    containers/protected.Dockerfile, only with
#                              --protected; needs the gramineproject/gramine
#                              image, so a registry or a pre-loaded image
#
# --app-dir DIR takes secret.py and secret_memfd.py from DIR instead of
# containers/app (for trying the images with stand-in programs).
# The Docker engine must already answer: see scripts/ensure-docker.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
containers=$repo/containers
app_dir=$containers/app
memscan_bin=
force_base=()
protected=0

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --force-base) force_base=(--force) ;;
        --app-dir | --memscan)
            [ $# -ge 2 ] || { echo "build-images: $1 needs a value" >&2; exit 2; }
            if [ "$1" = --app-dir ]; then app_dir=$2; else memscan_bin=$2; fi
            shift
            ;;
        --protected) protected=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "build-images: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

say() { printf 'build-images: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

timeout 20 docker info >/dev/null 2>&1 ||
    die "docker engine not answering (run scripts/ensure-docker.sh)"
[ -f "$app_dir/secret.py" ] || die "$app_dir/secret.py not found"
[ -f "$app_dir/secret_memfd.py" ] || die "$app_dir/secret_memfd.py not found"
if [ -n "$memscan_bin" ]; then
    [ -x "$memscan_bin" ] || die "memscan binary not executable: $memscan_bin"
fi

# The classic builder resolves FROM against local images without asking a
# registry; the BuildKit path of newer clients needs the buildx plugin,
# which Debian's docker.io does not ship.
export DOCKER_BUILDKIT=0

work=$(mktemp -d /tmp/memscan-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

timed() { # label command...
    local label=$1 start
    shift
    start=$(date +%s)
    "$@"
    say "$label took $(( $(date +%s) - start )) s"
}

# The classic builder prints a deprecation notice on every run; its output
# is shown only when the build fails.
build() { # dockerfile tag context
    local old
    old=$(docker image inspect -f '{{.Id}}' "$2" 2>/dev/null || true)
    if ! docker build -q -f "$containers/$1" -t "$2" "$3" \
        >"$work/build.log" 2>&1; then
        cat "$work/build.log" >&2
        die "docker build of $2 failed"
    fi
    # The tag moved to the new image: remove the one it left behind
    # (only that one, never other dangling images on the host).
    if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$2")" ]; then
        docker image rm "$old" >/dev/null 2>&1 || true
    fi
}

timed "base image" "$here/make-base-image.sh" "${force_base[@]}"

# One staged context for the Python images, laid out like containers/
# itself, so the Dockerfiles also build straight from that folder.
ctx=$work/python
mkdir -p "$ctx/app"
cp "$app_dir/secret.py" "$app_dir/secret_memfd.py" "$ctx/app/"
cp "$containers/python.manifest.template" "$ctx/"

timed "memscan/unprotected:local" \
    build unprotected.Dockerfile memscan/unprotected:local "$ctx"
timed "memscan/secretmem:local" \
    build secretmem.Dockerfile memscan/secretmem:local "$ctx"

if [ "$protected" = 1 ]; then
    timed "memscan/protected:local" \
        build protected.Dockerfile memscan/protected:local "$ctx"
fi

if [ -n "$memscan_bin" ]; then
    mctx=$work/memscan
    mkdir -p "$mctx/rootfs/usr/local/bin"
    cp "$memscan_bin" "$mctx/rootfs/usr/local/bin/memscan"
    # Libraries go to their canonical folder (the base image mirrors the
    # host's merged /usr), and only those the base lacks: COPY onto a
    # path that is a symlink in the image would replace the link.
    libs=()
    while IFS= read -r line; do
        line=${line#"${line%%[![:space:]]*}"}
        case "$line" in
            *"=> "/*) path=${line#*=> }; path=${path%% (*} ;;
            /*) path=${line%% (*} ;;
            *) continue ;;
        esac
        libs+=("$(readlink -f "$(dirname "$path")")/$(basename "$path")")
    done < <(ldd "$memscan_bin" 2>/dev/null || true)
    if [ ${#libs[@]} -gt 0 ]; then
        missing=$(docker run --rm --network none memscan/python-base:local \
            sh -c 'for f in "$@"; do [ -e "$f" ] || echo "$f"; done' sh \
            "${libs[@]}") || die "could not list the base image's libraries"
        for lib in $missing; do
            mkdir -p "$mctx/rootfs$(dirname "$lib")"
            cp -L "$lib" "$mctx/rootfs$lib"
        done
    fi
    timed "memscan/memscan:local" \
        build memscan.Dockerfile memscan/memscan:local "$mctx"
fi
