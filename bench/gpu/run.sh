#!/usr/bin/env bash
# The GPU check, in one call, on any machine with CUDA 13 and PyTorch in python3 (no Java, FAISS or network needed):
#   1. the GPU-only build (kernels, CPU references, tests, benchmark) into build-gpu/, unless it is already there
#      (it can be built elsewhere with `bench/gpu/run.sh --build-only`: the binaries link only libc and libstdc++);
#   2. the native tests: every kernel against its CPU reference on fresh random inputs;
#   3. the native benchmark (search, mixer, aggregation; CUDA events, medians) -> native.md / native.json;
#   4. the PyTorch references on the same card and model, and the comparison table -> comparison.md / .json.
# `--quick` runs small sizes; `--profile` runs Nsight Compute on one launch of each kernel instead.
# Results go to $OUT/gpu if OUT is set, else bench/results/gpu: checks.txt (card, tests), native.md/.json,
# torch_search.json, comparison.md/.json, speedups.svg.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=build-gpu
mode="${1:-}"
if [ "$mode" = --build-only ] || [ ! -x "$bin/aff_gpu_bench" ] || [ ! -x "$bin/aff_cuda_tests" ]; then
  cmake -S . -B "$bin" -DAFF_GPU_ONLY=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bin" -j "$(nproc)" --target aff_cuda_tests aff_gpu_bench aff_device_probe
fi
[ "$mode" = --build-only ] && exit 0
if [ "$mode" = --profile ]; then
  # Nsight Compute on one launch of each kernel family of the quick benchmark (clocks left as the card runs them).
  ncu_bin="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)"
  [ -n "$ncu_bin" ] || { echo "ncu not found" >&2; exit 2; }
  for kernel in tc_filter_kernel stream_filter_kernel merge_kernel mixer_tc_kernel mixer_kernel whiten_kernel; do
    echo "== $kernel"
    timeout 120 "$ncu_bin" --clock-control none -k "regex:$kernel" -s 3 -c 1 --section SpeedOfLight \
      --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
      "$bin/aff_gpu_bench" --quick --reps 3 2>&1 | grep -v '^\[gpu_bench\]\|^|' || true
  done
  exit 0
fi
bench_args=()
[ "$mode" = --quick ] && bench_args+=(--quick)

out="${OUT:-bench/results}/gpu"
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/checks.txt"
"$bin/aff_device_probe" | tee -a "$out/checks.txt"
echo "== native tests" | tee -a "$out/checks.txt"
timeout 300 "$bin/aff_cuda_tests" --gtest_brief=1 2>&1 | tee -a "$out/checks.txt" || echo "NATIVE TESTS FAILED"
echo "== native benchmark"
timeout 420 "$bin/aff_gpu_bench" ${bench_args[@]+"${bench_args[@]}"} --json "$out/native.json" --work "$bin/work" | tee "$out/native.md"
echo "== PyTorch references"
python3 bench/gpu/torch_search_reference.py ${bench_args[@]+"${bench_args[@]}"} --json "$out/torch_search.json"
python3 bench/gpu/torch_reference.py --native "$out/native.json" --search "$out/torch_search.json" \
  --work "$bin/work" --json "$out/comparison.json" | tee "$out/comparison.md"
python3 bench/gpu/plot_speedups.py "$out/comparison.json" "$out/speedups.svg"
