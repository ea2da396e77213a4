#!/usr/bin/env bash
# The GPU machine's check, in one call (it has CUDA 13, cmake, g++ and PyTorch, but no Java, no FAISS, no network):
# builds the CUDA device probe against the project's kernels, reports the card, times the PyTorch reference for
# exact search that the CUDA kernels are measured against, and checks the aggregation kernels against their CPU
# reference. Results go to $OUT (or bench/results/gpu).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-bench/results}/gpu"
mkdir -p "$out" build-gpu
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/device.txt"
nvcc -std=c++17 -O2 -Inative/include -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
  kernels/device.cu bench/native/device_probe.cpp -o build-gpu/device_probe
build-gpu/device_probe | tee -a "$out/device.txt"
python3 bench/gpu/torch_search_reference.py --json "$out/torch_search.json" | tee "$out/torch_search.md"
# Aggregation kernels (GeM + whitening + L2, top-n local selection) against their CPU reference.
nvcc -std=c++17 -O2 -Inative/include -Inative/src -gencode arch=compute_80,code=sm_80 \
  -gencode arch=compute_90,code=sm_90 kernels/aggregate.cu native/src/aggregate.cpp bench/native/aggregate_check.cpp \
  -o build-gpu/aggregate_check
build-gpu/aggregate_check | tee "$out/aggregate.md"
