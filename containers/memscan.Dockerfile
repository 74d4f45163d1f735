# memscan itself in a container, for hosts where only Docker is at hand.
#
# The build context is a folder that scripts/build-images.sh stages from a
# release binary built on the host: rootfs/usr/local/bin/memscan plus the
# shared libraries that binary needs (those the base image lacks), at their
# canonical paths. Build it with:
#   scripts/build-images.sh --memscan target/release/memscan
#
# Run it in the host's PID namespace, with the right to read other
# processes' memory, and with the Docker socket when --container is used
# (the API answers State.Pid as a host PID, which only makes sense with
# --pid=host):
#   docker run --rm --network none --pid=host --cap-add SYS_PTRACE \
#       -v /var/run/docker.sock:/var/run/docker.sock \
#       memscan/memscan:local --container python_minimal_unprotected \
#       -e topsecret_
# Without --cap-add SYS_PTRACE, Docker's default seccomp profile answers
# process_vm_readv with EPERM (seen on Docker 20.10): memscan then falls
# back to /proc/PID/mem, which that profile allows. AppArmor hosts may also
# need --security-opt apparmor=unconfined to read other containers.
# No cgroup volume is needed: memscan finds the target's cgroup through
# /proc/PID/root of the target itself.
ARG BASE=memscan/python-base:local
FROM ${BASE}
COPY rootfs/ /
ENTRYPOINT ["/usr/local/bin/memscan"]
