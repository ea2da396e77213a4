// CUDA kernels for feature aggregation (see aff/aggregate.h for the contract; native/src/aggregate.cpp is the CPU
// reference they are tested against).
#include <cuda_runtime.h>

#include <stdexcept>

#include "aff/aggregate.h"
#include "aggregate_checks.h"
#include "cuda_util.cuh"

namespace aff {
namespace {

using cuda::check;
using cuda::DeviceBuffer;
using cuda::have_device;
using cuda::upload;

constexpr int kThreads = 256;
constexpr int64_t kMaxSelectPositions = 12 * 1024;  // the scores of one image live in shared memory

// One warp per (image, channel): GeM over the positions (a conv map has few positions, e.g. 7 x 7).
__global__ void gem_kernel(const float* maps, int64_t pairs, int64_t positions, float p, float* pooled) {
  const int64_t pair = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (pair >= pairs) return;
  const float* x = maps + pair * positions;
  float sum = 0.f;
  for (int64_t i = lane; i < positions; i += 32) sum += __powf(fmaxf(x[i], 1e-6f), p);  // x > 0: a few ulp
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) pooled[pair] = powf(sum / static_cast<float>(positions), 1.f / p);
}

constexpr int kWhitenImages = 8;  // images whose pooled vectors share one read of each whitening row
constexpr int kWhitenDims = 64;   // output dimensions per block: enough blocks to fill the GPU

// Block (image group, output chunk): the group's pooled vectors in shared memory; one warp per output dimension
// reads its whitening row once, coalesced, for every image of the group (four loads in flight per lane).
__global__ void whiten_kernel(const float* __restrict__ pooled, int64_t batch, int64_t channels,
                              const float* __restrict__ whiten, const float* __restrict__ bias, int64_t out_dim,
                              float* __restrict__ out) {
  extern __shared__ float v[];  // [kWhitenImages][channels]
  const int64_t first = int64_t(blockIdx.x) * kWhitenImages;
  const int count = static_cast<int>(batch - first < kWhitenImages ? batch - first : kWhitenImages);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int64_t i = threadIdx.x; i < count * channels; i += blockDim.x) v[i] = pooled[first * channels + i];
  __syncthreads();
  const int64_t d_end = min(out_dim, int64_t(blockIdx.y + 1) * kWhitenDims);
  for (int64_t d = int64_t(blockIdx.y) * kWhitenDims + warp; d < d_end; d += warps) {
    const float* w = whiten + d * channels;
    float acc[kWhitenImages] = {};
    int64_t c = lane;
    for (; c + 96 < channels; c += 128) {
      const float w0 = w[c], w1 = w[c + 32], w2 = w[c + 64], w3 = w[c + 96];
#pragma unroll
      for (int i = 0; i < kWhitenImages; ++i) {
        if (i < count) {
          const float* vi = v + i * channels + c;
          acc[i] = fmaf(w0, vi[0], fmaf(w1, vi[32], fmaf(w2, vi[64], fmaf(w3, vi[96], acc[i]))));
        }
      }
    }
    for (; c < channels; c += 32) {
      const float wc = w[c];
#pragma unroll
      for (int i = 0; i < kWhitenImages; ++i)
        if (i < count) acc[i] = fmaf(wc, v[i * channels + c], acc[i]);
    }
#pragma unroll
    for (int i = 0; i < kWhitenImages; ++i) {
      if (i >= count) break;
      float a = acc[i];
      for (int o = 16; o > 0; o >>= 1) a += __shfl_xor_sync(0xffffffffu, a, o);
      if (lane == 0) out[(first + i) * out_dim + d] = a + (bias ? bias[d] : 0.f);
    }
  }
}

// L2 normalisation of each output row in place, one warp per image.
__global__ void l2_rows_kernel(float* x, int64_t rows, int64_t dim) {
  const int64_t r = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (r >= rows) return;
  float* y = x + r * dim;
  float sq = 0.f;
  for (int64_t d = lane; d < dim; d += 32) sq += y[d] * y[d];
  for (int o = 16; o > 0; o >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, o);
  const float inv = rsqrtf(fmaxf(sq, 1e-24f));
  for (int64_t d = lane; d < dim; d += 32) y[d] *= inv;
}

// One block per image: each position's rank among the scores (greater first, ties to the smaller position) decides
// whether it is kept; then one warp per kept row gathers and normalises its descriptor.
__global__ void select_kernel(const float* scores, const float* descriptors, int64_t positions, int64_t dim,
                              int64_t n, int64_t* indices, float* out) {
  extern __shared__ float s[];  // the image's scores: every thread reads all of them
  int64_t* idx = indices + blockIdx.x * n;
  for (int64_t i = threadIdx.x; i < positions; i += blockDim.x) s[i] = scores[blockIdx.x * positions + i];
  __syncthreads();
  for (int64_t i = threadIdx.x; i < positions; i += blockDim.x) {
    const float si = s[i];
    int64_t rank = 0;
    for (int64_t j = 0; j < positions && rank < n; ++j) {
      const float sj = s[j];
      rank += (sj > si) || (sj == si && j < i);
    }
    if (rank < n) idx[rank] = i;
  }
  __syncthreads();
  const int lane = threadIdx.x & 31;
  for (int64_t k = threadIdx.x >> 5; k < n; k += blockDim.x >> 5) {
    const float* src = descriptors + (blockIdx.x * positions + idx[k]) * dim;
    float sq = 0.f;
    for (int64_t j = lane; j < dim; j += 32) sq += src[j] * src[j];
    for (int o = 16; o > 0; o >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, o);
    const float inv = rsqrtf(fmaxf(sq, 1e-24f));
    float* dst = out + (blockIdx.x * n + k) * dim;
    for (int64_t j = lane; j < dim; j += 32) dst[j] = src[j] * inv;
  }
}

}  // namespace

