// Fused exact search on the GPU (contract in aff/cuda_index.h; CPU reference in native/src/search_reference.cpp).
//
// Batches of 1-4 queries with k <= 32 take a single pass (select_stream_kernel: a top k per warp in registers, then
// one merge). Otherwise the database is scanned in a few chunks. A filter kernel computes a chunk's scores (tensor
// cores for batches of 5+ queries, a streaming kernel below that) and keeps, per query, only the scores at or above
// the query's running k-th best: they are appended to a small candidate buffer. A merge kernel then sorts each
// query's running top k together with its candidates in shared memory and raises the threshold. The first chunk is
// small and kept whole, which sets every threshold; later chunks grow so that about a quarter of the buffer fills on
// shuffled data. A query whose candidates overflow the buffer (data stored in score order, say) is searched again at
// the end in chunks no longer than the buffer, which cannot overflow. The score matrix never goes to memory.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "aff/cuda_index.h"
#include "aff/types.h"
#include "cuda_index_checks.h"
#include "cuda_util.cuh"
#include "mma.cuh"

namespace aff {
namespace {

using cuda::check;
using cuda::DeviceBuffer;
using cuda::DeviceGuard;

struct Candidate {
  float score;  // higher is better (L2: 2<q,x> - |x|^2, the distance up to |q|^2)
  int32_t row;  // database row; -1 pads the sort
};

constexpr int kSortMax = 8192;             // items one merge sorts in shared memory (running top k + candidates)
constexpr int kMergeThreads = 512;
constexpr int64_t kQueryBatch = 4096;      // queries per pass: bounds the candidate workspace
constexpr int kStreamMaxQueries = 4;       // batches up to this size use the streaming kernel
constexpr int kStreamMaxDim = 1024;
constexpr int64_t kMaxChunkRows = 65535LL * 128;  // one launch's grid.y limit for the tensor-core kernel

// ---------------------------------------------------------------------------------------------------------------
// Tensor-core filter: a 128 (queries) x BN (rows) tile per block, k-steps of 32, 3-stage cp.async pipeline,
// 8 warps of 64 x (BN / 4), mma.sync m16n8k16 fp16 -> fp32, NT column tiles of 8 per warp. NT = 4 (BN = 128, 125
// registers, two blocks per SM) measured 4.9 ms at N = 1M, d = 512, batch 1024 on an H200; NT = 8 (BN = 256, 230
// registers, one block per SM) 6.2 ms, so only NT = 4 is instantiated.
constexpr int BM = 128, BK = 32, STAGES = 3, LDS = BK + 8;  // +8 halves: conflict-free ldmatrix rows
constexpr int kTcThreads = 256;
template <int NT> __host__ __device__ constexpr int tile_rows() { return 4 * NT * 8; }
template <int NT> constexpr size_t tc_shared() {
  return size_t(STAGES) * (BM + tile_rows<NT>()) * LDS * sizeof(__half);
}

using mma::cp_async16;
using mma::cp_async_commit;
using mma::cp_async_wait;
using mma::ldmatrix_x4;
using mma::mma16816;

// The threshold a score must reach to be kept: -inf keeps everything (a dense chunk), +inf skips the query (it is
// not part of a redo pass).
__device__ __forceinline__ float threshold_of(int q, const float* thr, const int* only, bool dense) {
  if (only && !only[q]) return INFINITY;
  return dense ? -INFINITY : thr[q];
}

__device__ __forceinline__ void keep(int q, int64_t row, float s, float th, bool dense, int64_t row0,
                                     Candidate* cand, int cap, int* counts) {
  if (dense) {
    cand[int64_t(q) * cap + (row - row0)] = {s, static_cast<int32_t>(row)};
  } else if (s >= th) {
    const int pos = atomicAdd(&counts[q], 1);
    if (pos < cap) cand[int64_t(q) * cap + pos] = {s, static_cast<int32_t>(row)};
  }
}

// The ranking order everywhere: higher score first, then the smaller id.
__device__ __forceinline__ bool better(float sa, int ra, float sb, int rb, const int64_t* ids) {
  if (sa != sb) return sa > sb;
  if (ra < 0) return false;  // pads rank last
  if (rb < 0) return true;
  return ids[ra] < ids[rb];
}

template <int NT>
__global__ void __launch_bounds__(kTcThreads) tc_filter_kernel(
    const __half* __restrict__ db, int d, int64_t row0, int64_t row1, const __half* __restrict__ queries, int nq,
    const float* __restrict__ norms, int l2, const float* __restrict__ thr, const int* __restrict__ only, int dense,
    Candidate* __restrict__ cand, int cap, int* __restrict__ counts) {
  constexpr int BN = tile_rows<NT>();
  extern __shared__ __align__(16) unsigned char shared_raw[];
  __half* As = reinterpret_cast<__half*>(shared_raw);  // [STAGES][BM][LDS]
  __half* Bs = As + STAGES * BM * LDS;                 // [STAGES][BN][LDS]
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp >> 2, warp_n = warp & 3;
  const int q0 = blockIdx.x * BM;
  const int64_t tile_row0 = row0 + int64_t(blockIdx.y) * BN;
  const int ktiles = (d + BK - 1) / BK;

  auto load_stage = [&](int stage, int kt) {
#pragma unroll
    for (int i = 0; i < BM * 4 / kTcThreads; ++i) {  // 16-byte pieces: 4 per row of BK halves
      const int chunk = tid + i * kTcThreads;
      const int r = chunk >> 2, c = (chunk & 3) * 8, kk = kt * BK + c;
      const int q = q0 + r;
      const bool qa = q < nq && kk < d;
      cp_async16(As + (stage * BM + r) * LDS + c, qa ? queries + int64_t(q) * d + kk : queries, qa);
    }
#pragma unroll
    for (int i = 0; i < BN * 4 / kTcThreads; ++i) {
      const int chunk = tid + i * kTcThreads;
      const int r = chunk >> 2, c = (chunk & 3) * 8, kk = kt * BK + c;
      const int64_t row = tile_row0 + r;
      const bool rb = row < row1 && kk < d;
      cp_async16(Bs + (stage * BN + r) * LDS + c, rb ? db + row * d + kk : db, rb);
    }
  };

  float acc[4][NT][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < ktiles) load_stage(s, s);
    cp_async_commit();
  }
  for (int kt = 0; kt < ktiles; ++kt) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();  // stage kt has landed for every thread, and stage kt-1 is no longer read
    const int next = kt + STAGES - 1;
    if (next < ktiles) load_stage(next % STAGES, next);
    cp_async_commit();
    const __half* a_tile = As + (kt % STAGES) * BM * LDS;
    const __half* b_tile = Bs + (kt % STAGES) * BN * LDS;
#pragma unroll
    for (int k16 = 0; k16 < BK / 16; ++k16) {
      unsigned a[4][4], b[NT][2];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = warp_m * 64 + i * 16 + (lane & 15), c = k16 * 16 + (lane >> 4) * 8;
        ldmatrix_x4(a[i][0], a[i][1], a[i][2], a[i][3], a_tile + r * LDS + c);
      }
#pragma unroll
      for (int p = 0; p < NT / 2; ++p) {
        const int n = warp_n * NT * 8 + p * 16 + (lane & 7) + ((lane >> 4) << 3);
        const int c = k16 * 16 + ((lane >> 3) & 1) * 8;
        ldmatrix_x4(b[2 * p][0], b[2 * p][1], b[2 * p + 1][0], b[2 * p + 1][1], b_tile + n * LDS + c);
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) mma16816(acc[i][j], a[i], b[j][0], b[j][1]);
    }
  }
  cp_async_wait<0>();

  // Epilogue: accumulator (i, j, e) is query row g (+8 for e >= 2) of m-tile i, database column 2t (+1 for odd e)
  // of n-tile j, with g = lane / 4, t = lane % 4.
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int q = q0 + warp_m * 64 + i * 16 + g + h * 8;
      if (q >= nq) continue;
      const float th = threshold_of(q, thr, only, dense);
