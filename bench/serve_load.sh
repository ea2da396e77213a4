#!/usr/bin/env bash
# Serving load on loopback: for each gallery size, vector and image search through the in-process API and over HTTP
# (same searches, same client threads), with one thread adding gallery items throughout; then the HTTP/in-process
# throughput ratio and the resident memory per million gallery vectors. Bounded: SECONDS per measurement.
#   bench/serve_load.sh [SECONDS [THREADS [N ...]]]     (default: 10 s, 16 threads, N = 100000 1000000; d = 128)
source "$(dirname "$0")/../bin/env.sh"
cd "$AFF_ROOT"
command -v wrk >/dev/null || { sudo=; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk >&2; }
seconds=${1:-10}
threads=${2:-16}
shift $(( $# > 2 ? 2 : $# ))
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
[ -f java/cli/target/aff.jar ] && [ -f java/bench/target/aff-bench.jar ] || mvn -B -ntp -q -DskipTests install
work=build/bench/serve
mkdir -p "$work"
for n in "${sizes[@]}"; do
  echo "== N = $n"
  # stdout: the table (the service's access log filtered out); stderr kept in a file, shown on failure
  java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx8g \
    -cp java/cli/target/aff.jar:java/bench/target/aff-bench.jar org.affengine.bench.ServeLoad \
    "$n" 128 "$seconds" "$threads" "$work" 2> "$work/stderr.log" | grep -v '^{"time"' ||
    { tail -20 "$work/stderr.log" >&2; exit 1; }
done