bool gem_whiten_cuda(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                     const float* whiten, const float* bias, int64_t out_dim, float* pooled, float* out, void* stream) {
  detail::check_gem_args(maps, batch, channels, positions, p, whiten, out_dim, out);
  if (!pooled) throw std::invalid_argument("gem_whiten: null buffer");
  if (!have_device()) return false;
  constexpr size_t kSharedLimit = 96 * 1024;
  const size_t shared = kWhitenImages * channels * sizeof(float);
  if (shared > kSharedLimit) throw std::invalid_argument("gem_whiten: more than 3,072 channels");
  check(cudaFuncSetAttribute(whiten_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSharedLimit)),
        "whiten_kernel shared memory");  // per device, so set on every call (microseconds)
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const int64_t pairs = batch * channels;
  gem_kernel<<<static_cast<unsigned>((pairs * 32 + kThreads - 1) / kThreads), kThreads, 0, s>>>(maps, pairs,
                                                                                                positions, p, pooled);
  check(cudaGetLastError(), "gem_kernel");
  const dim3 grid(static_cast<unsigned>((batch + kWhitenImages - 1) / kWhitenImages),
                  static_cast<unsigned>((out_dim + kWhitenDims - 1) / kWhitenDims));
  whiten_kernel<<<grid, kThreads, shared, s>>>(pooled, batch, channels, whiten, bias, out_dim, out);
  check(cudaGetLastError(), "whiten_kernel");
  l2_rows_kernel<<<static_cast<unsigned>((batch * 32 + kThreads - 1) / kThreads), kThreads, 0, s>>>(out, batch,
                                                                                                   out_dim);
  check(cudaGetLastError(), "l2_rows_kernel");
  return true;
}

bool select_local_cuda(const float* scores, const float* descriptors, int64_t batch, int64_t positions, int64_t dim,
                       int64_t n, int64_t* indices, float* out, void* stream) {
  detail::check_select_args(scores, descriptors, batch, positions, dim, n, indices, out);
  if (!have_device()) return false;
  if (positions > kMaxSelectPositions) throw std::invalid_argument("select_local: more than 12,288 positions");
  select_kernel<<<static_cast<unsigned>(batch), kThreads, positions * sizeof(float),
                  static_cast<cudaStream_t>(stream)>>>(
      scores, descriptors, positions, dim, n, indices, out);
  check(cudaGetLastError(), "select_kernel");
  return true;
}

bool gem_whiten_cuda_host(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                          const float* whiten, const float* bias, int64_t out_dim, float* out) {
  detail::check_gem_args(maps, batch, channels, positions, p, whiten, out_dim, out);
  if (!have_device()) return false;
  DeviceBuffer d_maps = upload(maps, sizeof(float) * batch * channels * positions);
  DeviceBuffer d_w = upload(whiten, sizeof(float) * out_dim * channels);
  DeviceBuffer d_pooled(sizeof(float) * batch * channels);
  DeviceBuffer d_out(sizeof(float) * batch * out_dim);
  const float* d_bias = nullptr;
  DeviceBuffer d_b(sizeof(float) * out_dim);
  if (bias) {
    check(cudaMemcpy(d_b.get(), bias, sizeof(float) * out_dim, cudaMemcpyHostToDevice), "cudaMemcpy bias");
    d_bias = d_b.as<float>();
  }
  gem_whiten_cuda(d_maps.as<float>(), batch, channels, positions, p, d_w.as<float>(), d_bias, out_dim,
                  d_pooled.as<float>(), d_out.as<float>(), nullptr);
  check(cudaMemcpy(out, d_out.get(), sizeof(float) * batch * out_dim, cudaMemcpyDeviceToHost), "cudaMemcpy out");
  return true;
}

bool select_local_cuda_host(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                            int64_t dim, int64_t n, int64_t* indices, float* out) {
  detail::check_select_args(scores, descriptors, batch, positions, dim, n, indices, out);
  detail::check_finite_scores(scores, batch * positions);
  if (!have_device() || positions > kMaxSelectPositions) return false;  // the caller runs the CPU reference
  DeviceBuffer d_s = upload(scores, sizeof(float) * batch * positions);
  DeviceBuffer d_d = upload(descriptors, sizeof(float) * batch * positions * dim);
  DeviceBuffer d_i(sizeof(int64_t) * batch * n);
  DeviceBuffer d_o(sizeof(float) * batch * n * dim);
  select_local_cuda(d_s.as<float>(), d_d.as<float>(), batch, positions, dim, n, d_i.as<int64_t>(), d_o.as<float>(),
                    nullptr);
  check(cudaMemcpy(indices, d_i.get(), sizeof(int64_t) * batch * n, cudaMemcpyDeviceToHost), "cudaMemcpy indices");
  check(cudaMemcpy(out, d_o.get(), sizeof(float) * batch * n * dim, cudaMemcpyDeviceToHost), "cudaMemcpy out");
  return true;
}

}  // namespace aff