#pragma unroll
      for (int j = 0; j < NT; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t row = tile_row0 + warp_n * NT * 8 + j * 8 + 2 * t + e;
          if (row >= row1) continue;
          float s = acc[i][j][h * 2 + e];
          if (l2) s = 2.f * s - norms[row];
          keep(q, row, s, th, dense, row0, cand, cap, counts);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming filter for 1-4 queries: a warp reads ROWS whole rows per step (each lane 16 bytes per 256 dimensions,
// coalesced), queries held in registers, a butterfly reduction per row and query.
template <int NQ, int T, int ROWS>
__global__ void __launch_bounds__(256) stream_filter_kernel(
    const __half* __restrict__ db, int d, int64_t row0, int64_t row1, const __half* __restrict__ queries, int nq,
    const float* __restrict__ norms, int l2, const float* __restrict__ thr, const int* __restrict__ only, int dense,
    Candidate* __restrict__ cand, int cap, int* __restrict__ counts) {
  const int lane = threadIdx.x & 31;
  float qv[NQ][T][8];
  float th[NQ];
#pragma unroll
  for (int q = 0; q < NQ; ++q) {
    th[q] = q < nq ? threshold_of(q, thr, only, dense) : INFINITY;
#pragma unroll
    for (int t = 0; t < T; ++t) {
      const int c = t * 256 + lane * 8;
      uint4 raw = make_uint4(0, 0, 0, 0);
      if (q < nq && c < d) raw = *reinterpret_cast<const uint4*>(queries + int64_t(q) * d + c);
      const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float2 f = __half22float2(h[e]);
        qv[q][t][2 * e] = f.x;
        qv[q][t][2 * e + 1] = f.y;
      }
    }
  }
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t base = row0 + warp * ROWS; base < row1; base += warps * ROWS) {
    uint4 x[ROWS][T];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int t = 0; t < T; ++t) {
        const int c = t * 256 + lane * 8;
        const int64_t row = base + r;
        x[r][t] = (row < row1 && c < d) ? __ldcs(reinterpret_cast<const uint4*>(db + row * d + c))
                                        : make_uint4(0, 0, 0, 0);
      }
    float acc[ROWS][NQ];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int q = 0; q < NQ; ++q) acc[r][q] = 0.f;
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int t = 0; t < T; ++t) {
        const __half2* h = reinterpret_cast<const __half2*>(&x[r][t]);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float2 f = __half22float2(h[e]);
#pragma unroll
          for (int q = 0; q < NQ; ++q) {
            acc[r][q] = fmaf(f.x, qv[q][t][2 * e], acc[r][q]);
            acc[r][q] = fmaf(f.y, qv[q][t][2 * e + 1], acc[r][q]);
          }
        }
      }
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int q = 0; q < NQ; ++q)
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) acc[r][q] += __shfl_xor_sync(0xffffffffu, acc[r][q], o);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const int64_t row = base + r;
      if (row >= row1) break;
#pragma unroll
      for (int q = 0; q < NQ; ++q) {
        if (lane != q || q >= nq) continue;
        float s = acc[r][q];
        if (l2) s = 2.f * s - norms[row];
        keep(q, row, s, th[q], dense, row0, cand, cap, counts);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Single pass for 1-4 queries and k <= 32 (the latency case): the database is read once, in one launch, at memory
// speed. Each warp keeps its own top 32 per query in registers (lane i holds the i-th best) and a pending list of up
// to 32 scores at or above its k-th best; a full pending list is sorted across the lanes and merged in (bitonic
// network on shuffles). Scores are warp-uniform, so every branch is. At the end the block merges its warps' lists
// and writes its top k to the candidate buffer, which the merge kernel then sorts as a dense chunk: no threshold
// round trips, no overflow, no host synchronisation.
// LPR lanes share a row (8 dimensions each per step of T), so 32 / LPR rows load together; ROWS such groups per step.
constexpr int kSelectThreads = 256;
constexpr int kSelectMaxK = 32;

__device__ __forceinline__ void exchange(float& s, int& r, int stride, bool take_better, const int64_t* ids) {
  const float os = __shfl_xor_sync(0xffffffffu, s, stride);
  const int orow = __shfl_xor_sync(0xffffffffu, r, stride);
  if (take_better == better(os, orow, s, r, ids)) {
    s = os;
    r = orow;
  }
}

// Sorts one item per lane, best first.
__device__ __forceinline__ void warp_sort(float& s, int& r, const int64_t* ids) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int size = 2; size <= 32; size <<= 1)
#pragma unroll
    for (int stride = size >> 1; stride > 0; stride >>= 1)
      exchange(s, r, stride, ((lane & stride) == 0) == ((lane & size) == 0), ids);
}

