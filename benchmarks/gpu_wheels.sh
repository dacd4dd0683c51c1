#!/usr/bin/env bash
# The wheels benchmarks/gpu.py needs on a lent GPU machine, into .whl/ (git-ignored), about
# 3 MB: that machine runs Python 3.12 with a CUDA build of torch 2.11 and numpy 2.5 and
# reaches no package index, so brian2 2.10.1 (Python 3.12, numpy >= 2), brian2cuda 1.0b1
# (which pins it), snntorch, nir and spikebridge itself travel as wheels. Run it there with
# (the device tool's run, carry [".whl"]):
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#     --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 &&
#   python3 benchmarks/gpu.py --out $OUT
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl
mkdir -p .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
    manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d .whl \
  brian2==2.10.1 brian2cuda==1.0b1 snntorch==1.0.0 nir==1.0.8
.venv/bin/python -m pip wheel --quiet --no-deps --no-build-isolation -w .whl .
ls .whl
du -sh .whl
