// Builds without nvcc: the GPU aggregation reports "no device" after the same argument checks, so callers fall
// back to the CPU reference.
#include <stdexcept>

#include "aff/aggregate.h"

namespace aff {

bool gem_whiten_cuda_host(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                          const float* whiten, const float*, int64_t out_dim, float* out) {
  if (!maps || !whiten || !out || batch <= 0 || channels <= 0 || positions <= 0 || out_dim <= 0 || p <= 0.f) {
    throw std::invalid_argument("gem_whiten: bad sizes or null buffers");
  }
  return false;
}

bool select_local_cuda_host(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                            int64_t dim, int64_t n, int64_t* indices, float* out) {
  if (!scores || !descriptors || !indices || !out || batch <= 0 || positions <= 0 || dim <= 0 || n < 1 ||
      n > positions) {
    throw std::invalid_argument("select_local: bad sizes or null buffers");
  }
  return false;
}

}  // namespace aff
