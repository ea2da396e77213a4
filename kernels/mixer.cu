// The dynamic mixer fused into one kernel (contract in aff/mixer.h; CPU reference in native/src/mixer.cpp).
//
// A block takes a few gallery items and keeps all their tokens in shared memory from the projections to the output:
// no activation goes back to device memory. Linear layers are fp32 register-tiled products (each thread 8 rows x 4
// columns, weights pre-transposed so a warp reads 512 contiguous bytes per step, activations broadcast from shared
// memory); attention keeps each query row's scores in registers with an online softmax, so no tokens x tokens matrix
// is stored.
// Only the fusion token's output is used, so the last layer computes keys and values for every token but queries,
// the output projection, both norms and the FFN for the fusion row alone.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "aff/mixer.h"
#include "cuda_util.cuh"
#include "mma.cuh"

namespace aff {
namespace {

using cuda::check;
using cuda::DeviceBuffer;
using cuda::DeviceGuard;

constexpr int kThreads = 256;
constexpr int kRows = 8;       // rows per thread in a linear layer
constexpr int kMaxInputs = 8;
constexpr int kMaxHeadDim = 128;

struct DeviceLayer {
  const float *w_in, *b_in, *w_out, *b_out, *w1, *b1, *w2, *b2, *n1w, *n1b, *n2w, *n2b;  // w_*: [in][out]
};

struct DeviceInput {
  const float* w;  // [dim][d]
  const float* b;
  const float* features;
  const uint8_t* padding;
  int dim, tokens, offset, local;
};

struct Params {
  int d, heads, ffn, seq, layers, inputs, items;
  int64_t batch;
  const DeviceLayer* layer;
  DeviceInput input[kMaxInputs];
  const float* fusion;
  float* out;
  int b_floats;  // the scratch buffer's size
};

// Row m of a matrix that interleaves items: (m / per) * stride + offset + m % per.
struct RowMap {
  int per, stride, offset;
  __device__ int operator()(int m) const { return (m / per) * stride + offset + m % per; }
};
__device__ __forceinline__ RowMap dense() { return RowMap{1, 1, 0}; }

enum Epilogue { kStore = 0, kGelu = 1, kAdd = 2 };

// Y[ymap(m)][n] (=, or +=) act(bias[n] + sum_k X[xmap(m)][k] * W[k][n]) for m < rows, n < cols (cols % 4 == 0).
__device__ void linear(const float* x, int ldx, RowMap xmap, int k_len, const float* __restrict__ w, int ldw,
                       int cols, const float* __restrict__ bias, float* y, int ldy, RowMap ymap, int rows,
                       Epilogue epilogue) {
  const int groups = cols / 4, row_blocks = (rows + kRows - 1) / kRows;
  for (int task = threadIdx.x; task < groups * row_blocks; task += blockDim.x) {
    const int g = task % groups, rb = task / groups;
    const float* xr[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) xr[r] = x + xmap(min(rb * kRows + r, rows - 1)) * ldx;
    float acc[kRows][4];
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;
    const float4* wp = reinterpret_cast<const float4*>(w) + g;
    const int wstep = ldw / 4;
#pragma unroll 8  // eight weight loads in flight: the products wait on L2, not on arithmetic
    for (int k = 0; k < k_len; ++k) {
      const float4 wv = __ldg(wp + k * wstep);
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const float xv = xr[r][k];
        acc[r][0] = fmaf(xv, wv.x, acc[r][0]);
        acc[r][1] = fmaf(xv, wv.y, acc[r][1]);
        acc[r][2] = fmaf(xv, wv.z, acc[r][2]);
        acc[r][3] = fmaf(xv, wv.w, acc[r][3]);
      }
    }
    const float4 bv = __ldg(reinterpret_cast<const float4*>(bias) + g);
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int m = rb * kRows + r;
      if (m >= rows) break;
      float* yp = y + ymap(m) * ldy + g * 4;
      float v[4] = {acc[r][0] + bv.x, acc[r][1] + bv.y, acc[r][2] + bv.z, acc[r][3] + bv.w};
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if (epilogue == kGelu) v[e] = 0.5f * v[e] * (1.f + erff(v[e] * 0.70710678118654752f));
        yp[e] = epilogue == kAdd ? yp[e] + v[e] : v[e];
      }
    }
  }
}

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }

