# The protected reference target: secret.py run by CPython inside a Gramine
# SGX enclave. Only for hosts with SGX and the in-kernel driver
# (/dev/sgx_enclave, Linux 5.11+); it cannot be built or run without the
# registry that serves the Gramine image.
#
# Build context: the containers/ folder.
#   docker build -f containers/protected.Dockerfile \
#       -t memscan/protected:local containers
# Run (no attestation, so neither aesmd nor /dev/sgx_provision is needed):
#   docker run -d --network none --device /dev/sgx_enclave \
#       --name python_minimal_protected memscan/protected:local
#
# The enclave is a production one (sgx.debug = false): the kernel refuses
# reads of its pages through /proc/PID/mem, where a debug enclave would
# hand out plaintext. See python.manifest.template for its size and threads.
#
# The Gramine release is pinned by tag; pin the digest as well
# (gramineproject/gramine:1.9-noble@sha256:...) once it has been pulled on a
# trusted machine, so a re-pushed tag cannot change what is measured.
ARG GRAMINE_IMAGE=gramineproject/gramine:1.9-noble
FROM ${GRAMINE_IMAGE}

WORKDIR /app
COPY app/secret.py python.manifest.template ./

# The signing key is generated inside the image, which is fine for a test
# target whose MRSIGNER nobody trusts; a real deployment signs with a key
# kept outside the build. The manifest is rendered and signed here, at build
# time, so the measured enclave (MRENCLAVE) is fixed per image.
# entrypoint is the real interpreter binary, not the python3 symlink,
# because Gramine maps and hashes the file it names.
RUN gramine-sgx-gen-private-key \
    && gramine-manifest \
        -Dlog_level=error \
        -Darch_libdir=/lib/x86_64-linux-gnu \
        -Dentrypoint="$(realpath "$(command -v python3)")" \
        python.manifest.template python.manifest \
    && gramine-sgx-sign \
        --manifest python.manifest \
        --output python.manifest.sgx

# gramine-sgx ./python loads python.manifest.sgx and python.sig from /app.
CMD ["gramine-sgx", "./python"]
