// Feature aggregation for the gallery models' outputs, batched: GeM pooling of conv feature maps followed by a
// linear whitening and L2 normalisation (global descriptors), and attention-score top-n selection of local
// descriptors (the DELF-style path). Each operation has a CPU reference and a CUDA kernel that must agree with it.
#pragma once
#include <cstdint>

namespace aff {

// GeM + whitening + L2. maps: [batch, channels, positions] (a conv map, positions = H * W), fp32.
// pooled[c] = (mean over positions of max(x, 1e-6)^p)^(1/p); out = normalise(whiten * pooled + bias), with whiten
// [out_dim, channels] row-major and bias [out_dim] (bias may be null). out: [batch, out_dim].
// Throws std::invalid_argument on non-positive sizes, p <= 0 or null buffers.
void gem_whiten_cpu(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                    const float* whiten, const float* bias, int64_t out_dim, float* out);

// The n highest attention scores of each image (ties: the smaller position first) and their descriptors,
// L2-normalised. scores: [batch, positions], finite; descriptors: [batch, positions, dim]; indices: [batch, n]
// (int64, best first); out: [batch, n, dim]. Requires 1 <= n <= positions; throws std::invalid_argument otherwise.
void select_local_cpu(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                      int64_t dim, int64_t n, int64_t* indices, float* out);

// The same on the GPU, host buffers in and out (copies included). Return false when no CUDA device is available (or
// CUDA was not compiled), and select_local_cuda_host also when the input is beyond the kernel's limit (12,288
// positions): the caller then runs the CPU reference. Throw std::runtime_error on CUDA errors.
bool gem_whiten_cuda_host(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                          const float* whiten, const float* bias, int64_t out_dim, float* out);
bool select_local_cuda_host(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                            int64_t dim, int64_t n, int64_t* indices, float* out);

// Device buffers on a CUDA stream (null: the default stream), asynchronous: every pointer is device memory;
// `pooled` is scratch of batch * channels floats. Same checks, plus the kernels' limits (at most 3,072 channels for
// the whitening, 12,288 positions for the selection); false when no CUDA device is available.
bool gem_whiten_cuda(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                     const float* whiten, const float* bias, int64_t out_dim, float* pooled, float* out, void* stream);
bool select_local_cuda(const float* scores, const float* descriptors, int64_t batch, int64_t positions, int64_t dim,
                       int64_t n, int64_t* indices, float* out, void* stream);

}  // namespace aff
