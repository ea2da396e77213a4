// The argument checks every implementation of aff/aggregate.h applies first (CPU, CUDA, and the no-CUDA stub).
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace aff::detail {

inline void check_gem_args(const float* maps, int64_t batch, int64_t channels, int64_t positions, float p,
                           const float* whiten, int64_t out_dim, const float* out) {
  if (!maps || !whiten || !out) throw std::invalid_argument("gem_whiten: null buffer");
  if (batch <= 0 || channels <= 0 || positions <= 0 || out_dim <= 0) {
    throw std::invalid_argument("gem_whiten: sizes must be positive");
  }
  if (!(p > 0.f)) throw std::invalid_argument("gem_whiten: p must be positive");
}

inline void check_select_args(const float* scores, const float* descriptors, int64_t batch, int64_t positions,
                              int64_t dim, int64_t n, const int64_t* indices, const float* out) {
  if (!scores || !descriptors || !indices || !out) throw std::invalid_argument("select_local: null buffer");
  if (batch <= 0 || positions <= 0 || dim <= 0) throw std::invalid_argument("select_local: sizes must be positive");
  if (n < 1 || n > positions) throw std::invalid_argument("select_local: n must be in 1..positions");
}

// Host scores only (the device entry point cannot read its buffers): a NaN would make the ordering undefined.
inline void check_finite_scores(const float* scores, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(scores[i])) {
      throw std::invalid_argument("select_local: score " + std::to_string(i) + " is not finite");
    }
  }
}

}  // namespace aff::detail
