# The unprotected reference target: secret.py in plain CPython, with python3
# as PID 1 of the container, so its secrets sit in ordinary heap memory.
#
# Build context: the containers/ folder (the Dockerfile copies app/...).
#   docker build -f containers/unprotected.Dockerfile \
#       -t memscan/unprotected:local containers
# Run (no network is ever needed):
#   docker run -d --network none --name python_minimal_unprotected \
#       memscan/unprotected:local
# scripts/build-images.sh builds it with the local base image; the base has
# no registry behind it, so FROM never pulls.
ARG BASE=memscan/python-base:local
FROM ${BASE}
WORKDIR /app
COPY app/secret.py ./
CMD ["python3", "./secret.py"]
