#!/usr/bin/env bash
# JNI cost: median single-query latency of ExactIndex::search called from C++ (aff_bench --latency) and through the
# Java API (JniLatency), same index shape, same machine. Each side runs three times, alternating, and the fastest
# median counts, so a noisy neighbour does not decide the difference. Prints a Markdown table.
#   bench/jni_overhead.sh [n ...]      (default: 100 1000 100000; d = 128, k = 10)
source "$(dirname "$0")/../bin/env.sh"
cd "$AFF_ROOT"
[ -f java/bench/target/aff-bench.jar ] && [ -x build/aff_bench ] || mvn -B -ntp -q -DskipTests install
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 100000)
cp="java/core/target/aff-core-0.1.0-SNAPSHOT.jar:java/bench/target/aff-bench.jar:$(ls ~/.m2/repository/org/bytedeco/javacpp/1.5.13/javacpp-1.5.13.jar)"
echo "| N | d | k | C++ µs | Java µs | JNI overhead µs |"
echo "|---|---|---|---|---|---|"
min() { printf '%s\n' "$@" | sort -g | head -1; }
for n in "${sizes[@]}"; do
  cpp=(); java=()
  for round in 1 2 3; do
    cpp+=("$(build/aff_bench --latency --n "$n" --d 128 --k 10 | sed -E 's/.*"cpp_single_query_us": ([0-9.]+).*/\1/')")
    java+=("$(java --enable-native-access=ALL-UNNAMED -cp "$cp" org.affengine.bench.JniLatency "$n" 128 10 |
      sed -E 's/.*"java_single_query_us": ([0-9.]+).*/\1/')")
  done
  c=$(min "${cpp[@]}"); j=$(min "${java[@]}")
  awk -v n="$n" -v c="$c" -v j="$j" 'BEGIN { printf "| %d | 128 | 10 | %.2f | %.2f | %.2f |\n", n, c, j, j - c }'
done