// best (sorted) := the best 32 of best and other (both sorted, best first).
__device__ __forceinline__ void warp_merge(float& bs, int& br, float os, int orow, const int64_t* ids) {
  const int lane = threadIdx.x & 31;
  const float rs = __shfl_sync(0xffffffffu, os, 31 - lane);
  const int rr = __shfl_sync(0xffffffffu, orow, 31 - lane);
  if (better(rs, rr, bs, br, ids)) {  // descending vs ascending: the better halves form one bitonic sequence
    bs = rs;
    br = rr;
  }
#pragma unroll
  for (int stride = 16; stride > 0; stride >>= 1) exchange(bs, br, stride, (lane & stride) == 0, ids);
}

template <int NQ, int T, int ROWS, int LPR>
__global__ void __launch_bounds__(kSelectThreads) select_stream_kernel(
    const __half* __restrict__ db, int d, int rows, const __half* __restrict__ queries, int nq,
    const float* __restrict__ norms, int l2, const int64_t* __restrict__ ids, int k, Candidate* __restrict__ cand,
    int cap) {
  constexpr int G = 32 / LPR;  // rows per load group
  static_assert(ROWS * G <= 32, "a step must fit the pending list");
  constexpr int W = kSelectThreads / 32;
  const int lane = threadIdx.x & 31, sub = lane % LPR, grow = lane / LPR;
  float qv[NQ][T][8];
#pragma unroll
  for (int q = 0; q < NQ; ++q)
#pragma unroll
    for (int t = 0; t < T; ++t) {
      const int c = (t * LPR + sub) * 8;
      uint4 raw = make_uint4(0, 0, 0, 0);
      if (q < nq && c < d) raw = *reinterpret_cast<const uint4*>(queries + int64_t(q) * d + c);
      const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float2 f = __half22float2(h[e]);
        qv[q][t][2 * e] = f.x;
        qv[q][t][2 * e + 1] = f.y;
      }
    }
  float best_s[NQ], pend_s[NQ], th[NQ];
  int best_r[NQ], pend_r[NQ], pending[NQ];
#pragma unroll
  for (int q = 0; q < NQ; ++q) {
    best_s[q] = pend_s[q] = -INFINITY;
    best_r[q] = pend_r[q] = -1;
    pending[q] = 0;
    th[q] = q < nq ? -INFINITY : INFINITY;
  }
  auto flush = [&](int q) {
    warp_sort(pend_s[q], pend_r[q], ids);
    warp_merge(best_s[q], best_r[q], pend_s[q], pend_r[q], ids);
    th[q] = __shfl_sync(0xffffffffu, best_s[q], k - 1);
    pend_s[q] = -INFINITY;
    pend_r[q] = -1;
    pending[q] = 0;
  };

  const int warp = (blockIdx.x * kSelectThreads + threadIdx.x) >> 5;
  const int warps = gridDim.x * W;
  for (int64_t base = int64_t(warp) * ROWS * G; base < rows; base += int64_t(warps) * ROWS * G) {
    // A step adds at most ROWS * G candidates: merge first if they might not fit (one merge site per query keeps
    // the unrolled step small).
#pragma unroll
    for (int q = 0; q < NQ; ++q)
      if (pending[q] > 32 - ROWS * G) flush(q);
    uint4 x[ROWS][T];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int t = 0; t < T; ++t) {
        const int c = (t * LPR + sub) * 8;
        const int64_t row = base + r * G + grow;
        x[r][t] = (row < rows && c < d) ? __ldcs(reinterpret_cast<const uint4*>(db + row * d + c))
                                        : make_uint4(0, 0, 0, 0);
      }
    float acc[ROWS][NQ];
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int q = 0; q < NQ; ++q) acc[r][q] = 0.f;
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int t = 0; t < T; ++t) {
        const __half2* h = reinterpret_cast<const __half2*>(&x[r][t]);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float2 f = __half22float2(h[e]);
#pragma unroll
          for (int q = 0; q < NQ; ++q) {
            acc[r][q] = fmaf(f.x, qv[q][t][2 * e], acc[r][q]);
            acc[r][q] = fmaf(f.y, qv[q][t][2 * e + 1], acc[r][q]);
          }
        }
      }
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int q = 0; q < NQ; ++q)
#pragma unroll
        for (int o = LPR / 2; o > 0; o >>= 1) acc[r][q] += __shfl_xor_sync(0xffffffffu, acc[r][q], o);
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const int64_t row = base + r * G + g;
        if (row >= rows) break;
        const float norm = l2 ? norms[row] : 0.f;
#pragma unroll
        for (int q = 0; q < NQ; ++q) {
          float s = __shfl_sync(0xffffffffu, acc[r][q], g * LPR);  // the same on every lane
          if (l2) s = 2.f * s - norm;
          if (s >= th[q]) {
            if (lane == pending[q]) {
              pend_s[q] = s;
              pend_r[q] = static_cast<int>(row);
            }
            ++pending[q];
          }
        }
      }
  }
#pragma unroll
  for (int q = 0; q < NQ; ++q)
    if (pending[q] > 0) flush(q);

  // The block's warps' lists -> one list per query, written as this block's k candidates.
  __shared__ float list_s[W][NQ][32];
  __shared__ int list_r[W][NQ][32];
  const int w = threadIdx.x >> 5;
#pragma unroll
  for (int q = 0; q < NQ; ++q) {
    list_s[w][q][lane] = best_s[q];
    list_r[w][q][lane] = best_r[q];
  }
  __syncthreads();
  if (w < nq && w < NQ) {
    float s = list_s[0][w][lane];
    int r = list_r[0][w][lane];
    for (int other = 1; other < W; ++other) warp_merge(s, r, list_s[other][w][lane], list_r[other][w][lane], ids);
    if (lane < k) cand[int64_t(w) * cap + int64_t(blockIdx.x) * k + lane] = {s, r};
  }
}

// The single pass's merge, one block per query: each warp merges a share of the blocks' lists (k each, best first;
// four loads in flight), then the warps' lists are merged pairwise and warp 0 writes the query's top k.
constexpr int kSelectMergeThreads = 1024;

