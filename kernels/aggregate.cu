// CUDA kernels for feature aggregation (see aff/aggregate.h for the contract; native/src/aggregate.cpp is the CPU
// reference they are tested against).
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "aff/aggregate.h"
#include "aggregate_checks.h"

namespace aff {
namespace {

constexpr int kThreads = 256;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

bool have_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

__device__ float block_sum(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? scratch[threadIdx.x] : 0.f;
  if (warp == 0) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  const float total = scratch[0];
  __syncthreads();
  return total;
}

// One block per (image, channel): GeM over the positions.
__global__ void gem_kernel(const float* maps, int64_t positions, float p, float* pooled) {
  __shared__ float scratch[32];
  const float* x = maps + blockIdx.x * positions;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < positions; i += blockDim.x) sum += powf(fmaxf(x[i], 1e-6f), p);
  const float total = block_sum(sum, scratch);
  if (threadIdx.x == 0) pooled[blockIdx.x] = powf(total / static_cast<float>(positions), 1.f / p);
}

// One block per image: whitening of the pooled vector (held in shared memory), then L2 normalisation.
__global__ void whiten_l2_kernel(const float* pooled, int64_t channels, const float* whiten, const float* bias,
                                 int64_t out_dim, float* out) {
  extern __shared__ float shared[];
  float* v = shared;                // channels
  float* scratch = shared + channels;  // 32
  for (int64_t c = threadIdx.x; c < channels; c += blockDim.x) v[c] = pooled[blockIdx.x * channels + c];
  __syncthreads();
  float* y = out + blockIdx.x * out_dim;
  float sq = 0.f;
  for (int64_t d = threadIdx.x; d < out_dim; d += blockDim.x) {
    const float* w = whiten + d * channels;
    float acc = bias ? bias[d] : 0.f;
    for (int64_t c = 0; c < channels; ++c) acc = fmaf(w[c], v[c], acc);
    y[d] = acc;
    sq += acc * acc;
  }
  const float inv = rsqrtf(fmaxf(block_sum(sq, scratch), 1e-24f));
  for (int64_t d = threadIdx.x; d < out_dim; d += blockDim.x) y[d] *= inv;
}

// One block per image: each position's rank among the scores (greater first, ties to the smaller position) decides
// whether it is kept; then one warp per kept row gathers and normalises its descriptor.
__global__ void select_kernel(const float* scores, const float* descriptors, int64_t positions, int64_t dim,
                              int64_t n, int64_t* indices, float* out) {
  const float* s = scores + blockIdx.x * positions;
  int64_t* idx = indices + blockIdx.x * n;
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

// Device buffers freed on scope exit.
struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) { check(cudaMalloc(&ptr, bytes), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr(other.ptr) { other.ptr = nullptr; }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(ptr); }
};

DeviceBuffer upload(const void* host, size_t bytes) {
  DeviceBuffer b(bytes);
  check(cudaMemcpy(b.ptr, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
  return b;
}

}  // namespace

bool gem_whiten_cuda_host(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                          const float* whiten, const float* bias, int64_t out_dim, float* out) {
  detail::check_gem_args(maps, batch, channels, positions, p, whiten, out_dim, out);
  if (!have_device()) return false;
  const size_t shared = (channels + 32) * sizeof(float);
  if (shared > 48 * 1024) throw std::invalid_argument("gem_whiten: more than 12,256 channels");
  DeviceBuffer d_maps = upload(maps, sizeof(float) * batch * channels * positions);
  DeviceBuffer d_w = upload(whiten, sizeof(float) * out_dim * channels);
  DeviceBuffer d_pooled(sizeof(float) * batch * channels);
  DeviceBuffer d_out(sizeof(float) * batch * out_dim);
  const float* d_bias = nullptr;
  DeviceBuffer d_b(sizeof(float) * out_dim);
  if (bias) {
    check(cudaMemcpy(d_b.ptr, bias, sizeof(float) * out_dim, cudaMemcpyHostToDevice), "cudaMemcpy bias");
    d_bias = d_b.as<float>();
  }
  gem_kernel<<<static_cast<unsigned>(batch * channels), kThreads>>>(d_maps.as<float>(), positions, p,
                                                                     d_pooled.as<float>());
  check(cudaGetLastError(), "gem_kernel");
  whiten_l2_kernel<<<static_cast<unsigned>(batch), kThreads, shared>>>(d_pooled.as<float>(), channels,
                                                                      d_w.as<float>(), d_bias, out_dim,
                                                                      d_out.as<float>());
  check(cudaGetLastError(), "whiten_l2_kernel");
  check(cudaMemcpy(out, d_out.ptr, sizeof(float) * batch * out_dim, cudaMemcpyDeviceToHost), "cudaMemcpy out");
  return true;
}

bool select_local_cuda_host(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                            int64_t dim, int64_t n, int64_t* indices, float* out) {
  detail::check_select_args(scores, descriptors, batch, positions, dim, n, indices, out);
  if (!have_device()) return false;
  DeviceBuffer d_s = upload(scores, sizeof(float) * batch * positions);
  DeviceBuffer d_d = upload(descriptors, sizeof(float) * batch * positions * dim);
  DeviceBuffer d_i(sizeof(int64_t) * batch * n);
  DeviceBuffer d_o(sizeof(float) * batch * n * dim);
  select_kernel<<<static_cast<unsigned>(batch), kThreads>>>(d_s.as<float>(), d_d.as<float>(), positions, dim, n,
                                                            d_i.as<int64_t>(), d_o.as<float>());
  check(cudaGetLastError(), "select_kernel");
  check(cudaMemcpy(indices, d_i.ptr, sizeof(int64_t) * batch * n, cudaMemcpyDeviceToHost), "cudaMemcpy indices");
  check(cudaMemcpy(out, d_o.ptr, sizeof(float) * batch * n * dim, cudaMemcpyDeviceToHost), "cudaMemcpy out");
  return true;
}

}  // namespace aff
