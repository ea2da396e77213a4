// The shape checks CudaExactIndex applies before looking for a device, shared by the CUDA and the no-CUDA builds.
#pragma once
#include <cstdint>
#include <stdexcept>

#include "aff/types.h"

namespace aff::detail {

inline void check_cuda_index_shape(int32_t dim, int32_t metric) {
  if (dim <= 0 || dim % 8 != 0) throw std::invalid_argument("CudaExactIndex: dim must be a positive multiple of 8");
  if (metric != INNER_PRODUCT && metric != L2) throw std::invalid_argument("CudaExactIndex: unknown metric");
}

}  // namespace aff::detail