__global__ void __launch_bounds__(kSelectMergeThreads) select_merge_kernel(
    const Candidate* __restrict__ cand, int cap, int lists, int k, const int64_t* __restrict__ ids,
    float* __restrict__ run_s, int* __restrict__ run_r) {
  constexpr int W = kSelectMergeThreads / 32, AHEAD = 4;
  const int q = blockIdx.x, lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  const Candidate* mine = cand + int64_t(q) * cap;
  float s = -INFINITY;
  int r = -1;
  for (int l0 = w; l0 < lists; l0 += W * AHEAD) {
    Candidate next[AHEAD];
#pragma unroll
    for (int a = 0; a < AHEAD; ++a) {
      const int l = l0 + a * W;
      next[a] = l < lists && lane < k ? mine[int64_t(l) * k + lane] : Candidate{-INFINITY, -1};
    }
#pragma unroll
    for (int a = 0; a < AHEAD; ++a) warp_merge(s, r, next[a].score, next[a].row, ids);
  }
  // The warps' lists, merged pairwise in log2(W) rounds.
  __shared__ float list_s[W][32];
  __shared__ int list_r[W][32];
  for (int half = W / 2; half > 0; half /= 2) {
    if (w >= half && w < 2 * half) {
      list_s[w - half][lane] = s;
      list_r[w - half][lane] = r;
    }
    __syncthreads();
    if (w < half) warp_merge(s, r, list_s[w][lane], list_r[w][lane], ids);
    __syncthreads();
  }
  if (w == 0 && lane < k) {
    run_s[int64_t(q) * k + lane] = s;
    run_r[int64_t(q) * k + lane] = r;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Merge: one block per query sorts (running top k + this chunk's candidates) in shared memory, best first, keeps k.

__global__ void __launch_bounds__(kMergeThreads) merge_kernel(
    const Candidate* __restrict__ cand, int* __restrict__ counts, int cap, int dense_rows, float* run_s, int* run_r,
    int* run_n, int k, float* thr, int* overflow, const int64_t* __restrict__ ids, const int* __restrict__ only) {
  extern __shared__ __align__(16) unsigned char shared_raw[];
  float* ks = reinterpret_cast<float*>(shared_raw);
  int* kr = reinterpret_cast<int*>(ks + kSortMax);
  __shared__ int count_shared, n0_shared;
  const int q = blockIdx.x, tid = threadIdx.x;
  if (only && !only[q]) return;
  if (tid == 0) {
    count_shared = dense_rows > 0 ? dense_rows : counts[q];
    n0_shared = run_n[q];
  }
  __syncthreads();  // every thread sees the same count before thread 0 resets it
  const int count = count_shared, n0 = n0_shared;
  if (count > cap) {
    if (tid == 0) {
      overflow[q] = 1;
      counts[q] = 0;
    }
    return;
  }
  const int total = n0 + count;
  int size = 1;
  while (size < total) size <<= 1;
  for (int i = tid; i < size; i += blockDim.x) {
    if (i < n0) {
      ks[i] = run_s[int64_t(q) * k + i];
      kr[i] = run_r[int64_t(q) * k + i];
    } else if (i < total) {
      const Candidate c = cand[int64_t(q) * cap + (i - n0)];
      ks[i] = c.score;
      kr[i] = c.row;
    } else {
      ks[i] = -INFINITY;
      kr[i] = -1;
    }
  }
  __syncthreads();
  for (int block = 2; block <= size; block <<= 1) {
    for (int stride = block >> 1; stride > 0; stride >>= 1) {
      for (int i = tid; i < size / 2; i += blockDim.x) {
        const int lo = 2 * i - (i & (stride - 1)), hi = lo + stride;
        const bool best_first = (lo & block) == 0;
        const bool swap = best_first ? better(ks[hi], kr[hi], ks[lo], kr[lo], ids)
                                     : better(ks[lo], kr[lo], ks[hi], kr[hi], ids);
        if (swap) {
          const float s = ks[lo];
          ks[lo] = ks[hi];
          ks[hi] = s;
          const int r = kr[lo];
          kr[lo] = kr[hi];
          kr[hi] = r;
        }
      }
      __syncthreads();
    }
  }
  const int kept = min(k, total);
  for (int i = tid; i < kept; i += blockDim.x) {
    run_s[int64_t(q) * k + i] = ks[i];
    run_r[int64_t(q) * k + i] = kr[i];
  }
  if (tid == 0) {
    run_n[q] = kept;
    thr[q] = kept == k ? ks[k - 1] : -INFINITY;
    counts[q] = 0;
  }
}

__global__ void reset_kernel(int nq, const int* only, int* run_n, float* thr, int* counts, int* overflow) {
  const int q = blockIdx.x * blockDim.x + threadIdx.x;
  if (q >= nq || (only && !only[q])) return;
  run_n[q] = 0;
  thr[q] = -INFINITY;
  counts[q] = 0;
  if (!only) overflow[q] = 0;
}

// Squared norms of fp16 vectors, one warp per vector.
__global__ void norms_kernel(const __half* __restrict__ x, int64_t n, int d, float* __restrict__ out) {
  const int64_t v = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (v >= n) return;
  float s = 0.f;
  for (int c = lane; c < d; c += 32) {
    const float f = __half2float(x[v * d + c]);
    s = fmaf(f, f, s);
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (lane == 0) out[v] = s;
}

__global__ void emit_kernel(const float* __restrict__ run_s, const int* __restrict__ run_r, int nq, int k,
                            const int64_t* __restrict__ ids, const float* __restrict__ qnorms, int l2,
                            float* __restrict__ out_s, int64_t* __restrict__ out_ids) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(nq) * k) return;
  const float s = run_s[i];
  out_s[i] = l2 ? fmaxf(qnorms[i / k] - s, 0.f) : s;
  const int r = run_r[i];
  out_ids[i] = r >= 0 ? ids[r] : -1;  // -1 only if non-finite device queries defeated the ordering
}

void launch_check(const char* what) { check(cudaGetLastError(), what); }

// Host values -> fp16, refusing (with the caller's name) anything that is not finite or does not fit fp16.
std::vector<__half> to_halves(const float* v, size_t count, const char* what) {
  std::vector<__half> out(count);
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(v[i]) || std::fabs(v[i]) > 65504.f) {
      throw std::invalid_argument(std::string(what) + ": value at " + std::to_string(i) +
                                  " is not finite or does not fit fp16");
    }
    out[i] = __float2half_rn(v[i]);
  }
  return out;
}

