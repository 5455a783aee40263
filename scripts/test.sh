#!/usr/bin/env bash
# The whole test suite: lint, then pytest (unit tests plus integration tests on the real data).
# The data folder defaults to ../shared/mnist beside the project; set MNIST_CNN_DATA to use another.
source "$(dirname "$0")/setup-venv.sh"
bash scripts/install-browser.sh   # Debian's chromium for the browser test (a no-op when present)
bash scripts/install-fashion-mnist.sh   # Debian's re-gzipped Fashion-MNIST for the checksum test (likewise)
export MNIST_CNN_DATA="${MNIST_CNN_DATA:-$(cd .. && pwd)/shared/mnist}"
.venv/bin/ruff check src tests benchmarks notebooks scripts
exec .venv/bin/pytest "$@"
