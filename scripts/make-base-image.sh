#!/usr/bin/env bash
# make-base-image.sh: build the local Python base image from the host's own
# CPython, with no registry and no network.
#
# Usage: scripts/make-base-image.sh [--force] [--tag IMAGE]
#
# The image (default memscan/python-base:local) holds:
#   - the host's python3 under /usr/local (binary, libpython if the build is
#     shared, the standard library without tests, idlelib, tkinter,
#     ensurepip, site-packages and __pycache__),
#   - every shared library those need, found with ldd, at the host's paths,
#   - /bin/sh (the host's busybox, else dash),
#   - a minimal /etc/passwd and /etc/group, and an ld.so.cache.
# It is assembled in a temporary folder, tarred, and fed to `docker import`.
# When the image already exists the script does nothing unless --force.
set -euo pipefail

image=memscan/python-base:local
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --tag)
            [ $# -ge 2 ] || { echo "make-base-image: --tag needs a value" >&2; exit 2; }
            image=$2
            shift
            ;;
        -h | --help)
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) echo "make-base-image: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

say() { printf 'make-base-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker client not found \
(run scripts/ensure-docker.sh first)"
if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
    say "$image already exists; nothing to do (use --force to rebuild)"
    exit 0
fi
# With --force the old image loses its tag; remember it to drop it after.
old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
command -v python3 >/dev/null 2>&1 || die "python3 not found on the host"
command -v ldd >/dev/null 2>&1 || die "ldd not found on the host"

# Ask the interpreter itself where it lives, so pyenv shims, virtualenvs and
# distribution builds all resolve to the real binary and its stdlib.
read -r py_exe py_prefix py_ver py_stdlib py_dynload py_libdir py_ldlib < <(
    python3 -c '
import os, sys, sysconfig
v = sysconfig.get_config_var
print(os.path.realpath(sys.executable),
      sys.base_prefix,
      "%d.%d" % sys.version_info[:2],
      sysconfig.get_paths()["stdlib"],
      v("DESTSHARED") or "",
      v("LIBDIR") or "",
      v("LDLIBRARY") or "" if v("Py_ENABLE_SHARED") else "")
'
) || die "could not ask python3 about its installation"
[ -x "$py_exe" ] || die "python3 reported a binary that is not there: $py_exe"
[ -f "$py_stdlib/os.py" ] || die "no os.py in the stdlib folder $py_stdlib"
say "using python $py_ver from $py_prefix"

start=$(date +%s)
work=$(mktemp -d /tmp/memscan-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"

# Mirror the host's merged-/usr symlinks (bin -> usr/bin and so on), so a
# library that ldd names as /lib/x86_64-linux-gnu/libc.so.6 lands at one
# place whichever of the two spellings the loader later uses.
for d in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$d" ]; then
        target=$(readlink "/$d")
        case "$target" in
            /*) mkdir -p "$root$target" ;;
            *) mkdir -p "$root/$target" ;;
        esac
        ln -s "$target" "$root/$d"
    fi
done

# The interpreter moves from its host prefix to /usr/local inside the image.
# CPython finds its prefix by looking for lib/pythonX.Y/os.py next to
# ../ of its binary, so the relative layout is all that has to hold.
to_image_path() {
    case "$1" in
        "$py_prefix"/*) printf '/usr/local/%s\n' "${1#"$py_prefix"/}" ;;
        *) printf '%s\n' "$1" ;;
    esac
}

copy_file() { # host-path image-path
    mkdir -p "$root$(dirname "$2")"
    cp -L --preserve=mode,timestamps "$1" "$root$2"
}

# Collects every library ldd resolves for one ELF file. The dynamic loader
# shows up without "=>", and linux-vdso has no file at all.
missing_libs=0
copy_needed_libs() {
    local line path
    while IFS= read -r line; do
        line=${line#"${line%%[![:space:]]*}"}
        case "$line" in
            *"=> not found"*)
                say "warning: $1: ${line%% =>*} not found on the host"
                missing_libs=1
                continue
                ;;
            *"=> "/*) path=${line#*=> }; path=${path%% (*} ;;
            /*) path=${line%% (*} ;;
            *) continue ;;
        esac
        [ -e "$path" ] || continue
        local dest
        dest=$(to_image_path "$path")
        [ -e "$root$dest" ] || copy_file "$path" "$dest"
    done < <(ldd "$1" 2>/dev/null || true)
}

# The interpreter and its standard library.
py_name=python$py_ver
copy_file "$py_exe" "/usr/local/bin/$py_name"
ln -s "$py_name" "$root/usr/local/bin/python3"
ln -s "$py_name" "$root/usr/local/bin/python"
copy_needed_libs "$py_exe"

img_stdlib=$(to_image_path "$py_stdlib")
mkdir -p "$root$img_stdlib"
# Tests, the GUI toolkits and pip's bootstrap are most of the stdlib's size
# and none of it is needed to run a script; site-packages stays empty.
tar -C "$py_stdlib" -cf - \
    --exclude=./test --exclude=./idlelib --exclude=./tkinter \
    --exclude=./turtledemo --exclude=./ensurepip --exclude=./lib2to3/tests \
    --exclude='./config-*' --exclude=./site-packages \
    --exclude='__pycache__' --exclude='./lib-dynload/_test*' \
    --exclude='./lib-dynload/_tkinter*' --exclude='./lib-dynload/xxlimited*' \
    --exclude='./lib-dynload/_ctypes_test*' \
    --exclude='./lib-dynload/_xxtestfuzz*' \
    . | tar -C "$root$img_stdlib" -xf -
mkdir -p "$root$img_stdlib/site-packages"

if [ -n "$py_ldlib" ] && [ -e "$py_libdir/$py_ldlib" ]; then
    copy_needed_libs "$py_libdir/$py_ldlib"
fi
# Extension modules may sit outside the stdlib folder on some builds.
dynload_dir=$py_stdlib/lib-dynload
[ -d "$dynload_dir" ] || dynload_dir=$py_dynload
if [ -d "$dynload_dir" ]; then
    for so in "$root$(to_image_path "$dynload_dir")"/*.so; do
        [ -e "$so" ] || continue
        copy_needed_libs "$dynload_dir/$(basename "$so")"
    done
fi

# A shell, so `docker run IMAGE sh -c ...` and RUN lines work.
if command -v busybox >/dev/null 2>&1; then
    sh_src=$(command -v busybox)
elif command -v dash >/dev/null 2>&1; then
    sh_src=$(command -v dash)
else
    die "neither busybox nor dash found on the host for /bin/sh"
fi
sh_src=$(readlink -f "$sh_src")
if [ "$(basename "$sh_src")" = busybox ]; then
    copy_file "$sh_src" /bin/busybox
    ln -s busybox "$root/bin/sh"
else
    copy_file "$sh_src" /bin/sh
fi
copy_needed_libs "$sh_src"

mkdir -p "$root/etc" "$root/tmp" "$root/root" "$root/app"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP

# The image's loader has no cache unless one is built for it; /usr/local/lib
# holds libpython now that the binary's RUNPATH (a host path) is gone.
{
    echo /usr/local/lib
    for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 \
        /usr/lib64 /lib /usr/lib; do
        [ -d "$root$d" ] && echo "$d"
    done
} | awk '!seen[$0]++' >"$root/etc/ld.so.conf"
if command -v ldconfig >/dev/null 2>&1; then
    ldconfig -r "$root" 2>/dev/null ||
        say "warning: ldconfig -r failed; the loader will search its defaults"
fi

# A smoke test before importing: the relocated interpreter must start and
# find its stdlib, or the image is useless.
if command -v chroot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    chroot "$root" /usr/local/bin/python3 -c 'import json, ctypes, hashlib' ||
        die "the assembled python does not start in its new root"
fi
[ "$missing_libs" = 0 ] || say "warning: some libraries were missing (above)"

size=$(du -sh "$root" | cut -f1)
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
    docker import \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'WORKDIR /app' \
        --change 'CMD ["python3"]' \
        --message "memscan python base from the host's python $py_ver" \
        - "$image" >/dev/null ||
    die "docker import failed"
if [ -n "$old_id" ] &&
    [ "$(docker image inspect -f '{{.Id}}' "$image")" != "$old_id" ]; then
    # Fails harmlessly while a container still uses the old image.
    docker rmi "$old_id" >/dev/null 2>&1 || true
fi
say "built $image ($size unpacked) in $(( $(date +%s) - start )) s"
