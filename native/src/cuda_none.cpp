// Builds without nvcc: the GPU index and mixer check their arguments, then report that there is no device, so
// callers fall back to the CPU backend. No other member can be reached (construction always throws).
#include <stdexcept>

#include "aff/cuda_index.h"
#include "aff/mixer.h"
#include "cuda_index_checks.h"

namespace aff {
namespace {
[[noreturn]] void no_cuda() { throw std::runtime_error("libaff was built without CUDA: no device"); }
}  // namespace

struct CudaExactIndex::Impl {};

CudaExactIndex::CudaExactIndex(int32_t dim, int32_t metric, int32_t) : impl_(nullptr) {
  detail::check_cuda_index_shape(dim, metric);
  no_cuda();
}
CudaExactIndex::~CudaExactIndex() = default;
int32_t CudaExactIndex::dim() const { no_cuda(); }
int32_t CudaExactIndex::metric() const { no_cuda(); }
int64_t CudaExactIndex::size() const { no_cuda(); }
int64_t CudaExactIndex::device_bytes() const { no_cuda(); }
void CudaExactIndex::add(int64_t, const float*, const int64_t*) { no_cuda(); }
void CudaExactIndex::add_f16(int64_t, const uint16_t*, const int64_t*) { no_cuda(); }
void CudaExactIndex::remove(int64_t, const int64_t*) { no_cuda(); }
bool CudaExactIndex::contains(int64_t) const { no_cuda(); }
void CudaExactIndex::reconstruct(int64_t, float*) const { no_cuda(); }
void CudaExactIndex::rows_f16(int64_t, int64_t, uint16_t*, int64_t*) const { no_cuda(); }
void CudaExactIndex::ids(int64_t*) const { no_cuda(); }
void CudaExactIndex::search(int64_t, const float*, int64_t, float*, int64_t*) { no_cuda(); }
void CudaExactIndex::search_f16(int64_t, const uint16_t*, int64_t, float*, int64_t*) { no_cuda(); }
void CudaExactIndex::search_device(int64_t, const void*, int64_t, float*, int64_t*, void*) { no_cuda(); }
int32_t CudaExactIndex::last_chunks() const { no_cuda(); }
int64_t CudaExactIndex::last_overflowed_queries() const { no_cuda(); }

struct CudaMixer::Impl {};

CudaMixer::CudaMixer(const MixerModel& model, int32_t, MixerPrecision) : impl_(nullptr) {
  model.validate();
  no_cuda();
}
CudaMixer::~CudaMixer() = default;
void CudaMixer::forward(const MixerBatch&, float*) { no_cuda(); }
void CudaMixer::forward_device(const MixerBatch&, float*, void*) { no_cuda(); }

}  // namespace aff