// Attention for heads of up to 32 dimensions: one warp per (item, head, 32 query rows); lane i is query row i with
// its query and output in registers, and every lane reads the same key and value (shared-memory broadcasts, no
// shuffles), an online softmax over the item's unmasked keys.
template <typename T>
__device__ void attention_narrow(const T* q, int ldq, int rows, int q_per, const T* k, const T* v, int ldkv, int seq,
                                 const uint8_t* masked, int d, int heads, T* o, int ldo) {
  const int hd = d / heads, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  const int items = rows / q_per, chunks = (q_per + 31) / 32;
  const float scale = rsqrtf(static_cast<float>(hd));
  for (int task = threadIdx.x >> 5; task < items * heads * chunks; task += warps) {
    const int item = task / (heads * chunks), h = (task / chunks) % heads, i = (task % chunks) * 32 + lane;
    const bool active = i < q_per;
    const int m = item * q_per + (active ? i : 0);
    float qv[32], acc[32];
#pragma unroll
    for (int e = 0; e < 32; ++e) {
      qv[e] = active && e < hd ? to_float(q[m * ldq + h * hd + e]) * scale : 0.f;
      acc[e] = 0.f;
    }
    float top = -INFINITY, sum = 0.f;
    for (int j = 0; j < seq; ++j) {
      const int key = item * seq + j;
      if (masked[key]) continue;
      const T* kr = k + key * ldkv + h * hd;
      const T* vr = v + key * ldkv + h * hd;
      float s = 0.f;
#pragma unroll
      for (int e = 0; e < 32; ++e)
        if (e < hd) s = fmaf(qv[e], to_float(kr[e]), s);
      const float next = fmaxf(top, s);
      const float shrink = __expf(top - next), weight = __expf(s - next);
      sum = sum * shrink + weight;
#pragma unroll
      for (int e = 0; e < 32; ++e)
        if (e < hd) acc[e] = acc[e] * shrink + weight * to_float(vr[e]);
      top = next;
    }
    if (active) {
#pragma unroll
      for (int e = 0; e < 32; ++e)
        if (e < hd) o[m * ldo + h * hd + e] = from_float<T>(acc[e] / sum);
    }
  }
}

// For each query row m < rows (item m / q_per): softmax over the item's unmasked keys of (q . k_j) / sqrt(hd),
// times v_j, per head; heads of up to 32 dimensions take attention_narrow, wider ones one warp per (row, head) with
// lanes over head dimensions. T is float (the fp32 kernel) or __half (the tensor-core kernel); fp32 arithmetic.
template <typename T>
__device__ void attention(const T* q, int ldq, int rows, int q_per, const T* k, const T* v, int ldkv, int seq,
                          const uint8_t* masked, int d, int heads, T* o, int ldo) {
  if (d / heads <= 32) {
    attention_narrow<T>(q, ldq, rows, q_per, k, v, ldkv, seq, masked, d, heads, o, ldo);
    return;
  }
  const int hd = d / heads, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  const float scale = rsqrtf(static_cast<float>(hd));
  for (int task = threadIdx.x >> 5; task < rows * heads; task += warps) {
    const int m = task / heads, h = task % heads, item = m / q_per;
    float qv[kMaxHeadDim / 32], acc[kMaxHeadDim / 32];
#pragma unroll
    for (int i = 0; i < kMaxHeadDim / 32; ++i) {
      const int e = lane + 32 * i;
      qv[i] = e < hd ? to_float(q[m * ldq + h * hd + e]) * scale : 0.f;
      acc[i] = 0.f;
    }
    float top = -INFINITY, sum = 0.f;
    for (int j = 0; j < seq; ++j) {
      const int key = item * seq + j;
      if (masked[key]) continue;
      float s = 0.f;
#pragma unroll
      for (int i = 0; i < kMaxHeadDim / 32; ++i) {
        const int e = lane + 32 * i;
        if (e < hd) s = fmaf(qv[i], to_float(k[key * ldkv + h * hd + e]), s);
      }
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
      const float next = fmaxf(top, s);
      const float shrink = __expf(top - next), weight = __expf(s - next);
      sum = sum * shrink + weight;
#pragma unroll
      for (int i = 0; i < kMaxHeadDim / 32; ++i) {
        const int e = lane + 32 * i;
        if (e < hd) acc[i] = acc[i] * shrink + weight * to_float(v[key * ldkv + h * hd + e]);
      }
      top = next;
    }
#pragma unroll
    for (int i = 0; i < kMaxHeadDim / 32; ++i) {
      const int e = lane + 32 * i;
      if (e < hd) o[m * ldo + h * hd + e] = from_float<T>(acc[i] / sum);
    }
  }
}

// LayerNorm (eps 1e-5) of rows map(m), m < rows, in place; one warp per row.
__device__ void layer_norm(float* x, int ld, RowMap map, int rows, int d, const float* __restrict__ w,
                           const float* __restrict__ b) {
  const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  for (int m = threadIdx.x >> 5; m < rows; m += warps) {
    float* r = x + map(m) * ld;
    float s = 0.f;
    for (int i = lane; i < d; i += 32) s += r[i];
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    const float mean = s / d;
    float var = 0.f;
    for (int i = lane; i < d; i += 32) var += (r[i] - mean) * (r[i] - mean);
    for (int off = 16; off > 0; off >>= 1) var += __shfl_xor_sync(0xffffffffu, var, off);
    const float inv = rsqrtf(var / d + 1e-5f);
    for (int i = lane; i < d; i += 32) r[i] = (r[i] - mean) * inv * w[i] + b[i];
  }
}