std::vector<__half> to_halves(const uint16_t* v, size_t count, const char* what) {
  std::vector<__half> out(count);
  for (size_t i = 0; i < count; ++i) {
    if ((v[i] & 0x7c00u) == 0x7c00u) {  // exponent all ones: inf or NaN
      throw std::invalid_argument(std::string(what) + ": value at " + std::to_string(i) + " is not finite");
    }
    std::memcpy(&out[i], &v[i], sizeof(uint16_t));
  }
  return out;
}

}  // namespace

struct CudaExactIndex::Impl {
  int32_t dim, metric, device;
  cudaStream_t stream = nullptr;
  int sm_count = 0;
  mutable std::mutex mu;
  int64_t rows = 0, capacity = 0;
  DeviceBuffer data, row_ids, row_norms;  // fp16 [capacity x dim], int64 [capacity], fp32 [capacity]
  std::vector<int64_t> host_ids;           // the device ids, mirrored (removal moves rows)
  std::unordered_map<int64_t, int64_t> row_of;
  // Search workspace, grown on demand.
  DeviceBuffer cand, counts, run_s, run_r, run_n, thr, overflow, qnorms, queries, out_s, out_i;
  int* overflow_host = nullptr;  // pinned, kQueryBatch flags: read back without a staging copy
  // Recorded at the end of every search, on its stream: the next search (any stream) waits for it before it reuses
  // the workspace, and add/remove wait for it on the host before they touch the rows.
  cudaEvent_t searched = nullptr;
  int32_t last_chunks = 0;
  std::unordered_map<const void*, int> select_blocks_per_sm;  // occupancy of each single-pass kernel, asked once
  int64_t last_overflowed = 0;

  ~Impl() {
    if (searched) {
      cudaEventSynchronize(searched);
      cudaEventDestroy(searched);
    }
    if (overflow_host) cudaFreeHost(overflow_host);
    if (stream) cudaStreamDestroy(stream);
  }

  void reserve_rows(int64_t n) {
    if (n <= capacity) return;
    const int64_t cap = std::max<int64_t>(n, std::max<int64_t>(1024, capacity * 2));
    data.grow(sizeof(__half) * cap * dim, sizeof(__half) * rows * dim);
    row_ids.grow(sizeof(int64_t) * cap, sizeof(int64_t) * rows);
    row_norms.grow(sizeof(float) * cap, sizeof(float) * rows);
    capacity = cap;
    check(cudaDeviceSynchronize(), "grow");  // the copies ran on the legacy stream; our kernels do not wait for it
  }

  void append(int64_t n, const std::vector<__half>& halves, const int64_t* ids) {
    if (n == 0) return;
    std::unordered_set<int64_t> seen;
    for (int64_t i = 0; i < n; ++i) {
      if (row_of.count(ids[i]) || !seen.insert(ids[i]).second) {
        throw std::invalid_argument("CudaExactIndex::add: id " + std::to_string(ids[i]) + " is already present");
      }
    }
    if (rows + n > std::numeric_limits<int32_t>::max()) throw std::invalid_argument("CudaExactIndex: too many rows");
    check(cudaEventSynchronize(searched), "waiting for searches");
    reserve_rows(rows + n);
    // In stream order: the norms kernel below reads these rows.
    check(cudaMemcpyAsync(data.as<__half>() + rows * dim, halves.data(), sizeof(__half) * n * dim,
                          cudaMemcpyHostToDevice, stream),
          "cudaMemcpy rows");
    check(cudaMemcpyAsync(row_ids.as<int64_t>() + rows, ids, sizeof(int64_t) * n, cudaMemcpyHostToDevice, stream),
          "cudaMemcpy ids");
    norms_kernel<<<static_cast<unsigned>((n * 32 + 255) / 256), 256, 0, stream>>>(
        data.as<__half>() + rows * dim, n, dim, row_norms.as<float>() + rows);
    launch_check("norms_kernel");
    check(cudaStreamSynchronize(stream), "add");
    for (int64_t i = 0; i < n; ++i) {
      row_of[ids[i]] = rows + i;
      host_ids.push_back(ids[i]);
    }
    rows += n;
  }

  // One pass over the database for up to kQueryBatch queries, device buffers in and out.
  void search_batch(int nq, const __half* q, int k, float* out_scores, int64_t* out_ids) {
    const int cap = kSortMax - k;
    cand.reserve(sizeof(Candidate) * size_t(nq) * cap);
    counts.reserve(sizeof(int) * nq);
    run_s.reserve(sizeof(float) * size_t(nq) * k);
    run_r.reserve(sizeof(int) * size_t(nq) * k);
    run_n.reserve(sizeof(int) * nq);
    thr.reserve(sizeof(float) * nq);
    overflow.reserve(sizeof(int) * nq);
    qnorms.reserve(sizeof(float) * nq);
    const int l2 = metric == L2 ? 1 : 0;
    if (l2) {
      norms_kernel<<<static_cast<unsigned>((int64_t(nq) * 32 + 255) / 256), 256, 0, stream>>>(q, nq, dim,
                                                                                                qnorms.as<float>());
      launch_check("norms_kernel (queries)");
    }
    if (nq <= kStreamMaxQueries && dim <= kStreamMaxDim && k <= kSelectMaxK) {
      select(nq, q, k, cap);
      emit(nq, k, out_scores, out_ids);
      last_chunks += 1;
      return;  // nothing can overflow: no round trip
    }
    reset_kernel<<<(nq + 255) / 256, 256, 0, stream>>>(nq, nullptr, run_n.as<int>(), thr.as<float>(),
                                                        counts.as<int>(), overflow.as<int>());
    launch_check("reset_kernel");

    // Chunk plan: a dense first chunk sets the thresholds; each later chunk expects about cap / 4 candidates per
    // query if rows are in no particular order (k * rows / rows_seen).
    const int64_t first = std::min<int64_t>(rows, std::max<int64_t>(1024, 4 * int64_t(k)));
    std::vector<std::pair<int64_t, int64_t>> chunks{{0, first}};
    for (int64_t seen = first; seen < rows;) {
      const int64_t grow = std::max<int64_t>(first, seen * (cap / 4) / k);
      const int64_t len = std::min({rows - seen, grow, kMaxChunkRows});
      chunks.emplace_back(seen, seen + len);
      seen += len;
    }
    for (size_t c = 0; c < chunks.size(); ++c) {
      scan(nq, q, k, cap, chunks[c].first, chunks[c].second, c == 0, nullptr);
    }
    emit(nq, k, out_scores, out_ids);
    // One round trip: the results are already on their way; only a query that overflowed is searched again.
    check(cudaMemcpyAsync(overflow_host, overflow.get(), sizeof(int) * nq, cudaMemcpyDeviceToHost, stream),
          "cudaMemcpy overflow");
    check(cudaStreamSynchronize(stream), "search");
    const int64_t redo = std::count(overflow_host, overflow_host + nq, 1);
    last_chunks += static_cast<int32_t>(chunks.size());
    last_overflowed += redo;
    if (redo > 0) {
      // The slow path for the overflowed queries only: restart them, chunks of at most `cap` rows.
      const int* only = overflow.as<int>();
      reset_kernel<<<(nq + 255) / 256, 256, 0, stream>>>(nq, only, run_n.as<int>(), thr.as<float>(),
                                                          counts.as<int>(), overflow.as<int>());
      launch_check("reset_kernel (redo)");
      for (int64_t r0 = 0; r0 < rows; r0 += cap) scan(nq, q, k, cap, r0, std::min<int64_t>(rows, r0 + cap), false, only);
      last_chunks += static_cast<int32_t>((rows + cap - 1) / cap);
      emit(nq, k, out_scores, out_ids);
    }
  }

