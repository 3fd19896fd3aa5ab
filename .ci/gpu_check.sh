#!/bin/bash
# Device check (issue 14): the full bench, the forward-option ladder, the CUDA tests, EfficientNet-Lite0 under
# autocast. Run .ci/gpu_prepare.sh first; on the device: bash .ci/gpu_check.sh (carry .whl and .gpu).
# Each stage has its own time limit and writes under $OUT, so a stage that runs out of time loses only itself.
# DEV=cpu runs the same stages on tiny sizes here (a dry run of the script).
set -u
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg SOUNDAD_OFFLINE=1
DEV=${DEV:-cuda}; OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
T0=$(date +%s); stamp() { echo "[t=$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/log.txt"; }
if [ "$DEV" = cuda ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site:$PWD SOUNDAD_CACHE=/tmp/soundad-cache PY=python3
  mkdir -p ../shared/data && cp -r .gpu/mimii-sample ../shared/data/
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used,temperature.gpu --format=csv > "$OUT/env.txt"
  BENCH_SIZE=""; STEPS_SIZE=""
else
  export PYTHONPATH=$PWD PY=.venv/bin/python
  BENCH_SIZE="--clips 2 --duration 3 --image-size 32 --repeats 1"; STEPS_SIZE="--image-size 32 --repeats 1"
fi
$PY -c "import sys,torch,torchvision,numpy,librosa,sklearn,pandas; print(sys.version.split()[0], torch.__version__, torchvision.__version__, numpy.__version__, librosa.__version__, sklearn.__version__, pandas.__version__, torch.cuda.is_available(), torch.get_num_threads())" >> "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
stamp "bench start"
timeout ${BENCH_T:-270} $PY -m soundad.cli bench --device $DEV --project $BENCH_SIZE --json "$OUT/bench.json" > "$OUT/bench.txt" 2>&1
stamp "bench rc=$?"; tail -n 25 "$OUT/bench.txt"
stamp "steps start"
timeout ${STEPS_T:-150} $PY -m soundad.cli bench --steps --device $DEV --backbones efficientnet_lite0,resnet18 $STEPS_SIZE --json "$OUT/steps.json" > "$OUT/steps.txt" 2>&1
stamp "steps rc=$?"; grep -v "^\[bench\]" "$OUT/steps.txt" | tail -n 20
stamp "tests start"
timeout ${TESTS_T:-120} $PY -m pytest -q -p no:cacheprovider -rs tests/test_spectrogram_torch.py tests/test_cuda_forward.py tests/test_extract.py tests/test_bench.py -k "cuda" > "$OUT/tests.txt" 2>&1
stamp "tests rc=$?"; tail -n 12 "$OUT/tests.txt"
stamp "lite0 autocast bench start"
timeout ${AUTO_T:-90} $PY -m soundad.cli bench --device $DEV --backbones efficientnet_lite0 --autocast --no-rss $BENCH_SIZE --json "$OUT/bench-lite0-autocast.json" > "$OUT/bench-lite0-autocast.txt" 2>&1
stamp "autocast rc=$?"; tail -n 8 "$OUT/bench-lite0-autocast.txt"