// The fusion token in row 0 of every item, and no token masked yet.
__device__ void start_tokens(float* x, uint8_t* masked, const float* __restrict__ fusion, int rows, int d, int seq) {
  for (int i = threadIdx.x; i < rows * d; i += blockDim.x) {
    if ((i / d) % seq == 0) x[i] = fusion[i % d];
  }
  for (int i = threadIdx.x; i < rows; i += blockDim.x) masked[i] = 0;
}

// Each item's fusion token, L2-normalised, to out (items past the batch are skipped); one warp per item.
__device__ void write_fused(const float* x, int seq, int d, int items, int64_t item0, int64_t batch, float* out) {
  const int lane = threadIdx.x & 31;
  for (int it = threadIdx.x >> 5; it < items; it += blockDim.x >> 5) {
    if (item0 + it >= batch) break;
    const float* r = x + it * seq * d;
    float s = 0.f;
    for (int i = lane; i < d; i += 32) s += r[i] * r[i];
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    const float inv = 1.f / fmaxf(sqrtf(s), 1e-12f);
    for (int i = lane; i < d; i += 32) out[(item0 + it) * d + i] = r[i] * inv;
  }
}

__global__ void __launch_bounds__(kThreads, 2) mixer_kernel(Params p) {
  extern __shared__ __align__(16) float shared[];
  const int d = p.d, seq = p.seq, items = p.items, rows = items * seq;
  float* x = shared;               // [rows][d]: the tokens
  float* buf = x + rows * d;       // scratch: staged features, Q|K|V, FFN hidden
  float* att = buf + p.b_floats;   // [rows][d]: attention output
  uint8_t* masked = reinterpret_cast<uint8_t*>(att + rows * d);  // [rows]
  const int64_t item0 = int64_t(blockIdx.x) * items;

  // Tokens: the fusion token, then each input's projection (items past the batch get zero features).
  start_tokens(x, masked, p.fusion, rows, d, seq);
  __syncthreads();  // the masks are cleared before the inputs mark their padding
  for (int in = 0; in < p.inputs; ++in) {
    const DeviceInput& f = p.input[in];
    const int n = items * f.tokens * f.dim;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const int64_t src = item0 * f.tokens * f.dim + i;
      buf[i] = item0 + i / (f.tokens * f.dim) < p.batch ? f.features[src] : 0.f;
    }
    if (f.local && f.padding) {
      for (int i = threadIdx.x; i < items * f.tokens; i += blockDim.x) {
        const int item = i / f.tokens, t = i % f.tokens;
        masked[item * seq + f.offset + t] = item0 + item < p.batch ? f.padding[(item0 + item) * f.tokens + t] : 0;
      }
    }
    __syncthreads();
    linear(buf, f.dim, dense(), f.dim, f.w, d, d, f.b, x, d, RowMap{f.tokens, seq, f.offset}, items * f.tokens,
           kStore);
    __syncthreads();
  }

  const RowMap fusion_rows{1, seq, 0};
  for (int c = 0; c < p.layers; ++c) {
    const DeviceLayer& l = p.layer[c];
    if (c + 1 < p.layers) {
      linear(x, d, dense(), d, l.w_in, 3 * d, 3 * d, l.b_in, buf, 3 * d, dense(), rows, kStore);
      __syncthreads();
      attention(buf, 3 * d, rows, seq, buf + d, buf + 2 * d, 3 * d, seq, masked, d, p.heads, att, d);
      __syncthreads();
      linear(att, d, dense(), d, l.w_out, d, d, l.b_out, x, d, dense(), rows, kAdd);
      __syncthreads();
      layer_norm(x, d, dense(), rows, d, l.n1w, l.n1b);
      __syncthreads();
      linear(x, d, dense(), d, l.w1, p.ffn, p.ffn, l.b1, buf, p.ffn, dense(), rows, kGelu);
      __syncthreads();
      linear(buf, p.ffn, dense(), p.ffn, l.w2, d, d, l.b2, x, d, dense(), rows, kAdd);
      __syncthreads();
      layer_norm(x, d, dense(), rows, d, l.n2w, l.n2b);
      __syncthreads();
    } else {
      // Last layer: K and V for every token, the rest for the fusion token only.
      float* q0 = att;              // [items][d]
      float* o0 = att + items * d;  // [items][d]
      linear(x, d, dense(), d, l.w_in + d, 3 * d, 2 * d, l.b_in + d, buf, 2 * d, dense(), rows, kStore);
      linear(x, d, fusion_rows, d, l.w_in, 3 * d, d, l.b_in, q0, d, dense(), items, kStore);
      __syncthreads();
      attention(q0, d, items, 1, buf, buf + d, 2 * d, seq, masked, d, p.heads, o0, d);
      __syncthreads();
      linear(o0, d, dense(), d, l.w_out, d, d, l.b_out, x, d, fusion_rows, items, kAdd);
      __syncthreads();
      layer_norm(x, d, fusion_rows, items, d, l.n1w, l.n1b);
      __syncthreads();
      linear(x, d, fusion_rows, d, l.w1, p.ffn, p.ffn, l.b1, buf, p.ffn, dense(), items, kGelu);
      __syncthreads();
      linear(buf, p.ffn, dense(), p.ffn, l.w2, d, d, l.b2, x, d, fusion_rows, items, kAdd);
      __syncthreads();
      layer_norm(x, d, fusion_rows, items, d, l.n2w, l.n2b);
      __syncthreads();
    }
  }

  write_fused(x, seq, d, items, item0, p.batch, p.out);
}

