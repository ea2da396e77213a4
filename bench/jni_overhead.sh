#!/usr/bin/env bash
# JNI cost: median single-query latency of ExactIndex::search called from C++ (aff_bench --latency) and through the
# Java API (JniLatency), same index shape, same machine, one after the other. Prints a Markdown table.
#   bench/jni_overhead.sh [n ...]      (default: 1000 100000; d = 128, k = 10)
source "$(dirname "$0")/../bin/env.sh"
cd "$AFF_ROOT"
[ -f java/bench/target/aff-bench.jar ] && [ -x build/aff_bench ] || mvn -B -ntp -q -DskipTests install
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000)
cp="java/core/target/aff-core-0.1.0-SNAPSHOT.jar:java/bench/target/aff-bench.jar:$(ls ~/.m2/repository/org/bytedeco/javacpp/1.5.13/javacpp-1.5.13.jar)"
echo "| N | d | k | C++ µs | Java µs | JNI overhead µs |"
echo "|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  cpp=$(build/aff_bench --latency --n "$n" --d 128 --k 10 | sed -E 's/.*"cpp_single_query_us": ([0-9.]+).*/\1/')
  java=$(java --enable-native-access=ALL-UNNAMED -cp "$cp" org.affengine.bench.JniLatency "$n" 128 10 |
    sed -E 's/.*"java_single_query_us": ([0-9.]+).*/\1/')
  awk -v n="$n" -v c="$cpp" -v j="$java" 'BEGIN { printf "| %d | 128 | 10 | %.2f | %.2f | %.2f |\n", n, c, j, j - c }'
done
