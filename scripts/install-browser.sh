#!/usr/bin/env bash
# Install Debian's Chromium for the browser test (tests/test_browser.py), which drives it with Playwright:
# only what headless use needs (no recommended extras), plus a font for the screenshots.
# Idempotent: does nothing when /usr/bin/chromium is there. Without root or apt-get it says what to run
# and exits 0; the browser test then skips (or fails, under CI).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "note: /usr/bin/chromium is missing; install it with: sudo apt-get install chromium" >&2
    exit 0
fi
echo "Installing chromium for the browser test ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