// ---------------------------------------------------------------------------------------------------------------
// The fp16 tensor-core variant: the residual stream, LayerNorm and softmax stay fp32; every linear layer reads its
// input as fp16 from shared memory (ldmatrix) and its weights as fp16 fragments straight from L2 ([out][in], in
// zero-padded to a multiple of 16), and accumulates in fp32 (mma.sync m16n8k16). Q|K|V and the FFN hidden layer are
// kept in fp16.

constexpr int kMaxMTiles = 5;  // at most 80 token rows per block

struct TcLayer {
  const __half *w_in, *w_out, *w1, *w2;  // [out][in padded to 16]
  const float *b_in, *b_out, *b1, *b2, *n1w, *n1b, *n2w, *n2b;
};

struct TcInput {
  const __half* w;  // [d][kp]
  const float* b;
  const float* features;
  const uint8_t* padding;
  int dim, kp, tokens, offset, local;
};

struct TcParams {
  int d, dp, heads, ffn, fp, seq, layers, inputs, items, rows_pad, a16_elems, big_elems;
  int64_t batch;
  const TcLayer* layer;
  TcInput input[kMaxInputs];
  const float* fusion;
  float* out;
};

// y[ymap(m)][n] (=, or +=) act(bias[n] + sum_k a[amap(m)][k] w[n][k]) for m < rows (<= 80), n < cols. a: fp16 in
// shared memory, lda halves per row, kp columns (a multiple of 16, zero beyond the true width); w: fp16 [cols][kp].
// Output to yf (fp32) or yh (fp16). One warp per 16 output columns, over every row tile.
__device__ void linear_tc(const __half* a, int lda, RowMap amap, int kp, const __half* __restrict__ w, int cols,
                          const float* __restrict__ bias, float* yf, __half* yh, int ldy, RowMap ymap, int rows,
                          Epilogue epilogue) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int g = lane >> 2, t = lane & 3, mtiles = (rows + 15) / 16;
  const __half* arow[kMaxMTiles];
#pragma unroll
  for (int mt = 0; mt < kMaxMTiles; ++mt) {
    arow[mt] = a + amap(min(mt * 16 + (lane & 15), rows - 1)) * lda + (lane >> 4) * 8;
  }
  for (int task = warp; task * 16 < cols; task += warps) {
    const int n0 = task * 16;
    const __half* wrow[2];
#pragma unroll
    for (int j = 0; j < 2; ++j) wrow[j] = w + min(n0 + j * 8 + g, cols - 1) * kp + 2 * t;
    float acc[kMaxMTiles][2][4];
#pragma unroll
    for (int mt = 0; mt < kMaxMTiles; ++mt)
#pragma unroll
      for (int j = 0; j < 2; ++j) acc[mt][j][0] = acc[mt][j][1] = acc[mt][j][2] = acc[mt][j][3] = 0.f;
    // The weights come from L2: all fragments of up to kSteps k-steps are requested back to back, so a task waits
    // for about one L2 round trip per 64 input columns instead of one per 16.
    constexpr int kSteps = 4;
    for (int k_base = 0; k_base < kp; k_base += kSteps * 16) {
      unsigned b[kSteps][2][2];
#pragma unroll
      for (int s = 0; s < kSteps; ++s) {
        const int k0 = k_base + s * 16;
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          b[s][j][0] = k0 < kp ? __ldg(reinterpret_cast<const unsigned*>(wrow[j] + k0)) : 0u;
          b[s][j][1] = k0 < kp ? __ldg(reinterpret_cast<const unsigned*>(wrow[j] + k0 + 8)) : 0u;
        }
      }
#pragma unroll
      for (int s = 0; s < kSteps; ++s) {
        const int k0 = k_base + s * 16;
        if (k0 >= kp) break;
#pragma unroll
        for (int mt = 0; mt < kMaxMTiles; ++mt) {
          if (mt < mtiles) {
            unsigned af[4];
            mma::ldmatrix_x4(af[0], af[1], af[2], af[3], arow[mt] + k0);
            mma::mma16816(acc[mt][0], af, b[s][0][0], b[s][0][1]);
            mma::mma16816(acc[mt][1], af, b[s][1][0], b[s][1][1]);
          }
        }
      }
    }
