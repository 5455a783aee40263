#!/usr/bin/env bash
# The main job: get the data, train the seed model, evaluate it and write every artifact.
# Extra arguments go to `mnist-cnn train` (for example --epochs 2 --limit 5000 for a quick look).
source "$(dirname "$0")/setup-venv.sh"
exec .venv/bin/mnist-cnn train --model seed "$@"
