# The memfd_secret target: secret_memfd.py keeps its secrets in a
# memfd_secret(2) mapping, which the kernel removes from its direct map, so
# neither process_vm_readv nor /proc/PID/mem can read it (EFAULT / EIO).
#
# Build context: the containers/ folder.
#   docker build -f containers/secretmem.Dockerfile \
#       -t memscan/secretmem:local containers
# Run:
#   docker run -d --network none --name python_minimal_secretmem \
#       memscan/secretmem:local
# memfd_secret is locked memory: RLIMIT_MEMLOCK applies inside the
# container too (pass --ulimit memlock=... if the script needs more than the
# default allows). Docker's default seccomp profile lets the call through.
ARG BASE=memscan/python-base:local
FROM ${BASE}
WORKDIR /app
COPY app/secret_memfd.py ./
CMD ["python3", "./secret_memfd.py"]