#pragma unroll
    for (int mt = 0; mt < kMaxMTiles; ++mt) {
#pragma unroll
      for (int j = 0; j < 2; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int m = mt * 16 + g + (e >= 2 ? 8 : 0), n = n0 + j * 8 + 2 * t + (e & 1);
          if (mt >= mtiles || m >= rows || n >= cols) continue;
          float v = acc[mt][j][e] + bias[n];
          if (epilogue == kGelu) v = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
          const int at = ymap(m) * ldy + n;
          if (yf) {
            yf[at] = epilogue == kAdd ? yf[at] + v : v;
          } else {
            yh[at] = __float2half_rn(epilogue == kAdd ? __half2float(yh[at]) + v : v);
          }
        }
      }
    }
  }
}

// dst[m][k] = fp16(src[smap(m)][k]) for m < rows, k < kp (zero for k >= width).
__device__ void to_half_rows(const float* src, int lds, RowMap smap, int rows, int width, int kp, __half* dst,
                             int ldd) {
  for (int i = threadIdx.x; i < rows * kp; i += blockDim.x) {
    const int m = i / kp, k = i % kp;
    dst[m * ldd + k] = __float2half_rn(k < width ? src[smap(m) * lds + k] : 0.f);
  }
}

// Columns [c0, c1) of rows < rows set to zero (the padding a later product reads against zero weights).
__device__ void zero_columns(__half* x, int ld, int rows, int c0, int c1) {
  const int w = c1 - c0;
  if (w <= 0) return;
  for (int i = threadIdx.x; i < rows * w; i += blockDim.x) x[(i / w) * ld + c0 + i % w] = __float2half_rn(0.f);
}

__global__ void __launch_bounds__(kThreads, 2) mixer_tc_kernel(TcParams p) {
  extern __shared__ __align__(16) unsigned char shared_raw[];
  const int d = p.d, dp = p.dp, seq = p.seq, items = p.items, rows = items * seq, lda = dp + 8;
  float* x = reinterpret_cast<float*>(shared_raw);  // [rows_pad][d]: the tokens, fp32
  __half* a16 = reinterpret_cast<__half*>(x + p.rows_pad * d);  // fp16 input of the next product
  __half* big = a16 + p.a16_elems;                               // Q|K|V, or the FFN hidden layer
  __half* s1 = big + p.big_elems;                                // [16][lda]: fusion-row operands
  __half* s2 = s1 + 16 * lda;
  uint8_t* masked = reinterpret_cast<uint8_t*>(s2 + 16 * lda);
  const int64_t item0 = int64_t(blockIdx.x) * items;

  start_tokens(x, masked, p.fusion, rows, d, seq);
  __syncthreads();  // the masks are cleared before the inputs mark their padding
  for (int in = 0; in < p.inputs; ++in) {
    const TcInput& f = p.input[in];
    const int n = items * f.tokens, ld = f.kp + 8;
    for (int i = threadIdx.x; i < n * f.kp; i += blockDim.x) {
      const int m = i / f.kp, k = i % f.kp;
      const bool real = k < f.dim && item0 + m / f.tokens < p.batch;
      a16[m * ld + k] = __float2half_rn(real ? f.features[(item0 * f.tokens + m) * f.dim + k] : 0.f);
    }
    if (f.local && f.padding) {
      for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const int item = i / f.tokens, t = i % f.tokens;
        masked[item * seq + f.offset + t] = item0 + item < p.batch ? f.padding[(item0 + item) * f.tokens + t] : 0;
      }
    }
    __syncthreads();
    linear_tc(a16, ld, dense(), f.kp, f.w, d, f.b, x, nullptr, d, RowMap{f.tokens, seq, f.offset}, n, kStore);
    __syncthreads();
  }

  const RowMap fusion_rows{1, seq, 0};
  const int ldh = p.fp + 8;  // the hidden layer's row length
  for (int c = 0; c < p.layers; ++c) {
    const TcLayer& l = p.layer[c];
    to_half_rows(x, d, dense(), rows, d, dp, a16, lda);
    __syncthreads();
    if (c + 1 < p.layers) {
      linear_tc(a16, lda, dense(), dp, l.w_in, 3 * d, l.b_in, nullptr, big, 3 * d, dense(), rows, kStore);
      __syncthreads();
      // The attention output replaces the staged tokens (whose zero padding columns it leaves in place).
      attention<__half>(big, 3 * d, rows, seq, big + d, big + 2 * d, 3 * d, seq, masked, d, p.heads, a16, lda);
      __syncthreads();
      linear_tc(a16, lda, dense(), dp, l.w_out, d, l.b_out, x, nullptr, d, dense(), rows, kAdd);
      __syncthreads();
      layer_norm(x, d, dense(), rows, d, l.n1w, l.n1b);
      __syncthreads();
      to_half_rows(x, d, dense(), rows, d, dp, a16, lda);
      __syncthreads();
      linear_tc(a16, lda, dense(), dp, l.w1, p.ffn, l.b1, nullptr, big, ldh, dense(), rows, kGelu);
      zero_columns(big, ldh, rows, p.ffn, p.fp);
      __syncthreads();
      linear_tc(big, ldh, dense(), p.fp, l.w2, d, l.b2, x, nullptr, d, dense(), rows, kAdd);
      __syncthreads();
      layer_norm(x, d, dense(), rows, d, l.n2w, l.n2b);
      __syncthreads();
    } else {
      // Last layer: K and V for every token, the rest for the fusion token only.
      linear_tc(a16, lda, dense(), dp, l.w_in + d * dp, 2 * d, l.b_in + d, nullptr, big, 2 * d, dense(), rows,
                kStore);
      linear_tc(a16, lda, fusion_rows, dp, l.w_in, d, l.b_in, nullptr, s1, lda, dense(), items, kStore);
      zero_columns(s2, lda, items, d, dp);
      __syncthreads();
      attention<__half>(s1, lda, items, 1, big, big + d, 2 * d, seq, masked, d, p.heads, s2, lda);
      __syncthreads();
      linear_tc(s2, lda, dense(), dp, l.w_out, d, l.b_out, x, nullptr, d, fusion_rows, items, kAdd);
      __syncthreads();
      layer_norm(x, d, fusion_rows, items, d, l.n1w, l.n1b);
      __syncthreads();
      to_half_rows(x, d, fusion_rows, items, d, dp, s1, lda);
      __syncthreads();
      linear_tc(s1, lda, dense(), dp, l.w1, p.ffn, l.b1, nullptr, big, ldh, dense(), items, kGelu);
      zero_columns(big, ldh, items, p.ffn, p.fp);
      __syncthreads();
      linear_tc(big, ldh, dense(), p.fp, l.w2, d, l.b2, x, nullptr, d, fusion_rows, items, kAdd);
      __syncthreads();
      layer_norm(x, d, fusion_rows, items, d, l.n2w, l.n2b);
      __syncthreads();
    }
  }

  write_fused(x, seq, d, items, item0, p.batch, p.out);
}

