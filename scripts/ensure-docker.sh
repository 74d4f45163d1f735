#!/usr/bin/env bash
# ensure-docker.sh: make sure a Docker engine answers on this machine.
#
# Idempotent: when `docker info` already works it does nothing. Otherwise it
# installs Debian's docker.io if no dockerd is present, starts dockerd in the
# background if none runs, and waits (bounded) until `docker info` answers.
# Exits non-zero with one clear message when the engine cannot be had.
#
# Works unattended (CI=true, no stdin, root). Environment knobs:
#   MEMSCAN_DOCKERD_LOG   where dockerd writes its log
#                         (default /var/log/memscan-dockerd.log)
#   MEMSCAN_DOCKERD_WAIT  seconds to wait for the engine (default 90)
#
# The dockerd flags: every memscan container runs with --network none, so
# dockerd needs no bridge and no NAT rules. --bridge=none and
# --iptables=false keep it from touching the host's packet filter, which in
# a small VM may lack the netfilter pieces dockerd expects.
set -euo pipefail

log_file=${MEMSCAN_DOCKERD_LOG:-/var/log/memscan-dockerd.log}
wait_secs=${MEMSCAN_DOCKERD_WAIT:-90}

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# A `docker` client may already sit in /usr/local/bin (a newer static build)
# ahead of Debian's /usr/bin/docker; either one talks to the engine, since
# the client negotiates the API version down.
find_client() {
    if command -v docker >/dev/null 2>&1; then
        command -v docker
    elif [ -x /usr/bin/docker ]; then
        echo /usr/bin/docker
    fi
}

engine_answers() {
    local client
    client=$(find_client)
    [ -n "$client" ] || return 1
    timeout 10 "$client" info >/dev/null 2>&1
}

find_dockerd() {
    if command -v dockerd >/dev/null 2>&1; then
        command -v dockerd
    else
        for p in /usr/sbin/dockerd /usr/bin/dockerd; do
            if [ -x "$p" ]; then
                echo "$p"
                return 0
            fi
        done
    fi
}

if engine_answers; then
    say "docker engine already answers; nothing to do"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "docker engine not answering and not root: \
cannot install or start dockerd (run as root)"

if [ -z "$(find_dockerd)" ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "dockerd not installed and apt-get not found"
    say "installing Debian's docker.io"
    start=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null >/dev/null ||
        die "apt-get update failed"
    apt-get install -y -q --no-install-recommends docker.io </dev/null \
        >/dev/null || die "apt-get install docker.io failed"
    say "installed docker.io in $(( $(date +%s) - start )) s"
fi

dockerd_bin=$(find_dockerd)
[ -n "$dockerd_bin" ] || die "dockerd still missing after installing docker.io"
[ -n "$(find_client)" ] || die "no docker client found after installing"

# The package may have started a daemon through its init script; only start
# one when no dockerd process exists, so a second daemon never fights the
# first over /var/lib/docker.
if ! pgrep -x dockerd >/dev/null 2>&1; then
    say "starting $dockerd_bin (log: $log_file)"
    mkdir -p "$(dirname "$log_file")"
    # setsid detaches the daemon from this script's session so it outlives
    # the caller, as a service would.
    setsid "$dockerd_bin" \
        --iptables=false \
        --ip6tables=false \
        --bridge=none \
        </dev/null >>"$log_file" 2>&1 &
else
    say "a dockerd process already runs; waiting for it to answer"
fi

start=$(date +%s)
while ! engine_answers; do
    if (( $(date +%s) - start >= wait_secs )); then
        say "last lines of $log_file:"
        tail -n 20 "$log_file" >&2 2>/dev/null || true
        die "docker engine did not answer within $wait_secs s"
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        say "last lines of $log_file:"
        tail -n 20 "$log_file" >&2 2>/dev/null || true
        die "dockerd exited during start-up"
    fi
    sleep 1
done
say "docker engine answers after $(( $(date +%s) - start )) s"