  void emit(int nq, int k, float* out_scores, int64_t* out_ids) {
    emit_kernel<<<static_cast<unsigned>((int64_t(nq) * k + 255) / 256), 256, 0, stream>>>(
        run_s.as<float>(), run_r.as<int>(), nq, k, row_ids.as<int64_t>(), qnorms.as<float>(), metric == L2 ? 1 : 0,
        out_scores, out_ids);
    launch_check("emit_kernel");
  }

  // Filter rows [r0, r1) against every query's threshold, then merge the survivors.
  void scan(int nq, const __half* q, int k, int cap, int64_t r0, int64_t r1, bool dense, const int* only) {
    const int64_t n = r1 - r0;
    if (nq <= kStreamMaxQueries && dim <= kStreamMaxDim) {
      launch_stream(nq, q, r0, r1, dense, only, cap);
    } else {
      launch_tc<4>(nq, q, r0, r1, dense, only, cap);
    }
    merge(nq, k, cap, dense ? static_cast<int>(n) : 0, only);
  }

  // Sorts each query's running top k with its candidates (the first dense_rows of its buffer if dense_rows > 0).
  void merge(int nq, int k, int cap, int dense_rows, const int* only) {
    merge_kernel<<<nq, kMergeThreads, kSortMax * (sizeof(float) + sizeof(int)), stream>>>(
        cand.as<Candidate>(), counts.as<int>(), cap, dense_rows, run_s.as<float>(), run_r.as<int>(), run_n.as<int>(),
        k, thr.as<float>(), overflow.as<int>(), row_ids.as<int64_t>(), only);
    launch_check("merge_kernel");
  }

  // The single pass (select_stream_kernel): one read of the database, then one merge of every block's top k.
  void select(int nq, const __half* q, int k, int cap) {
    int blocks = 0;
    if (nq == 1) blocks = select_by_dim<1>(nq, q, k, cap);
    else if (nq == 2) blocks = select_by_dim<2>(nq, q, k, cap);
    else blocks = select_by_dim<4>(nq, q, k, cap);
    select_merge_kernel<<<nq, kSelectMergeThreads, 0, stream>>>(cand.as<Candidate>(), cap, blocks, k,
                                                                 row_ids.as<int64_t>(), run_s.as<float>(),
                                                                 run_r.as<int>());
    launch_check("select_merge_kernel");
  }

  template <int NQ>
  int select_by_dim(int nq, const __half* q, int k, int cap) {
    if (dim <= 64) return select_launch<NQ, 1, 4, 8>(nq, q, k, cap);
    if (dim <= 128) return select_launch<NQ, 1, 8, 16>(nq, q, k, cap);
    switch ((dim + 255) / 256) {
      case 1: return select_launch<NQ, 1, 8, 32>(nq, q, k, cap);
      case 2: return select_launch<NQ, 2, NQ == 1 ? 8 : 4, 32>(nq, q, k, cap);
      case 3: return select_launch<NQ, 3, 2, 32>(nq, q, k, cap);
      default: return select_launch<NQ, 4, 2, 32>(nq, q, k, cap);
    }
  }