int round16(int v) { return (v + 15) / 16 * 16; }

// fp16 copy of an [out][in] weight with the input width zero-padded to `kp`.
std::vector<__half> padded_half(const std::vector<float>& w, int out, int in, int kp) {
  std::vector<__half> h(static_cast<size_t>(out) * kp, __float2half_rn(0.f));
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) h[static_cast<size_t>(o) * kp + i] = __float2half_rn(w[static_cast<size_t>(o) * in + i]);
  return h;
}

// [out][in] (LibTorch's Linear weight) -> [in][out].
std::vector<float> transposed(const std::vector<float>& w, int out, int in) {
  std::vector<float> t(w.size());
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) t[static_cast<size_t>(i) * out + o] = w[static_cast<size_t>(o) * in + i];
  return t;
}

}  // namespace

struct CudaMixer::Impl {
  MixerModel model;
  MixerPrecision precision = MixerPrecision::FP32;
  int device = 0;
  cudaStream_t stream = nullptr;
  std::vector<DeviceBuffer> weights;  // every uploaded tensor
  DeviceBuffer layers;                // DeviceLayer[] or TcLayer[]
  Params base{};                      // FP32
  TcParams tc{};                      // FP16
  size_t shared_bytes = 0;
  std::vector<DeviceBuffer> staging;  // forward(): features and padding copied in
  DeviceBuffer out;

  ~Impl() {
    if (stream) cudaStreamDestroy(stream);
  }

