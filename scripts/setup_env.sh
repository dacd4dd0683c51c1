#!/usr/bin/env bash
# Create .venv with the pinned environment and spikebridge installed from this checkout.
# Idempotent: re-running only installs what changed. Installs Debian's Fashion-MNIST when it can.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
stamp=.venv/.spikebridge-installed
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ requirements/lock.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements/lock.txt
  # Norse, a NIR peer of the tests: without its torchvision dependency (only its example
  # tasks import it), which would otherwise pull another torch build
  .venv/bin/python -m pip install --quiet --no-deps norse==1.1.0
  .venv/bin/python -m pip install --quiet --no-deps -e .
  # nvcc for the cuda_standalone build check, from PyPI, where the machine has no CUDA toolkit;
  # optional: without it that check is skipped with the reason
  if ! .venv/bin/python -c "from spikebridge.brian.cuda_build import find_toolkit; find_toolkit()" \
      >/dev/null 2>&1; then
    .venv/bin/python -m pip install --quiet --no-deps -r requirements/cuda-toolkit.txt ||
      echo "note: could not install nvcc from PyPI (the CUDA build check will be skipped)" >&2
  fi
  touch "$stamp"
fi

# Fashion-MNIST for the learning studies: Debian ships it; optional, never fatal.
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 ||
   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) ||
    echo "note: could not install dataset-fashion-mnist (not needed for the simulations)" >&2
fi