  // As many blocks as fit on the card at once, at most cap / k (their lists must fit one merge).
  template <int NQ, int T, int ROWS, int LPR>
  int select_launch(int nq, const __half* q, int k, int cap) {
    const auto kernel = select_stream_kernel<NQ, T, ROWS, LPR>;
    int& per_sm = select_blocks_per_sm[reinterpret_cast<const void*>(kernel)];
    if (per_sm == 0) {
      check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kSelectThreads, 0), "occupancy");
    }
    constexpr int64_t block_rows = (kSelectThreads / 32) * ROWS * (32 / LPR);
    const int64_t blocks = std::max<int64_t>(
        1, std::min<int64_t>({int64_t(std::max(per_sm, 1)) * sm_count, cap / k, (rows + block_rows - 1) / block_rows}));
    kernel<<<static_cast<unsigned>(blocks), kSelectThreads, 0, stream>>>(
        data.as<__half>(), dim, static_cast<int>(rows), q, nq, row_norms.as<float>(), metric == L2 ? 1 : 0,
        row_ids.as<int64_t>(), k, cand.as<Candidate>(), cap);
    launch_check("select_stream_kernel");
    return static_cast<int>(blocks);
  }

  template <int NT>
  void launch_tc(int nq, const __half* q, int64_t r0, int64_t r1, bool dense, const int* only, int cap) {
    constexpr int bn = tile_rows<NT>();
    const dim3 grid((nq + BM - 1) / BM, static_cast<unsigned>((r1 - r0 + bn - 1) / bn));
    tc_filter_kernel<NT><<<grid, kTcThreads, tc_shared<NT>(), stream>>>(
        data.as<__half>(), dim, r0, r1, q, nq, row_norms.as<float>(), metric == L2 ? 1 : 0, thr.as<float>(), only,
        dense ? 1 : 0, cand.as<Candidate>(), cap, counts.as<int>());
    launch_check("tc_filter_kernel");
  }

  template <int NQ, int T, int ROWS>
  void stream_launch(int nq, const __half* q, int64_t r0, int64_t r1, bool dense, const int* only, int cap) {
    const int64_t warps_needed = (r1 - r0 + ROWS - 1) / ROWS;
    const int64_t blocks = std::min<int64_t>((warps_needed + 7) / 8, int64_t(sm_count) * 8);
    stream_filter_kernel<NQ, T, ROWS><<<static_cast<unsigned>(std::max<int64_t>(1, blocks)), 256, 0, stream>>>(
        data.as<__half>(), dim, r0, r1, q, nq, row_norms.as<float>(), metric == L2 ? 1 : 0, thr.as<float>(), only,
        dense ? 1 : 0, cand.as<Candidate>(), cap, counts.as<int>());
    launch_check("stream_filter_kernel");
  }

  template <int NQ>
  void stream_by_dim(int nq, const __half* q, int64_t r0, int64_t r1, bool dense, const int* only, int cap) {
    switch ((dim + 255) / 256) {
      case 1: return stream_launch<NQ, 1, 4>(nq, q, r0, r1, dense, only, cap);
      case 2: return stream_launch<NQ, 2, 4>(nq, q, r0, r1, dense, only, cap);
      case 3: return stream_launch<NQ, 3, 2>(nq, q, r0, r1, dense, only, cap);
      default: return stream_launch<NQ, 4, 2>(nq, q, r0, r1, dense, only, cap);
    }
  }

  void launch_stream(int nq, const __half* q, int64_t r0, int64_t r1, bool dense, const int* only, int cap) {
    if (nq == 1) return stream_by_dim<1>(nq, q, r0, r1, dense, only, cap);
    if (nq == 2) return stream_by_dim<2>(nq, q, r0, r1, dense, only, cap);
    return stream_by_dim<4>(nq, q, r0, r1, dense, only, cap);
  }

  void search_device(int64_t nq, const __half* q, int64_t k, float* out_scores, int64_t* out_ids) {
    if (nq < 1 || k < 1 || k > kMaxK || k > rows) {
      throw std::invalid_argument("CudaExactIndex::search: needs nq >= 1 and 1 <= k <= min(1024, size())");
    }
    last_chunks = 0;
    last_overflowed = 0;
    check(cudaStreamWaitEvent(stream, searched, 0), "cudaStreamWaitEvent");
    for (int64_t q0 = 0; q0 < nq; q0 += kQueryBatch) {
      const int64_t b = std::min(kQueryBatch, nq - q0);
      search_batch(static_cast<int>(b), q + q0 * dim, static_cast<int>(k), out_scores + q0 * k, out_ids + q0 * k);
    }
    check(cudaEventRecord(searched, stream), "cudaEventRecord");
  }

  void search_host(int64_t nq, const std::vector<__half>& q, int64_t k, float* out_scores, int64_t* out_ids) {
    if (nq < 1 || k < 1 || k > kMaxK || k > rows) {
      throw std::invalid_argument("CudaExactIndex::search: needs nq >= 1 and 1 <= k <= min(1024, size())");
    }
    queries.reserve(sizeof(__half) * q.size());
    out_s.reserve(sizeof(float) * nq * k);
    out_i.reserve(sizeof(int64_t) * nq * k);
    check(cudaMemcpyAsync(queries.get(), q.data(), sizeof(__half) * q.size(), cudaMemcpyHostToDevice, stream),
          "cudaMemcpy queries");
    search_device(nq, queries.as<__half>(), k, out_s.as<float>(), out_i.as<int64_t>());
    check(cudaMemcpyAsync(out_scores, out_s.get(), sizeof(float) * nq * k, cudaMemcpyDeviceToHost, stream),
          "cudaMemcpy scores");
    check(cudaMemcpyAsync(out_ids, out_i.get(), sizeof(int64_t) * nq * k, cudaMemcpyDeviceToHost, stream),
          "cudaMemcpy ids");
    check(cudaStreamSynchronize(stream), "search");
  }
};

CudaExactIndex::CudaExactIndex(int32_t dim, int32_t metric, int32_t device) : impl_(nullptr) {
  detail::check_cuda_index_shape(dim, metric);
  if (!cuda::have_device()) throw std::runtime_error("CudaExactIndex: no CUDA device");
  auto impl = std::make_unique<Impl>();
  impl->dim = dim;
  impl->metric = metric;
  impl->device = device;
  DeviceGuard on(impl->device);
  check(cudaDeviceGetAttribute(&impl->sm_count, cudaDevAttrMultiProcessorCount, device), "device attributes");
  check(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudaEventCreateWithFlags(&impl->searched, cudaEventDisableTiming), "cudaEventCreate");
  check(cudaMallocHost(&impl->overflow_host, sizeof(int) * kQueryBatch), "cudaMallocHost");
  check(cudaFuncSetAttribute(tc_filter_kernel<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(tc_shared<4>())),
        "tc_filter_kernel shared memory");
  check(cudaFuncSetAttribute(merge_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             int(kSortMax * (sizeof(float) + sizeof(int)))),
        "merge_kernel shared memory");
  impl_ = impl.release();
}

CudaExactIndex::~CudaExactIndex() { delete impl_; }

int32_t CudaExactIndex::dim() const { return impl_->dim; }
int32_t CudaExactIndex::metric() const { return impl_->metric; }
int64_t CudaExactIndex::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->rows;
}
int64_t CudaExactIndex::device_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& m = *impl_;
  size_t total = 0;
  for (const DeviceBuffer* b : {&m.data, &m.row_ids, &m.row_norms, &m.cand, &m.counts, &m.run_s, &m.run_r, &m.run_n,
                                &m.thr, &m.overflow, &m.qnorms, &m.queries, &m.out_s, &m.out_i}) {
    total += b->bytes();
  }
  return static_cast<int64_t>(total);
}

void CudaExactIndex::add(int64_t n, const float* vectors, const int64_t* ids) {
  if (n < 0 || (n > 0 && (!vectors || !ids))) throw std::invalid_argument("CudaExactIndex::add: bad arguments");
  const auto halves = to_halves(vectors, static_cast<size_t>(n) * impl_->dim, "CudaExactIndex::add");
  std::lock_guard<std::mutex> lock(impl_->mu);
  DeviceGuard on(impl_->device);
  impl_->append(n, halves, ids);
}