  // A host buffer copied to new device memory in stream order (the kernel that reads it follows on the stream).
  const void* stage(const void* host, size_t bytes) {
    staging.emplace_back(bytes);
    check(cudaMemcpyAsync(staging.back().get(), host, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpy in");
    return staging.back().get();
  }

  template <typename T> const T* put(const std::vector<T>& v) {
    weights.push_back(cuda::upload(v.data(), v.size() * sizeof(T)));
    return weights.back().as<T>();
  }

  size_t fp32_shared(int items) const {
    const int d = model.dim, seq = model.tokens(), rows = items * seq;
    int b = rows * std::max(3 * d, model.ffn);
    for (const MixerInput& in : model.inputs) b = std::max(b, items * in.tokens() * in.dim);
    const size_t floats = static_cast<size_t>(rows) * d * 2 + b;
    return floats * sizeof(float) + ((rows + 15) / 16) * 16;
  }

  // FP16 layout for `items` per block (see mixer_tc_kernel); fills the sizes into tc.
  size_t fp16_shared(int items, TcParams& t) const {
    const int d = model.dim, seq = model.tokens(), rows_pad = round16(items * seq);
    t.dp = round16(d);
    t.fp = round16(model.ffn);
    t.rows_pad = rows_pad;
    t.a16_elems = rows_pad * (t.dp + 8);
    for (const MixerInput& in : model.inputs) {
      t.a16_elems = std::max(t.a16_elems, items * in.tokens() * (round16(in.dim) + 8));
    }
    t.big_elems = rows_pad * std::max(3 * d, t.fp + 8);
    const size_t halves = static_cast<size_t>(t.a16_elems) + t.big_elems + 2 * 16 * (t.dp + 8);
    return static_cast<size_t>(rows_pad) * d * sizeof(float) + halves * sizeof(__half) + rows_pad;
  }

  void launch(const MixerBatch& batch, const std::vector<const float*>& features,
              const std::vector<const uint8_t*>& padding, float* out_device) {
    if (precision == MixerPrecision::FP16) {
      run(mixer_tc_kernel, tc, batch, features, padding, out_device);
    } else {
      run(mixer_kernel, base, batch, features, padding, out_device);
    }
  }

  // One launch of either kernel: the batch's buffers into a copy of the prepared parameters.
  template <typename P>
  void run(void (*kernel)(P), P p, const MixerBatch& batch, const std::vector<const float*>& features,
           const std::vector<const uint8_t*>& padding, float* out_device) {
    p.batch = batch.batch;
    p.out = out_device;
    for (int i = 0; i < p.inputs; ++i) {
      p.input[i].features = features[i];
      p.input[i].padding = padding[i];
    }
    const int64_t blocks = (batch.batch + p.items - 1) / p.items;
    // The limit belongs to the kernel, not to this mixer: set it for this model right before launching.
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared_bytes)),
          "mixer kernel shared memory");
    kernel<<<static_cast<unsigned>(blocks), kThreads, shared_bytes, stream>>>(p);
    check(cudaGetLastError(), "mixer kernel launch");
  }

  // Items per block: the most (up to 4) whose activations let two blocks share a multiprocessor, else one.
  template <typename F> int pick_items(F shared_for, int max_shared, int max_items) const {
    if (max_items < 1) return 0;  // not even one item's tokens fit the kernel's row tiles
    for (int want = std::min(4, max_items); want >= 1; --want) {
      if (shared_for(want) * 2 <= static_cast<size_t>(max_shared)) return want;
    }
    return shared_for(1) <= static_cast<size_t>(max_shared) ? 1 : 0;
  }

  void setup_fp32(int max_shared) {
    const int d = model.dim;
    const int items = pick_items([&](int i) { return fp32_shared(i); }, max_shared, 4);
    if (items == 0) throw std::runtime_error("CudaMixer: one item's tokens do not fit in shared memory");
    shared_bytes = fp32_shared(items);
    Params& p = base;
    p.d = d;
    p.heads = model.heads;
    p.ffn = model.ffn;
    p.seq = model.tokens();
    p.layers = static_cast<int>(model.layers.size());
    p.inputs = static_cast<int>(model.inputs.size());
    p.items = items;
    p.fusion = put(model.fusion_token);
    int offset = 1;
    for (int i = 0; i < p.inputs; ++i) {
      const MixerInput& in = model.inputs[i];
      p.input[i].w = put(transposed(model.proj_w[i], d, in.dim));
      p.input[i].b = put(model.proj_b[i]);
      p.input[i].dim = in.dim;
      p.input[i].tokens = in.tokens();
      p.input[i].offset = offset;
      p.input[i].local = in.max_local > 0;
      offset += in.tokens();
    }
    int b = items * p.seq * std::max(3 * d, model.ffn);
    for (const MixerInput& in : model.inputs) b = std::max(b, items * in.tokens() * in.dim);
    p.b_floats = b;
    std::vector<DeviceLayer> host_layers;
    for (const MixerLayer& l : model.layers) {
      DeviceLayer dl{};
      dl.w_in = put(transposed(l.in_proj_w, 3 * d, d));
      dl.b_in = put(l.in_proj_b);
      dl.w_out = put(transposed(l.out_proj_w, d, d));
      dl.b_out = put(l.out_proj_b);
      dl.w1 = put(transposed(l.linear1_w, model.ffn, d));
      dl.b1 = put(l.linear1_b);
      dl.w2 = put(transposed(l.linear2_w, d, model.ffn));
      dl.b2 = put(l.linear2_b);
      dl.n1w = put(l.norm1_w);
      dl.n1b = put(l.norm1_b);
      dl.n2w = put(l.norm2_w);
      dl.n2b = put(l.norm2_b);
      host_layers.push_back(dl);
    }
    layers = cuda::upload(host_layers.data(), host_layers.size() * sizeof(DeviceLayer));
    p.layer = layers.as<DeviceLayer>();
  }

  void setup_fp16(int max_shared) {
    const int d = model.dim, seq = model.tokens();
    TcParams& t = tc;
    const int items = pick_items([&](int i) { return fp16_shared(i, t); }, max_shared,
                                 kMaxMTiles * 16 / seq);
    if (items == 0) throw std::runtime_error("CudaMixer: one item's tokens do not fit the FP16 kernel (<= 80 tokens)");
    shared_bytes = fp16_shared(items, t);
    t.d = d;
    t.heads = model.heads;
    t.ffn = model.ffn;
    t.seq = seq;
    t.layers = static_cast<int>(model.layers.size());
    t.inputs = static_cast<int>(model.inputs.size());
    t.items = items;
    t.fusion = put(model.fusion_token);
    int offset = 1;
    for (int i = 0; i < t.inputs; ++i) {
      const MixerInput& in = model.inputs[i];
      t.input[i].kp = round16(in.dim);
      t.input[i].w = put(padded_half(model.proj_w[i], d, in.dim, t.input[i].kp));
      t.input[i].b = put(model.proj_b[i]);
      t.input[i].dim = in.dim;
      t.input[i].tokens = in.tokens();
      t.input[i].offset = offset;
      t.input[i].local = in.max_local > 0;
      offset += in.tokens();
    }
    std::vector<TcLayer> host_layers;
    for (const MixerLayer& l : model.layers) {
      TcLayer tl{};
      tl.w_in = put(padded_half(l.in_proj_w, 3 * d, d, t.dp));
      tl.b_in = put(l.in_proj_b);
      tl.w_out = put(padded_half(l.out_proj_w, d, d, t.dp));
      tl.b_out = put(l.out_proj_b);
      tl.w1 = put(padded_half(l.linear1_w, model.ffn, d, t.dp));
      tl.b1 = put(l.linear1_b);
      tl.w2 = put(padded_half(l.linear2_w, d, model.ffn, t.fp));
      tl.b2 = put(l.linear2_b);
      tl.n1w = put(l.norm1_w);
      tl.n1b = put(l.norm1_b);
      tl.n2w = put(l.norm2_w);
      tl.n2b = put(l.norm2_b);
      host_layers.push_back(tl);
    }
    layers = cuda::upload(host_layers.data(), host_layers.size() * sizeof(TcLayer));
    t.layer = layers.as<TcLayer>();
  }
};

