// The mixer behind one flat call, for the Java side: a bundle directory in, a backend chosen, and a batch's features
// packed into one buffer (input after input, each [batch, tokens, dim] row-major) with the local inputs' padding
// packed likewise ([batch, max_local] bytes per local input, nonzero = padded).
#pragma once
#include <cstdint>

namespace aff {

enum MixerBackend : int32_t { MIXER_CPU_REFERENCE = 0, MIXER_CUDA_FP32 = 1, MIXER_CUDA_FP16 = 2 };

class NativeMixer {
 public:
  // Loads and checks the bundle (see MixerModel::load); a CUDA backend throws std::runtime_error without a device.
  NativeMixer(const char* bundle_dir, int32_t backend, int32_t device);
  ~NativeMixer();
  NativeMixer(const NativeMixer&) = delete;
  NativeMixer& operator=(const NativeMixer&) = delete;

  int32_t dim() const;
  int32_t backend() const;
  int32_t inputs() const;
  int32_t input_dim(int32_t i) const;
  int32_t input_max_local(int32_t i) const;  // 0 for a global input
  // Floats per item over all inputs, and padding bytes per item over the local inputs.
  int64_t features_per_item() const;
  int64_t padding_per_item() const;

  // out[batch, dim]: the L2-normalised fused vectors.
  void forward(int64_t batch, const float* features, const uint8_t* padding, float* out);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace aff
