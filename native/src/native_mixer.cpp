// NativeMixer: MixerModel + the chosen implementation (CPU reference or a CudaMixer) behind flat buffers.
#include "aff/native_mixer.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "aff/mixer.h"

namespace aff {

struct NativeMixer::Impl {
  MixerModel model;
  int32_t backend = MIXER_CPU_REFERENCE;
  std::unique_ptr<CudaMixer> cuda;
};

NativeMixer::NativeMixer(const char* bundle_dir, int32_t backend, int32_t device) : impl_(nullptr) {
  if (!bundle_dir) throw std::invalid_argument("NativeMixer: null bundle directory");
  if (backend < MIXER_CPU_REFERENCE || backend > MIXER_CUDA_FP16) throw std::invalid_argument("NativeMixer: unknown backend");
  auto impl = std::make_unique<Impl>();
  impl->model = MixerModel::load(bundle_dir);
  impl->backend = backend;
  if (backend != MIXER_CPU_REFERENCE) {
    impl->cuda = std::make_unique<CudaMixer>(
        impl->model, device, backend == MIXER_CUDA_FP16 ? MixerPrecision::FP16 : MixerPrecision::FP32);
  }
  impl_ = impl.release();
}

NativeMixer::~NativeMixer() { delete impl_; }

int32_t NativeMixer::dim() const { return impl_->model.dim; }
int32_t NativeMixer::backend() const { return impl_->backend; }
int32_t NativeMixer::inputs() const { return static_cast<int32_t>(impl_->model.inputs.size()); }

int32_t NativeMixer::input_dim(int32_t i) const {
  if (i < 0 || i >= inputs()) throw std::invalid_argument("NativeMixer: no input " + std::to_string(i));
  return impl_->model.inputs[i].dim;
}

int32_t NativeMixer::input_max_local(int32_t i) const {
  if (i < 0 || i >= inputs()) throw std::invalid_argument("NativeMixer: no input " + std::to_string(i));
  return impl_->model.inputs[i].max_local;
}

int64_t NativeMixer::features_per_item() const {
  int64_t n = 0;
  for (const MixerInput& in : impl_->model.inputs) n += int64_t(in.tokens()) * in.dim;
  return n;
}

int64_t NativeMixer::padding_per_item() const {
  int64_t n = 0;
  for (const MixerInput& in : impl_->model.inputs) n += in.max_local;
  return n;
}

void NativeMixer::forward(int64_t batch, const float* features, const uint8_t* padding, float* out) {
  if (batch <= 0 || !features || !out) throw std::invalid_argument("NativeMixer::forward: empty batch or null buffer");
  if (padding_per_item() > 0 && !padding) throw std::invalid_argument("NativeMixer::forward: padding is required");
  MixerBatch b;
  b.batch = batch;
  const float* f = features;
  const uint8_t* p = padding;
  for (const MixerInput& in : impl_->model.inputs) {
    b.features.push_back(f);
    f += batch * in.tokens() * in.dim;
    b.padding.push_back(in.max_local > 0 ? p : nullptr);
    if (in.max_local > 0) p += batch * in.max_local;
  }
  if (impl_->cuda) {
    impl_->cuda->forward(b, out);
  } else {
    mixer_forward_cpu(impl_->model, b, out);
  }
}

}  // namespace aff
