#!/usr/bin/env bash
# CPU benchmark of exact search, in one run on one machine:
#   1. AFF exact index vs FAISS IndexFlatIP (same data, same process, same OpenMP threads) on the grid
#      N in {100k, 1M} x d in {128, 512} x batch in {1, 64, 1024} x k in {10, 100};
#   2. the same for batches >= 64 with AMX screening switched off (AFF_AMX=0: the BLAS path every x86 CPU runs);
#   3. the JNI cost (bench/jni_overhead.sh).
# Writes bench/results/*.json, *.md and exact_vs_faiss.svg. Use --quick for a small grid (minutes -> seconds).
source "$(dirname "$0")/../bin/env.sh"
cd "$AFF_ROOT"
# Measure with OpenMP's default wait policy: env.sh asks for PASSIVE, which serves the JVM but slows the wake-up of
# the thread teams that both FAISS and AFF start per call, and FAISS more (it starts more of them).
unset OMP_WAIT_POLICY
[ -x build/aff_bench ] && [ -f java/bench/target/aff-bench.jar ] || mvn -B -ntp -q -DskipTests install

out=bench/results
mkdir -p "$out"
ns=100000,1000000; ds=128,512; batches=1,64,1024; ks=10,100; secs=1.0
if [ "${1:-}" = "--quick" ]; then ns=20000; ds=64; batches=1,64; ks=10; secs=0.2; fi

{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; date: $(date -u +%Y-%m-%d)"
  echo
  build/aff_bench --n $ns --d $ds --batch $batches --k $ks --min-seconds $secs --json $out/exact_vs_faiss.json
  echo
  echo "AMX screening off (AFF_AMX=0):"
  AFF_AMX=0 build/aff_bench --n $ns --d $ds --batch ${batches#1,} --k $ks --min-seconds $secs \
    --json $out/exact_vs_faiss_no_amx.json | tail -n +3
  echo
  echo "JNI cost:"
  bench/jni_overhead.sh
} | tee $out/cpu.md
python3 bench/plot_ratios.py $out/exact_vs_faiss.json $out/exact_vs_faiss.svg
echo "wrote $out/cpu.md, $out/*.json and $out/exact_vs_faiss.svg"
