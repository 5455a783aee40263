# Sourced by main.sh and test.sh: create .venv/ when missing and install the project into it.
# Reinstalls only when pyproject.toml or constraints.txt changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
        # Debian ships venv separately; install it when we may.
        rm -rf .venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        else
            echo "error: python3 -m venv failed; install python3-venv (sudo apt-get install python3-venv)" >&2
            exit 2
        fi
        python3 -m venv .venv
    fi
fi

stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Installing mnist-cnn and its dependencies into .venv/ ..." >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[train,scale,jax,dev]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
