// The AFF dynamic mixer at inference: a gallery item's features (global vectors, padded local sets) -> one linear
// projection per feature to width d -> a fusion token prepended -> C post-norm transformer encoder layers
// (multi-head self-attention with key padding masks, GELU FFN, LayerNorm eps 1e-5, as LibTorch's
// TransformerEncoderLayer) -> the fusion token's output, L2-normalised. Weights come from the model bundle that
// java/train writes (bundle.json + model.safetensors, LibTorch's names and layouts).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace aff {

struct MixerInput {
  std::string name;       // the feature's name; tensors are encoder.project_<name with '.' and '-' as '_'>
  int32_t dim = 0;        // descriptor width
  int32_t max_local = 0;  // 0: a global vector (one token); else a padded set of up to max_local tokens
  int32_t tokens() const { return max_local == 0 ? 1 : max_local; }
};

struct MixerLayer {
  std::vector<float> in_proj_w, in_proj_b;    // [3d, d], [3d]: Q, K, V rows in that order
  std::vector<float> out_proj_w, out_proj_b;  // [d, d], [d]
  std::vector<float> linear1_w, linear1_b;    // [ffn, d], [ffn]
  std::vector<float> linear2_w, linear2_b;    // [d, ffn], [d]
  std::vector<float> norm1_w, norm1_b, norm2_w, norm2_b;  // [d] each
};

struct MixerModel {
  int32_t dim = 0, heads = 0, ffn = 0;
  std::vector<MixerInput> inputs;
  std::vector<std::vector<float>> proj_w, proj_b;  // per input: [d, input dim], [d]
  std::vector<float> fusion_token;                 // [d]
  std::vector<MixerLayer> layers;

  // Tokens per item: the fusion token plus every input's tokens.
  int32_t tokens() const;
  // Throws std::invalid_argument when sizes are inconsistent (d not divisible by heads, wrong tensor lengths...).
  void validate() const;

  // Reads a bundle directory (bundle.json + model.safetensors): checks the format, that the encoder is the
  // transformer mixer, the tensor file's size and CRC-32C, every tensor's presence, dtype and shape.
  static MixerModel load(const std::string& bundle_dir);
  // Writes the model as java/train's ModelBundle lays it out (bundle.json + model.safetensors, LibTorch's names), for
  // tests, benchmarks and the PyTorch comparison; training metadata is left out.
  void save(const std::string& bundle_dir) const;
  // Fresh random weights of the given shape (tests and benchmarks): uniform like LibTorch's defaults, LayerNorm
  // scales near 1.
  static MixerModel random(int32_t dim, int32_t layers, int32_t heads, int32_t ffn, std::vector<MixerInput> inputs,
                           std::mt19937_64& rng);
};

// A batch of gallery items' features. features[i]: input i's values, [batch, dim] for a global input and
// [batch, max_local, dim] for a local one; padding[i]: for a local input, [batch, max_local] bytes, nonzero =
// padded (ignored as a key), null for a global input (or a local one with no padding).
struct MixerBatch {
  int64_t batch = 0;
  std::vector<const float*> features;
  std::vector<const uint8_t*> padding;
};

// CPU reference: out [batch, d] (double accumulation). Throws std::invalid_argument on a batch that does not match
// the model.
void mixer_forward_cpu(const MixerModel& model, const MixerBatch& batch, float* out);

// How the GPU mixer multiplies: FP32 on the CUDA cores (within 1e-4 of the CPU reference), or FP16 operands on the
// tensor cores with fp32 accumulation, residual stream, LayerNorm and softmax (within 1e-2).
enum class MixerPrecision : int32_t { FP32 = 0, FP16 = 1 };

// The same on the GPU, fused into one kernel per launch: weights uploaded once, host buffers in and out. Not
// thread-safe: one caller at a time (device buffers and the stream are reused). At most 80 tokens per item in FP16.
class CudaMixer {
 public:
  // Throws std::runtime_error when there is no CUDA device (or no CUDA build), or for a model whose activations do
  // not fit one block's shared memory.
  explicit CudaMixer(const MixerModel& model, int32_t device = 0, MixerPrecision precision = MixerPrecision::FP32);
  ~CudaMixer();
  CudaMixer(const CudaMixer&) = delete;
  CudaMixer& operator=(const CudaMixer&) = delete;

  void forward(const MixerBatch& batch, float* out);
  // Device buffers, asynchronous on a CUDA stream (null: the legacy default stream): features and padding as in
  // MixerBatch but in device memory.
  void forward_device(const MixerBatch& batch, float* out, void* stream);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace aff