void CudaExactIndex::add_f16(int64_t n, const uint16_t* vectors, const int64_t* ids) {
  if (n < 0 || (n > 0 && (!vectors || !ids))) throw std::invalid_argument("CudaExactIndex::add: bad arguments");
  const auto halves = to_halves(vectors, static_cast<size_t>(n) * impl_->dim, "CudaExactIndex::add");
  std::lock_guard<std::mutex> lock(impl_->mu);
  DeviceGuard on(impl_->device);
  impl_->append(n, halves, ids);
}

void CudaExactIndex::remove(int64_t n, const int64_t* ids) {
  if (n < 0 || (n > 0 && !ids)) throw std::invalid_argument("CudaExactIndex::remove: bad arguments");
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  std::unordered_set<int64_t> seen;
  for (int64_t i = 0; i < n; ++i) {
    if (!m.row_of.count(ids[i]) || !seen.insert(ids[i]).second) {
      throw std::invalid_argument("CudaExactIndex::remove: id " + std::to_string(ids[i]) + " is not present");
    }
  }
  DeviceGuard on(m.device);
  check(cudaEventSynchronize(m.searched), "waiting for searches");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = m.row_of.at(ids[i]), last = m.rows - 1;
    if (row != last) {
      // The last row fills the hole: rows stay dense, so scans never see gaps.
      check(cudaMemcpyAsync(m.data.as<__half>() + row * m.dim, m.data.as<__half>() + last * m.dim,
                            sizeof(__half) * m.dim, cudaMemcpyDeviceToDevice, m.stream),
            "remove (row)");
      check(cudaMemcpyAsync(m.row_ids.as<int64_t>() + row, m.row_ids.as<int64_t>() + last, sizeof(int64_t),
                            cudaMemcpyDeviceToDevice, m.stream),
            "remove (id)");
      check(cudaMemcpyAsync(m.row_norms.as<float>() + row, m.row_norms.as<float>() + last, sizeof(float),
                            cudaMemcpyDeviceToDevice, m.stream),
            "remove (norm)");
      m.host_ids[row] = m.host_ids[last];
      m.row_of[m.host_ids[row]] = row;
    }
    m.host_ids.pop_back();
    m.row_of.erase(ids[i]);
    m.rows = last;
  }
  check(cudaStreamSynchronize(m.stream), "remove");
}

bool CudaExactIndex::contains(int64_t id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->row_of.count(id) > 0;
}

void CudaExactIndex::reconstruct(int64_t id, float* out) const {
  if (!out) throw std::invalid_argument("CudaExactIndex::reconstruct: null buffer");
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& m = *impl_;
  const auto it = m.row_of.find(id);
  if (it == m.row_of.end()) throw std::invalid_argument("CudaExactIndex::reconstruct: id " + std::to_string(id) + " is not present");
  DeviceGuard on(m.device);
  std::vector<__half> row(static_cast<size_t>(m.dim));
  check(cudaMemcpy(row.data(), m.data.as<__half>() + it->second * m.dim, sizeof(__half) * m.dim,
                   cudaMemcpyDeviceToHost),
        "reconstruct");
  for (int32_t i = 0; i < m.dim; ++i) out[i] = __half2float(row[i]);
}

void CudaExactIndex::ids(int64_t* out) const {
  if (!out) throw std::invalid_argument("CudaExactIndex::ids: null buffer");
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::copy(impl_->host_ids.begin(), impl_->host_ids.end(), out);
}

void CudaExactIndex::rows_f16(int64_t start, int64_t n, uint16_t* out, int64_t* ids_out) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& m = *impl_;
  if (start < 0 || n < 0 || start + n > m.rows || (n > 0 && (!out || !ids_out))) {
    throw std::invalid_argument("CudaExactIndex::rows_f16: rows [" + std::to_string(start) + ", " +
                                std::to_string(start + n) + ") of " + std::to_string(m.rows));
  }
  if (n == 0) return;
  DeviceGuard on(m.device);
  check(cudaMemcpy(out, m.data.as<__half>() + start * m.dim, sizeof(__half) * n * m.dim, cudaMemcpyDeviceToHost),
        "rows_f16");
  std::copy(m.host_ids.begin() + start, m.host_ids.begin() + start + n, ids_out);
}

void CudaExactIndex::search(int64_t nq, const float* queries, int64_t k, float* out_scores, int64_t* out_ids) {
  if (nq < 1 || !queries || !out_scores || !out_ids) throw std::invalid_argument("CudaExactIndex::search: bad arguments");
  const auto q = to_halves(queries, static_cast<size_t>(nq) * impl_->dim, "CudaExactIndex::search");
  std::lock_guard<std::mutex> lock(impl_->mu);
  DeviceGuard on(impl_->device);
  impl_->search_host(nq, q, k, out_scores, out_ids);
}

void CudaExactIndex::search_f16(int64_t nq, const uint16_t* queries, int64_t k, float* out_scores,
                                int64_t* out_ids) {
  if (nq < 1 || !queries || !out_scores || !out_ids) throw std::invalid_argument("CudaExactIndex::search: bad arguments");
  const auto q = to_halves(queries, static_cast<size_t>(nq) * impl_->dim, "CudaExactIndex::search");
  std::lock_guard<std::mutex> lock(impl_->mu);
  DeviceGuard on(impl_->device);
  impl_->search_host(nq, q, k, out_scores, out_ids);
}

void CudaExactIndex::search_device(int64_t nq, const void* queries_f16, int64_t k, float* out_scores,
                                   int64_t* out_ids, void* stream) {
  if (!queries_f16 || !out_scores || !out_ids) throw std::invalid_argument("CudaExactIndex::search: null buffer");
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  DeviceGuard on(m.device);
  cudaStream_t own = m.stream;
  m.stream = stream ? static_cast<cudaStream_t>(stream) : cudaStreamLegacy;
  try {
    m.search_device(nq, static_cast<const __half*>(queries_f16), k, out_scores, out_ids);
  } catch (...) {
    m.stream = own;
    throw;
  }
  m.stream = own;
}

int32_t CudaExactIndex::last_chunks() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_chunks;
}

int64_t CudaExactIndex::last_overflowed_queries() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_overflowed;
}

}  // namespace aff