CudaMixer::CudaMixer(const MixerModel& model, int32_t device, MixerPrecision precision) : impl_(nullptr) {
  model.validate();
  if (!cuda::have_device()) throw std::runtime_error("CudaMixer: no CUDA device");
  const int d = model.dim;
  if (d % 4 != 0 || model.ffn % 4 != 0 || d / model.heads > kMaxHeadDim) {
    throw std::runtime_error("CudaMixer: needs d and the FFN width divisible by 4 and heads of at most 128");
  }
  if (model.inputs.size() > static_cast<size_t>(kMaxInputs)) throw std::runtime_error("CudaMixer: at most 8 inputs");
  auto impl = std::make_unique<Impl>();
  impl->model = model;
  impl->device = device;
  impl->precision = precision;
  DeviceGuard on(device);
  check(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  int max_shared = 0;
  check(cudaDeviceGetAttribute(&max_shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "attributes");
  if (precision == MixerPrecision::FP16) {
    impl->setup_fp16(max_shared);
  } else {
    impl->setup_fp32(max_shared);
  }
  // The weights went up with blocking copies on the legacy stream; the kernels run on a non-blocking one.
  check(cudaDeviceSynchronize(), "CudaMixer weights");
  impl_ = impl.release();
}

CudaMixer::~CudaMixer() { delete impl_; }

void CudaMixer::forward(const MixerBatch& batch, float* out) {
  Impl& m = *impl_;
  const MixerModel& model = m.model;
  if (batch.batch <= 0 || !out || batch.features.size() != model.inputs.size() ||
      batch.padding.size() != model.inputs.size()) {
    throw std::invalid_argument("CudaMixer::forward: the batch does not match the model");
  }
  DeviceGuard on(m.device);
  std::vector<const float*> features;
  std::vector<const uint8_t*> padding;
  m.staging.clear();
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const MixerInput& in = model.inputs[i];
    if (!batch.features[i]) throw std::invalid_argument("CudaMixer::forward: null feature buffer");
    features.push_back(static_cast<const float*>(
        m.stage(batch.features[i], sizeof(float) * batch.batch * in.tokens() * in.dim)));
    if (in.max_local > 0 && batch.padding[i]) {
      padding.push_back(static_cast<const uint8_t*>(
          m.stage(batch.padding[i], static_cast<size_t>(batch.batch) * in.max_local)));
    } else {
      padding.push_back(nullptr);
    }
  }
  m.out.reserve(sizeof(float) * batch.batch * model.dim);
  m.launch(batch, features, padding, m.out.as<float>());
  check(cudaMemcpyAsync(out, m.out.get(), sizeof(float) * batch.batch * model.dim, cudaMemcpyDeviceToHost, m.stream),
        "cudaMemcpy out");
  check(cudaStreamSynchronize(m.stream), "mixer forward");
}

void CudaMixer::forward_device(const MixerBatch& batch, float* out, void* stream) {
  Impl& m = *impl_;
  if (batch.batch <= 0 || !out || batch.features.size() != m.model.inputs.size() ||
      batch.padding.size() != m.model.inputs.size()) {
    throw std::invalid_argument("CudaMixer::forward: the batch does not match the model");
  }
  DeviceGuard on(m.device);
  cudaStream_t own = m.stream;
  m.stream = stream ? static_cast<cudaStream_t>(stream) : cudaStreamLegacy;
  try {
    m.launch(batch, batch.features, batch.padding, out);
  } catch (...) {
    m.stream = own;
    throw;
  }
  m.stream = own;
}

}  // namespace aff
