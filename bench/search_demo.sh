#!/usr/bin/env bash
# The vector-search CLI end to end on a seeded synthetic gallery (200,000 x 128): generate, ground truth, build an
# exact index (fp16 rows) and an HNSW32 index (FAISS), search 1,000 queries one per call, report QPS and recall@10.
source "$(dirname "$0")/../bin/env.sh"
cd "$AFF_ROOT"
aff() { bin/run "$@"; }
work=build/demo
mkdir -p "$work"
aff info
[ -f "$work/base.fvecs" ] || aff generate --n 200000 --d 128 --seed 1 --out "$work/base.fvecs"
[ -f "$work/queries.fvecs" ] || aff generate --n 1000 --d 128 --seed 1 --sample-seed 2 --out "$work/queries.fvecs"
[ -f "$work/truth.ivecs" ] || aff groundtruth --base "$work/base.fvecs" --queries "$work/queries.fvecs" --k 10 \
  --out "$work/truth.ivecs"
aff build --base "$work/base.fvecs" --out "$work/exact.idx" --type exact --storage fp16
aff build --base "$work/base.fvecs" --out "$work/hnsw.idx" --type faiss --factory HNSW32
echo "== exact index (fp16 rows), one query per call"
aff search --index "$work/exact.idx" --queries "$work/queries.fvecs" --k 10 --batch 1 --out "$work/exact.ivecs"
aff recall --results "$work/exact.ivecs" --truth "$work/truth.ivecs" --k 10
echo "== HNSW32 (FAISS), efSearch 64, one query per call"
aff search --index "$work/hnsw.idx" --queries "$work/queries.fvecs" --k 10 --batch 1 --param efSearch=64 \
  --out "$work/hnsw.ivecs"
aff recall --results "$work/hnsw.ivecs" --truth "$work/truth.ivecs" --k 10
