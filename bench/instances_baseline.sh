#!/usr/bin/env bash
# Baselines on the instance-level benchmark built from real photos: model-free descriptors (tiny images, colour
# histograms), the built-in global gallery models with their Fashion-MNIST weights (build/models, trained when
# missing), GeM over the ImageNet-pretrained backbones imported from TF.js (build/backbones, imported when missing)
# and OpenCV local descriptors. Builds the benchmark with seed 1 when it is missing, then prints revisitop easy / medium / hard mAP.
#   bench/instances_baseline.sh [BENCHMARK_DIR]      (default: build/instances)
source "$(dirname "$0")/../bin/env.sh"
cd "$AFF_ROOT"
out="${1:-build/instances}"
[ -f java/bench/target/aff-bench.jar ] && [ -f java/cli/target/aff.jar ] || mvn -B -ntp -q -DskipTests install
[ -f "$out/gnd_instances.pkl" ] || bin/run make-instances --out "$out" --seed 1
[ -f build/backbones/inception_v3/model.json ] || bin/run import-tfjs
cp="java/cli/target/aff.jar:java/bench/target/aff-bench.jar"
java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -cp "$cp" org.affengine.bench.InstanceBaselines "$out"
