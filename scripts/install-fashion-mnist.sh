#!/usr/bin/env bash
# Install Debian's Fashion-MNIST (dataset-fashion-mnist: the official files, gzipped again) for
# benchmarks/rejection.py (non-digits the detector never saw) and
# tests/test_checksums.py, which checks that such repackaged files are recognised by their content.
# Idempotent: does nothing when the files are there. Without root or apt-get it does nothing either;
# the test then skips (or fails, under CI).
set -euo pipefail

if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    exit 0
fi
echo "Installing dataset-fashion-mnist for the checksum test ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null
